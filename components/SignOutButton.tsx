'use client';

import { signOut } from 'next-auth/react';

/** SignOutButton ends the session and returns to the login page. */
export function SignOutButton() {
  return (
    <button type="button" className="secondary small" onClick={() => void signOut({ callbackUrl: '/login' })} data-testid="sign-out">
      Sign out
    </button>
  );
}
