/**
 * Seed rules of a workplace (Arbeitsplatz einrichten, One Net Business Benutzer anlegen).
 * Each validator returns every problem as a message; empty means valid.
 */

/** Seed: "Arbeitsplätzen können bis zu 6 Endgeräte zugewiesen werden." */
export const MAX_DEVICES = 6;
/** Seed: Paralleles Klingeln — "mindestens eine bis maximal fünf Festnetz- oder Mobilfunknummern". */
export const MAX_PARALLEL_NUMBERS = 5;
/** Ring time before "no answer" applies; SPEC: default 20 s, 5–120 s. */
export const RING_SECONDS = { min: 5, max: 120, default: 20 } as const;

export const USERNAME_MIN_LENGTH = 5;
/** The seed gives no maximum; 64 keeps it a sensible login name and SIP/URI-safe. */
export const USERNAME_MAX_LENGTH = 64;
/** Seed (One Net Business): "Der Vorname darf maximal 23 Zeichen lang sein, der Nachname 30 Zeichen." */
export const FIRST_NAME_MAX_LENGTH = 23;
export const LAST_NAME_MAX_LENGTH = 30;

/**
 * Seed: "mindestens fünf Zeichen lang … aus Kleinbuchstaben und Ziffern … keine Umlaute …
 * Unterstrich, Bindestrich und Punkt … vor und nach jedem Sonderzeichen mindestens ein
 * Buchstabe oder eine Ziffer … mit Buchstaben oder Ziffern beginnen und enden."
 */
export function validateUsername(u: string): string[] {
  if (typeof u !== 'string' || u.length === 0) return ['is required'];
  const problems: string[] = [];
  const length = [...u].length;
  if (length < USERNAME_MIN_LENGTH) problems.push(`must be at least ${USERNAME_MIN_LENGTH} characters long`);
  if (length > USERNAME_MAX_LENGTH) problems.push(`must be at most ${USERNAME_MAX_LENGTH} characters long`);
  if (/[äöüßÄÖÜ]/.test(u)) problems.push('must not contain umlauts or ß');
  if (/[A-Z]/.test(u)) problems.push('must be lowercase');
  if (/[^a-zA-Z0-9_.\-äöüßÄÖÜ]/.test(u)) {
    problems.push('may contain only lowercase letters a-z, digits and the characters _ - .');
  }
  if (/^[_.-]|[_.-]$/.test(u)) problems.push('must start and end with a letter or digit');
  if (/[_.-]{2}/.test(u)) problems.push('each of _ - . needs a letter or digit on both sides');
  return problems;
}

function validateName(s: string, max: number): string[] {
  if (typeof s !== 'string' || s.trim().length === 0) return ['is required'];
  const problems: string[] = [];
  const length = [...s].length;
  if (length > max) problems.push(`must be at most ${max} characters long (is ${length})`);
  // names end up in caller-ID display and CSV exports, where control characters break things
  if (/\p{Cc}/u.test(s)) problems.push('must not contain control characters or line breaks');
  return problems;
}

/** Non-empty, at most 23 characters (seed). */
export function validateFirstName(s: string): string[] {
  return validateName(s, FIRST_NAME_MAX_LENGTH);
}

/** Non-empty, at most 30 characters (seed). */
export function validateLastName(s: string): string[] {
  return validateName(s, LAST_NAME_MAX_LENGTH);
}

/**
 * Deliberately loose (one "@", something on both sides, a dot in the domain, no spaces):
 * real addresses are too varied for a stricter pattern; delivery proves the rest.
 */
export function validateEmail(s: string): string[] {
  if (typeof s !== 'string' || s.length === 0) return ['is required'];
  if (s.length > 254) return ['must be at most 254 characters long'];
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s)) return ['must be an email address like name@example.com'];
  return [];
}

/** Seed: "Die Durchwahl … besteht standardmäßig aus den letzten 4 Ziffern seiner Rufnummer." */
export function defaultExtension(number: string): string {
  return number.replace(/\D/g, '').slice(-4);
}

