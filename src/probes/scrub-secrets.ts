import { isDeclaredSecretKey, isSecretParameter } from '../domain/secret-keys.js';
import { MASK, isSecretKey } from '../domain/secrets.js';

/**
 * Replaces every secret of a settings object that appears in `message` with the mask. The probes never
 * put a secret in a message on purpose, but drivers echo what they were given (a password pasted into
 * the database field comes back in "Unknown database"), so this runs on every message as a last line
 * of defence.
 */
export function scrubSecrets(message: string, content: unknown, type?: string): string {
  const secrets = new Set<string>();
  const add = (secret: string) => {
    // An empty secret would match between every two characters.
    if (secret === '') return;
    secrets.add(secret);
    secrets.add(encodeURIComponent(secret));
  };
  collectSecrets(content, type, add);
  // Longest first, so that a secret containing another is masked whole.
  return [...secrets]
    .sort((a, b) => b.length - a.length)
    .reduce((text, secret) => text.split(secret).join(MASK), message);
}

function collectSecrets(value: unknown, type: string | undefined, add: (secret: string) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) collectSecrets(item, type, add);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      // A number is a secret only under a declared secret key: `tokenBudget: 5` would otherwise mask every 5.
      if (
        (typeof child === 'string' && isSecretKey(key, type)) ||
        (typeof child === 'number' && isDeclaredSecretKey(key, type))
      )
        add(String(child));
      else collectSecrets(child, type, add);
    }
  } else if (typeof value === 'string') {
    collectUrlSecrets(value, type, add);
  }
}

// A URL carries secrets outside any secret key: its password, and query parameters such as `?token=`.
function collectUrlSecrets(text: string, type: string | undefined, add: (secret: string) => void): void {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return;
  }
  if (url.password !== '') {
    add(url.password);
    add(safeDecode(url.password));
  }
  for (const [key, value] of url.searchParams) if (isSecretKey(key, type) || isSecretParameter(key)) add(value);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
