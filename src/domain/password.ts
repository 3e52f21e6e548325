/**
 * Web app account passwords: rules and hashing. scrypt is memory-hard; the cost here is far
 * higher than the PIN's (a sign-in is not on a call path): N=2^15, r=8 → 32 MiB and roughly
 * 60–100 ms per hash on the 2-vCPU dev box, always in libuv's thread pool.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

const PARAMS = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt-pw';

/**
 * The passwords people pick first: zxcvbn-ts's maintained list of common passwords (about 49,000,
 * from real leaks). Lowercased once; a Set, so a check is one lookup.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  dictionary['passwords-common'].map((p) => p.toLowerCase()),
);

/** Context words a password must not contain: shorter ones would refuse too many honest passphrases. */
const MIN_CONTEXT_WORD = 4;

/** runs people type as "a password": the digit row, the alphabet, keyboard rows (en and de) */
const RUNS = [
  '1234567890',
  'abcdefghijklmnopqrstuvwxyz',
  'qwertyuiop',
  'qwertzuiop',
  'asdfghjkl',
  'yxcvbnm',
  'zxcvbnm',
];

/** the whole text is one run, forwards or backwards, possibly wrapping (0123456789, 9876543210, zyxw…) */
function isSequence(text: string): boolean {
  const backwards = [...text].reverse().join('');
  return RUNS.some((run) => {
    const cycle = run.repeat(Math.ceil(text.length / run.length) + 1);
    return cycle.includes(text) || cycle.includes(backwards) || `0${cycle}`.includes(text);
  });
}

/** a short block repeated to length: abcabcabcabc, 12121212121 */
function isRepetition(text: string): boolean {
  for (let size = 1; size <= text.length / 2; size++) {
    const unit = text.slice(0, size);
    if (unit.repeat(Math.ceil(text.length / size)).slice(0, text.length) === text) return true;
  }
  return false;
}

/**
 * Every reason the password is refused; empty when acceptable. As NIST SP 800-63B (5.1.1.2)
 * asks: length, not composition (no "one digit, one symbol" rules: they make passwords harder
 * to remember, not to guess); refused when it is a commonly used password, a sequence or
 * repetition, or contains the account's own names (username, e-mail, the person's name).
 * Messages are English; the web app shows them in German as well (web/i18n.js).
 */
export function validatePassword(
  password: string,
  ctx: { username?: string; email?: string; names?: string[] } = {},
): string[] {
  if (typeof password !== 'string' || password.length === 0) return ['is required'];
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters long`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  const lower = password.toLowerCase();
  // the whole e-mail, not its local part: "admin@…" would refuse every password with "admin"
  const context = [ctx.username, ctx.email, ...(ctx.names ?? [])]
    .filter((w): w is string => typeof w === 'string' && [...w].length >= MIN_CONTEXT_WORD)
    .map((w) => w.toLowerCase());
  if (context.some((w) => lower.includes(w))) {
    problems.push('must not contain the username, the e-mail address or a name of the account');
  }
  if (/^(.)\1*$/u.test(password)) problems.push('must not repeat a single character');
  else if (isSequence(lower) || isRepetition(lower))
    problems.push('must not be a simple sequence or repetition (like 1234567890)');
  if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(lower.replace(/[\d\W_]+$/u, '')))
    if (!problems.some((p) => p.startsWith('must not be a simple')))
      problems.push('is one of the most common passwords; choose another');
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
