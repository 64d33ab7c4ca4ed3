import { useEffect, useState } from 'react';

/** The console's colour scheme: the system's (prefers-color-scheme) unless the user chose one, remembered. */
export type ThemeChoice = 'system' | 'light' | 'dark';

const THEME_STORAGE = 'plugboard.theme';

export function storedTheme(): ThemeChoice {
  const value = localStorage.getItem(THEME_STORAGE);
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** Sets the scheme on <html>: CSS follows data-theme, and without one the media query. */
export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

const systemDark = () => window.matchMedia('(prefers-color-scheme: dark)').matches;

/** One button: switches to the other scheme than the one shown, and remembers it in local storage. */
export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme);
  const [dark, setDark] = useState(() => (choice === 'system' ? systemDark() : choice === 'dark'));
  useEffect(() => {
    applyTheme(choice);
    if (choice !== 'system') {
      setDark(choice === 'dark');
      return;
    }
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const follow = () => setDark(media.matches);
    follow();
    media.addEventListener('change', follow);
    return () => media.removeEventListener('change', follow);
  }, [choice]);
  const next: ThemeChoice = dark ? 'light' : 'dark';
  return (
    <button
      type="button"
      className="theme-toggle"
      aria-pressed={dark}
      title={choice === 'system' ? 'Following the system setting' : `Chosen: ${choice}`}
      onClick={() => {
        // Choosing the scheme the system already gives goes back to following the system.
        const follows = next === (systemDark() ? 'dark' : 'light');
        if (follows) localStorage.removeItem(THEME_STORAGE);
        else localStorage.setItem(THEME_STORAGE, next);
        setChoice(follows ? 'system' : next);
      }}
    >
      Dark mode
    </button>
  );
}
