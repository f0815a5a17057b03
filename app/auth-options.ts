import type { AuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { getAppliance } from '@/lib/appliance';

/**
 * authOptions builds next-auth's options from the running appliance: the admin
 * login is checked by the appliance (scrypt hash from the config or the first
 * start), and the session key is the one generated on first start.
 */
export function authOptions(): AuthOptions {
  const appliance = getAppliance();
  return {
    secret: appliance.sessionSecret,
    session: { strategy: 'jwt', maxAge: 8 * 60 * 60 },
    pages: { signIn: '/login' },
    providers: [
      CredentialsProvider({
        name: 'nekoq-bootstrap',
        credentials: { username: { label: 'User', type: 'text' }, password: { label: 'Password', type: 'password' } },
        async authorize(credentials) {
          const user = credentials?.username ?? '';
          const password = credentials?.password ?? '';
          if (user.length === 0 || password.length === 0 || user.length > 64 || password.length > 1024) return null;
          return (await appliance.verifyAdmin(user, password)) ? { id: user, name: user } : null;
        },
      }),
    ],
  };
}
