import { useState, type FormEvent } from 'react';
import { request, type Problem } from './api';
import { ActionButton, ProblemBanner, TextField, useAction } from './forms';
import type { Me } from './types';

/** Asks for an API key and keeps it for this browser tab only (session storage). */
export function SignIn(props: { onSignedIn: (key: string, me: Me) => void; notice: Problem | null }) {
  const [key, setKey] = useState('');
  const { run, busy, problem } = useAction(async () => {
    const trimmed = key.trim();
    const me = await request<Me>('GET', '/me', { key: trimmed });
    props.onSignedIn(trimmed, me.body);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run();
  };
  const shown = problem ?? props.notice;
  return (
    <main className="sign-in">
      <h1>plugboard console</h1>
      <p>
        <a className="button primary" href="/auth/sign-in?return_to=/console/">
          Sign in with your email and password
        </a>
      </p>
      <h2>Or with an API key</h2>
      <p>
        Sign in with an API key (<code>pbk_…</code>). The first start of the server printed an owner key; an admin can
        create more with <code>plugboard admin create-key</code>.
      </p>
      <form onSubmit={submit} aria-label="Sign in">
        {shown?.status === 401 ? (
          <div className="banner error" role="alert">
            <strong>That API key was not accepted (401).</strong>
            <div>{shown.detail} Check that you copied the whole key and that it has not been revoked.</div>
          </div>
        ) : (
          <ProblemBanner problem={shown} />
        )}
        <TextField
          label="API key"
          type="password"
          value={key}
          onChange={setKey}
          required
          autoComplete="current-password"
          placeholder="pbk_…"
        />
        <p className="hint">
          The key stays in this tab's session storage and is sent as a bearer token; closing the tab forgets it.
        </p>
        <ActionButton type="submit" busy={busy} busyLabel="Signing in…" disabled={key.trim() === ''}>
          Sign in
        </ActionButton>
      </form>
    </main>
  );
}
