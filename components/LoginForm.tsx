'use client';

import { signIn } from 'next-auth/react';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { LOGIN_LIMITED } from '@/app/_lib/api-types';

/** LoginForm signs the admin in with next-auth's credentials provider and stays on this origin. */
export function LoginForm() {
  const router = useRouter();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(undefined);
    // redirect: false keeps us on this origin (next-auth would build its redirect from NEXTAUTH_URL).
    const result = await signIn('credentials', {
      redirect: false,
      username: String(form.get('username') ?? ''),
      password: String(form.get('password') ?? ''),
    });
    setBusy(false);
    if (result?.ok) {
      router.replace('/');
      router.refresh();
    } else if (result?.error?.startsWith(LOGIN_LIMITED)) {
      const seconds = Number(result.error.slice(LOGIN_LIMITED.length)) || 30;
      setError(`Too many failed sign-ins from this address: try again in ${seconds} s.`);
    } else {
      setError('Sign-in failed: the user name or password is not right.');
    }
  }

  return (
    <form className="login" onSubmit={onSubmit} aria-labelledby="login-title">
      <h1 id="login-title">nekoq-bootstrap</h1>
      <label>
        User
        <input name="username" autoComplete="username" required defaultValue="admin" data-testid="login-username" />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required data-testid="login-password" />
      </label>
      <button type="submit" disabled={busy} data-testid="login-submit">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <p className="error" role="status" aria-live="polite" data-testid="login-error">
        {error ?? ''}
      </p>
    </form>
  );
}
