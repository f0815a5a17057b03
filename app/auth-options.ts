import type { AuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { LOGIN_LIMITED } from '@/app/_lib/api-types';
import { getAppliance } from '@/lib/appliance';

/**
 * authOptions builds next-auth's options from the running appliance: the admin
 * login is checked by the appliance (scrypt hash from the config or the first
 * start), and the session key is the one generated on first start.
 */
export function authOptions(): AuthOptions {
  // Every sign-in, even an empty or oversized one, goes to verifyAdmin: each is counted against the client.
  const appliance = getAppliance();
  return {
    secret: appliance.sessionSecret,
    session: { strategy: 'jwt', maxAge: 8 * 60 * 60 },
    pages: { signIn: '/login' },
    providers: [
      CredentialsProvider({
        name: 'nekoq-bootstrap',
        credentials: { username: { label: 'User', type: 'text' }, password: { label: 'Password', type: 'password' } },
        async authorize(credentials, req) {
          const user = credentials?.username ?? '';
          const password = credentials?.password ?? '';
          // Our loopback proxy sets X-Forwarded-For to the connection's address (a client's own is replaced).
          const forwarded = (req.headers as Record<string, string | undefined> | undefined)?.['x-forwarded-for'] ?? '';
          const client = forwarded.length > 0 ? forwarded : 'unknown';
          const tooLong = user.length > 64 || password.length > 1024;
          const verdict = await appliance.verifyAdmin(tooLong ? '' : user, tooLong ? '' : password, client);
          if (verdict.result === 'ok') return { id: user, name: user };
          // next-auth hands a thrown error's message to signIn() as `error`: the form tells the wait.
          if (verdict.result === 'limited') throw new Error(`${LOGIN_LIMITED}${verdict.retryAfterS}`);
          return null;
        },
      }),
    ],
  };
}
