import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Admin passwords are stored only as scrypt hashes in a PHC-like string:
 * "scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>" (N = 2^ln).
 */

interface ScryptParams {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const DEFAULT = { ln: 15, r: 8, p: 1 } as const;
const FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** parsePasswordHash reads a stored hash, or returns undefined when it is not in our format. */
export function parsePasswordHash(text: string): ScryptParams | undefined {
  const m = FORMAT.exec(text);
  if (m === null) return undefined;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4] as string, 'base64');
  const hash = Buffer.from(m[5] as string, 'base64');
  if (ln < 10 || ln > 20 || r < 1 || p < 1 || salt.length < 16 || hash.length < 32) return undefined;
  return { ln, r, p, salt, hash };
}

function derive(password: string, salt: Buffer, ln: number, r: number, p: number, keylen: number): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** hashPassword returns the stored form of password with a fresh 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, DEFAULT.ln, DEFAULT.r, DEFAULT.p, 32);
  return `scrypt$ln=${DEFAULT.ln},r=${DEFAULT.r},p=${DEFAULT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** verifyPassword checks password against a stored hash in constant time; a malformed hash never verifies. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const params = parsePasswordHash(stored);
  if (params === undefined) return false;
  const candidate = await derive(password, params.salt, params.ln, params.r, params.p, params.hash.length);
  return timingSafeEqual(candidate, params.hash);
}

/** generateSecret returns n random bytes as base64url text, for generated passwords and keys. */
export function generateSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}
