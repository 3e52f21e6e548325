/**
 * Web app account passwords: rules and hashing. scrypt is memory-hard; the cost here is far
 * higher than the PIN's (a sign-in is not on a call path): N=2^15, r=8 → 32 MiB and roughly
 * 60–100 ms per hash on the 2-vCPU dev box, always in libuv's thread pool.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

const PARAMS = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt-pw';

/** Every reason the password is refused; empty when acceptable. */
export function validatePassword(
  password: string,
  ctx: { username?: string; email?: string } = {},
): string[] {
  if (typeof password !== 'string' || password.length === 0) return ['is required'];
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters long`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  const lower = password.toLowerCase();
  if (
    (ctx.username && lower.includes(ctx.username.toLowerCase())) ||
    (ctx.email && lower.includes(ctx.email.toLowerCase()))
  ) {
    problems.push('must not contain the username or e-mail address');
  }
  if (/^(.)\1*$/u.test(password)) problems.push('must not repeat a single character');
  return problems;
}

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, PARAMS, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt-pw$<saltHex>$<keyHex>` with a fresh salt, computed in the thread pool. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt);
  return `${PREFIX}$${salt.toString('hex')}$${key.toString('hex')}`;
}

const DUMMY_SALT = randomBytes(SALT_BYTES);

/**
 * Constant-time check; false for a malformed or missing hash. Without a hash it still derives
 * once, so an unknown account takes as long to refuse as a wrong password.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const parts = hash?.split('$');
  const ok =
    parts?.length === 3 &&
    parts[0] === PREFIX &&
    /^[0-9a-f]{32}$/.test(parts[1]!) &&
    /^[0-9a-f]{64}$/.test(parts[2]!);
  if (!ok || typeof password !== 'string') {
    await derive(typeof password === 'string' ? password : '', DUMMY_SALT);
    return false;
  }
  const actual = await derive(password, Buffer.from(parts[1]!, 'hex'));
  return timingSafeEqual(actual, Buffer.from(parts[2]!, 'hex'));
}
