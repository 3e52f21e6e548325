/**
 * The voicebox PIN (it also guards the Anywhere portal): strength rules as BroadWorks-based
 * carriers enforce them, and hashing. Only the hash is ever stored; PINs are never logged.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export const PIN_MIN_DIGITS = 4;
export const PIN_MAX_DIGITS = 8;
/** SPEC: five wrong entries in a row (across calls) lock the PIN until it is reset. */
export const PIN_LOCK_AFTER = 5;
/** SPEC: three attempts per portal/voicebox call before the call is released. */
export const PIN_ATTEMPTS_PER_CALL = 3;

/**
 * scrypt cost. Measured on the dev box (node 20, 2 vCPU): N=4096 ≈ 7 ms per hash/verify,
 * N=8192 ≈ 15 ms, N=16384 ≈ 31 ms. The portal verifies a PIN on the call path, so we take
 * N=4096 to stay well under 20 ms. Honest caveat: a 4–8 digit PIN space is small enough to
 * brute-force offline at any cost setting; the real protection is the lock after
 * PIN_LOCK_AFTER failures and keeping the hashes out of reach. The hash keeps the PIN out
 * of dumps, logs and API responses.
 */
const SCRYPT_PARAMS = { N: 4096, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const HASH_PREFIX = 'scrypt';

export interface PinContext {
  /** the workplace's internal extension: the PIN must not contain it or its reverse */
  extension?: string;
  /** the workplace's E.164 number: the PIN must not equal its last pin.length digits */
  number?: string;
  /** hashes of previous PINs: the new PIN must not be one of them or its reverse */
  previousPinHashes?: string[];
}

const reverse = (s: string): string => [...s].reverse().join('');
const PREVIOUS_PIN_MESSAGE = 'must not be a previous PIN or a previous PIN reversed';

/** Strict ascending or descending run with step 1 and no wrap-around: 1234, 4321, 3456789. */
function isRun(pin: string): boolean {
  const digits = [...pin].map(Number);
  const step = (digits[1] ?? 0) - (digits[0] ?? 0);
  if (step !== 1 && step !== -1) return false;
  return digits.every((d, i) => i === 0 || d - digits[i - 1]! === step);
}

/** The whole PIN is one shorter group repeated: 1212, 234234, 123123, 45454545. */
function isRepeatedGroup(pin: string): boolean {
  for (let size = 1; size <= pin.length / 2; size++) {
    if (pin.length % size === 0 && pin.slice(0, size).repeat(pin.length / size) === pin) return true;
  }
  return false;
}

/**
 * Every reason the PIN is too weak; empty when acceptable.
 * Runs count only without wrap-around: 9012 and 8901 are accepted (a decision: BroadWorks
 * documents "sequential digits" without wrap, and wrapped runs are not what people pick).
 */
export function validatePinStrength(pin: string, ctx: PinContext = {}): string[] {
  if (typeof pin !== 'string' || pin.length === 0) return ['is required'];
  if (!/^\d+$/.test(pin)) return ['must contain only digits'];
  if (pin.length < PIN_MIN_DIGITS || pin.length > PIN_MAX_DIGITS) {
    return [`must have ${PIN_MIN_DIGITS} to ${PIN_MAX_DIGITS} digits`];
  }
  const problems: string[] = [];
  if (/^(\d)\1*$/.test(pin)) {
    problems.push('must not repeat a single digit (like 1111)');
  } else if (isRepeatedGroup(pin)) {
    problems.push('must not repeat a group of digits (like 1212 or 234234)');
  }
  if (isRun(pin)) problems.push('must not be an ascending or descending run (like 1234 or 4321)');

  const extension = ctx.extension?.replace(/\D/g, '') ?? '';
  if (extension.length > 0 && (pin.includes(extension) || pin.includes(reverse(extension)))) {
    problems.push('must not contain the extension or the extension reversed');
  }
  const numberDigits = ctx.number?.replace(/\D/g, '') ?? '';
  if (numberDigits.length >= pin.length && numberDigits.endsWith(pin)) {
    problems.push('must not be the end of the phone number');
  }
  const previous = ctx.previousPinHashes ?? [];
  if (previous.some((hash) => verifyPin(pin, hash) || verifyPin(reverse(pin), hash))) {
    problems.push(PREVIOUS_PIN_MESSAGE);
  }
  return problems;
}

/** `scrypt$<saltHex>$<hashHex>` with a fresh random salt. */
export function hashPin(pin: string): string {
  const salt = randomBytes(SALT_BYTES);
  const key = scryptSync(pin, salt, KEY_BYTES, SCRYPT_PARAMS);
  return `${HASH_PREFIX}$${salt.toString('hex')}$${key.toString('hex')}`;
}

/** The parts of a well-formed stored hash; undefined for anything else. */
function parseHash(hash: string): { salt: Buffer; expected: Buffer } | undefined {
  const parts = hash.split('$');
  if (parts.length !== 3 || parts[0] !== HASH_PREFIX) return undefined;
  const [, saltHex, keyHex] = parts as [string, string, string];
  if (!/^(?:[0-9a-f]{2})+$/.test(saltHex) || !/^(?:[0-9a-f]{2})+$/.test(keyHex)) return undefined;
  // fixed sizes: a tampered hash must not make us derive a huge key on the call path
  if (saltHex.length !== SALT_BYTES * 2 || keyHex.length !== KEY_BYTES * 2) return undefined;
  return { salt: Buffer.from(saltHex, 'hex'), expected: Buffer.from(keyHex, 'hex') };
}

/** hashPin in libuv's thread pool: request handlers and bulk imports never stall the event loop. */
export function hashPinAsync(pin: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return new Promise((resolve, reject) => {
    scrypt(pin, salt, KEY_BYTES, SCRYPT_PARAMS, (err, key) => {
      if (err) reject(err);
      else resolve(`${HASH_PREFIX}$${salt.toString('hex')}$${key.toString('hex')}`);
    });
  });
}

/**
 * The "not a previous PIN or its reverse" rule of validatePinStrength, off the event loop:
 * the message when the PIN was used before, else undefined.
 */
export async function previousPinProblem(
  pin: string,
  previousPinHashes: string[],
): Promise<string | undefined> {
  const checks = previousPinHashes.flatMap((hash) => [
    verifyPinAsync(pin, hash),
    verifyPinAsync(reverse(pin), hash),
  ]);
  return (await Promise.all(checks)).some(Boolean) ? PREVIOUS_PIN_MESSAGE : undefined;
}

/** Constant-time check of a PIN against a stored hash; false (never a throw) for a malformed hash. */
export function verifyPin(pin: string, hash: string): boolean {
  if (typeof pin !== 'string' || typeof hash !== 'string') return false;
  const parsed = parseHash(hash);
  if (!parsed) return false;
  const actual = scryptSync(pin, parsed.salt, KEY_BYTES, SCRYPT_PARAMS);
  return timingSafeEqual(actual, parsed.expected);
}

/**
 * verifyPin off the event loop (libuv's thread pool): the call paths use this one, so a PIN
 * check (~7 ms of scrypt) never stalls every other call's events.
 */
export function verifyPinAsync(pin: string, hash: string): Promise<boolean> {
  if (typeof pin !== 'string' || typeof hash !== 'string') return Promise.resolve(false);
  const parsed = parseHash(hash);
  if (!parsed) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(pin, parsed.salt, KEY_BYTES, SCRYPT_PARAMS, (err, actual) => {
      resolve(!err && timingSafeEqual(actual, parsed.expected));
    });
  });
}