/**
 * Bounds of an internal extension. 2: the seed treats two-digit extensions as valid unless
 * mobile integration is booked. 6: a German national number has at least 7 digits, so an
 * extension of at most 6 can never be mistaken for a number dialled without its trunk
 * prefix, and a million extensions is far beyond any company's needs.
 */
export const EXTENSION_MIN_DIGITS = 2;
export const EXTENSION_MAX_DIGITS = 6;

/**
 * Seed (Wichtige Einschränkung bei der Auswahl interner Rufnummern): no extension starting
 * with 77 or 78 (feature prefixes); none starting with 110 or 112 (emergency); no five-digit
 * one starting with 118 (directory enquiries 118xx); not 911 (mobile clients dial the
 * emergency number natively). With mobile integration (MagentaEINS Business Integration)
 * also no two-digit extensions and none starting with 0.
 */
export function validateExtension(ext: string, opts: { mobileIntegration: boolean }): string[] {
  if (typeof ext !== 'string' || ext.length === 0) return ['is required'];
  if (!/^\d+$/.test(ext)) return ['must contain only digits'];
  const problems: string[] = [];
  if (ext.length < EXTENSION_MIN_DIGITS || ext.length > EXTENSION_MAX_DIGITS) {
    problems.push(`must have ${EXTENSION_MIN_DIGITS} to ${EXTENSION_MAX_DIGITS} digits`);
  }
  if (/^7[78]/.test(ext)) problems.push('must not start with 77 or 78 (reserved for feature codes)');
  if (/^11[02]/.test(ext)) problems.push('must not start with 110 or 112 (emergency numbers)');
  if (ext.length === 5 && ext.startsWith('118')) {
    problems.push('must not be five digits starting with 118 (directory enquiries)');
  }
  if (ext === '911') problems.push('must not be 911 (mobile clients dial the emergency number)');
  if (opts.mobileIntegration) {
    if (ext.length === 2) problems.push('must not have two digits when mobile integration is used');
    if (ext.startsWith('0')) problems.push('must not start with 0 when mobile integration is used');
  }
  return problems;
}

/** SPEC: ring time 5–120 s, whole seconds. */
export function validateRingSeconds(n: number): string[] {
  if (typeof n !== 'number' || !Number.isInteger(n)) return ['must be a whole number of seconds'];
  if (n < RING_SECONDS.min || n > RING_SECONDS.max) {
    return [`must be between ${RING_SECONDS.min} and ${RING_SECONDS.max} seconds`];
  }
  return [];
}

/** Seed: up to 6 devices per workplace. */
export function validateDeviceCount(count: number): string[] {
  return count > MAX_DEVICES ? [`at most ${MAX_DEVICES} devices per workplace (got ${count})`] : [];
}

export const SIP_PASSWORD_MIN_LENGTH = 12;
export const SIP_PASSWORD_MAX_LENGTH = 64;

/**
 * An admin-chosen SIP password (seed: "Benutzergeneriertes Kennwort"). SIP digest passwords
 * on the public internet are brute-forced constantly, so: 12–64 printable ASCII characters
 * (phones' keypads and provisioning files choke on anything else), no spaces, quotes, ";"
 * or "#" (comment/quoting characters in Asterisk and phone config files), at least a
 * letter and a digit.
 */
export function validateSipPassword(pw: string): string[] {
  if (typeof pw !== 'string' || pw.length === 0) return ['is required'];
  const problems: string[] = [];
  if (pw.length < SIP_PASSWORD_MIN_LENGTH || pw.length > SIP_PASSWORD_MAX_LENGTH) {
    problems.push(`must be ${SIP_PASSWORD_MIN_LENGTH} to ${SIP_PASSWORD_MAX_LENGTH} characters long`);
  }
  if (!/^[\x21-\x7e]*$/.test(pw)) problems.push('may contain only printable ASCII characters without spaces');
  if (/["';#\\]/.test(pw)) problems.push('must not contain quotes, backslash, ";" or "#"');
  if (!/[A-Za-z]/.test(pw) || !/\d/.test(pw)) problems.push('must contain at least one letter and one digit');
  return problems;
}
