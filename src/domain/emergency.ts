/**
 * Emergency and special numbers, as pure rules (TKG §164, NotrufV; seed "Arbeitsplätze
 * einrichten": 110…/112… reserved, 911 forbidden, special numbers with the prefix 77).
 *
 * Asterisk routes the emergency and social numbers itself (asterisk/extensions.conf
 * [from-devices], before Stasis), so they work while the controller is down. This module is the
 * one list of what those numbers are: the dialplan, the simulator's test of it, the portal and
 * routing explain all check against it (test/domain/emergency.test.ts reads the dialplan file and
 * fails when the two disagree).
 */
import { normaliseNumber } from './numbers.js';

export type EmergencyNumber = '110' | '112';

/** The emergency numbers as the carrier is sent them: always the bare short code. */
export const EMERGENCY_NUMBERS: readonly EmergencyNumber[] = ['110', '112'];

/**
 * How phones and people dial them: bare, with a trunk prefix ("0", which phones configured for an
 * outside line add), with the international prefix and country code ("+49112", "0049112"), or
 * with both a trunk prefix and the national form ("00112" is the "0" outside line + "0112").
 * Every form here is an exact extension in [from-devices].
 */
export const EMERGENCY_DIAL_FORMS: Readonly<Record<EmergencyNumber, readonly string[]>> = {
  '110': ['110', '0110', '00110', '+49110', '0049110', '00049110'],
  '112': ['112', '0112', '00112', '+49112', '0049112', '00049112'],
};

/**
 * Numbers of social value (harmonised European 116xxx) and the authorities' number 115: every
 * device reaches them, no blocking profile applies (BNetzA allocation rules: free or at most a
 * local-rate call, must be reachable). Sent to the carrier as dialled.
 */
export const SOCIAL_NUMBERS: readonly string[] = [
  '115',
  '116000',
  '116006',
  '116111',
  '116116',
  '116117',
  '116123',
];

/** The seed's prefix for special numbers the carrier serves ("7711833", "77115", 77 + short code). */
export const SPECIAL_PREFIX = '77';

/** 77 + at least 3 digits (the shortest carrier short codes, e.g. 115). */
const SPECIAL_DIALLED = /^77(\d{3,15})$/;

/** The emergency number a dialled string is, in any of its dial forms. */
export function emergencyNumber(dialled: string): EmergencyNumber | undefined {
  const compact = dialled.replace(/[\s\-/().]/g, '');
  for (const n of EMERGENCY_NUMBERS) if (EMERGENCY_DIAL_FORMS[n].includes(compact)) return n;
  return undefined;
}

/**
 * Whether an E.164 number (as the portal or a forwarding target normalises what was typed) is an
 * emergency number: "+49110"/"+49112" — a normaliser turns "0112" into that — or the bare code.
 */
export function isEmergencyNumber(numberOrE164: string, countryCode = '49'): boolean {
  if (emergencyNumber(numberOrE164)) return true;
  const cc = countryCode.replace(/^\+/, '');
  return EMERGENCY_NUMBERS.some((n) => numberOrE164 === `+${cc}${n}`);
}

/** The social/authorities' number dialled, if it is one (only as dialled: these have no other form). */
export function socialNumber(dialled: string): string | undefined {
  return SOCIAL_NUMBERS.includes(dialled) ? dialled : undefined;
}

export interface SpecialNumber {
  /** what the carrier is sent: the digits after 77 */
  dial: string;
  /**
   * The E.164 form the workplace's blocking profile is checked against: a national number
   * ("77030…") normalised, a short code as the home country's ("7711833" → "+4911833", so the
   * premium-rate prefix "+49118" blocks directory enquiries).
   */
  blockAs: string;
}

/** `77` + a number the carrier serves → what to dial and what to check the blocking profile with. */
export function specialNumber(dialled: string, countryCode: string): SpecialNumber | undefined {
  const m = SPECIAL_DIALLED.exec(dialled);
  if (!m) return undefined;
  const dial = m[1]!;
  const cc = countryCode.replace(/^\+/, '');
  const blockAs = normaliseNumber(dial, { countryCode: cc }) ?? `+${cc}${dial}`;
  return { dial, blockAs };
}

/**
 * The number a device presents on an emergency call (and on the social numbers): its
 * workplace's own number, else the company's main number. Never withheld: the emergency
 * service locates the caller by it.
 */
export function emergencyCallerNumber(
  workplace: { number?: string | undefined },
  company: { mainNumber?: string | undefined },
): string | undefined {
  return workplace.number || company.mainNumber || undefined;
}
