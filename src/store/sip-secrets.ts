/**
 * SIP passwords at rest: Asterisk needs them in clear for digest authentication, so they cannot
 * be hashed, but a copy of Redis (a dump, a replica, a backup) should not hand them out. With a
 * SECRET_KEY every device password is stored AES-256-GCM encrypted ("enc:v1:..."); values
 * written before (plain text) are still read, and become encrypted on the workplace's next write.
 *
 * The IV is derived from the key, the device and the password (an HMAC, as in SIV modes)
 * instead of drawn at random: the same password of the same device encrypts to the same text,
 * which keeps "the stored object is still the one the caller read" a plain string comparison
 * inside the atomic write. Different passwords get different IVs; the device id is bound in as
 * associated data, so a ciphertext copied to another device does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Workplace } from '../domain/model.js';

const PREFIX = 'enc:v1:';

export class SecretKeyError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SecretKeyError';
  }
}

/** 32 bytes, given as 64 hex digits or base64 (e.g. `openssl rand -base64 32`). */
export function parseSecretKey(text: string, variable = 'SECRET_KEY'): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return Buffer.from(value, 'base64');
  throw new SecretKeyError(variable, 'must be 32 bytes as 64 hex digits or base64 (openssl rand -base64 32)');
}

/** The key from SECRET_KEY, or from the file named by SECRET_KEY_FILE (docker secret); undefined when neither is set. */
export function loadSecretKey(config: { SECRET_KEY?: string; SECRET_KEY_FILE?: string }): Buffer | undefined {
  if (config.SECRET_KEY) return parseSecretKey(config.SECRET_KEY);
  if (config.SECRET_KEY_FILE) {
    let text: string;
    try {
      text = readFileSync(config.SECRET_KEY_FILE, 'utf8');
    } catch (err) {
      throw new SecretKeyError('SECRET_KEY_FILE', `cannot be read (${(err as Error).message})`);
    }
    return parseSecretKey(text, 'SECRET_KEY_FILE');
  }
  return undefined;
}

export interface SipPasswordCipher {
  /** the workplace as stored: device passwords encrypted */
  seal(workplace: Workplace): Workplace;
  /** the workplace as used: device passwords in clear (plain values from before are kept) */
  open(workplace: Workplace): Workplace;
}

export function sipPasswordCipher(masterKey: Buffer | undefined): SipPasswordCipher {
  if (!masterKey) {
    return {
      seal: (w) => w,
      open(w) {
        if (w.devices.some((d) => d.sipPassword.startsWith(PREFIX))) {
          throw new SecretKeyError(
            'SECRET_KEY',
            'SIP passwords are stored encrypted: the key is needed to read them',
          );
        }
        return w;
      },
    };
  }
  // separate keys for encryption and IV derivation
  const aesKey = createHmac('sha256', masterKey).update('pbx sip-password aes').digest();
  const ivKey = createHmac('sha256', masterKey).update('pbx sip-password iv').digest();
  const aad = (w: Workplace, deviceId: string) => Buffer.from(`${w.id}/${deviceId}`);

  const encrypt = (w: Workplace, deviceId: string, password: string) => {
    if (password.startsWith(PREFIX)) return password;
    const iv = createHmac('sha256', ivKey)
      .update(`${w.id}/${deviceId}\0${password}`)
      .digest()
      .subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
    cipher.setAAD(aad(w, deviceId));
    const body = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  };
  const decrypt = (w: Workplace, deviceId: string, stored: string) => {
    if (!stored.startsWith(PREFIX)) return stored; // written before encryption was configured
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', aesKey, raw.subarray(0, 12));
      decipher.setAAD(aad(w, deviceId));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(
        'SECRET_KEY',
        `the SIP password of device ${deviceId} does not decrypt: another key?`,
      );
    }
  };
  const map = (w: Workplace, f: (w: Workplace, id: string, p: string) => string): Workplace =>
    w.devices.length === 0
      ? w
      : { ...w, devices: w.devices.map((d) => ({ ...d, sipPassword: f(w, d.id, d.sipPassword) })) };
  return { seal: (w) => map(w, encrypt), open: (w) => map(w, decrypt) };
}
