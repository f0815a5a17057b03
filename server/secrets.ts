import { generateSecret, hashPassword } from '../lib/auth/password';
import { tokenDigest, type TokenEntry } from '../lib/auth/tokens';
import type { Config } from '../lib/config/config';
import type { Store } from './store/store';

/** The appliance's secrets after start: hashes and keys only, never a plain password. */
export interface Secrets {
  readonly adminUser: string;
  readonly adminPasswordHash: string;
  /** Key for next-auth's session tokens. */
  readonly sessionSecret: string;
  /** API tokens: those of the config, or the generated admin token when the config lists none. */
  readonly tokens: readonly TokenEntry[];
}

/** What was generated on this start and must be shown to the operator exactly once. */
export interface FirstStartCredentials {
  adminPassword?: string;
  adminToken?: string;
}

/**
 * ensureSecrets reads the secrets the appliance needs and generates the missing
 * ones: an admin password (when the config has no hash), the session key, and an
 * admin API token (when the config lists no tokens). Only hashes and digests are
 * stored; the plain values are returned once for printing and then dropped.
 */
export async function ensureSecrets(config: Config, store: Store): Promise<{ secrets: Secrets; shown: FirstStartCredentials }> {
  const shown: FirstStartCredentials = {};
  let adminPasswordHash = config.auth.adminPasswordHash ?? store.secret('admin_password_hash');
  if (adminPasswordHash === undefined) {
    const password = generateSecret(18);
    adminPasswordHash = await hashPassword(password);
    store.setSecret('admin_password_hash', adminPasswordHash);
    shown.adminPassword = password;
  }
  let sessionSecret = store.secret('session_secret');
  if (sessionSecret === undefined) {
    sessionSecret = generateSecret(32);
    store.setSecret('session_secret', sessionSecret);
  }
  let tokens: TokenEntry[] = [...config.auth.tokens];
  if (tokens.length === 0) {
    let digest = store.secret('generated_admin_token_sha256');
    if (digest === undefined) {
      const token = `nkq_${generateSecret(24)}`;
      digest = tokenDigest(token);
      store.setSecret('generated_admin_token_sha256', digest);
      shown.adminToken = token;
    }
    tokens = [{ name: 'generated-admin', sha256: digest, role: 'admin' }];
  }
  return { secrets: { adminUser: config.auth.adminUser, adminPasswordHash, sessionSecret, tokens }, shown };
}
