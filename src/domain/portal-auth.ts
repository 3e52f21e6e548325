/**
 * The Anywhere portal's decisions, as pure functions (the flow in src/calls/flows/portal/portal.ts does
 * the I/O): who may use a portal, which workplace a caller is, what a PIN entry means, what
 * the caller typed at the menu, where a call-through goes and whether it is blocked.
 *
 * Seed: "Ein Anywhere Portal wird auf Gruppen-/Standort-Ebene eingerichtet und kann je nach
 * Einstellung von allen Mitarbeitern dieser Gruppe/dieses Standorts oder unternehmensweit
 * genutzt werden" — the parallel-ringing numbers "autorisieren Sie … am Anywhere Portal";
 * a Bereich (area) "begrenzt den Zugriff" further.
 */
import { isBlocked, stricterOf } from './blocking.js';
import type { AnywherePortal, BlockingProfile, Workplace } from './model.js';
import { normaliseNumber } from './numbers.js';
import { PIN_LOCK_AFTER, verifyPin } from './pin.js';

/** What the portal needs to know about a workplace to authorise its employee. */
export type PortalWorkplace = Pick<
  Workplace,
  'id' | 'companyId' | 'groupId' | 'areaId' | 'parallelRinging' | 'voicebox'
>;

export type PortalScope = Pick<AnywherePortal, 'companyId' | 'groupId' | 'areaId' | 'level'>;

/** The feature code that pulls the running call. */
export const PULL_CODE = '*11';
/** Longest destination a caller may key in (E.164 has 15 digits; "00" + 15 = 17, some slack). */
export const MAX_DESTINATION_DIGITS = 20;
/** Internal extensions are 2..8 digits without a leading 0 (a leading 0 means a national number). */
const EXTENSION_PATTERN = /^[1-9][0-9]{1,7}$/;

/**
 * Whether the workplace's employee may use the portal at all: same company; level `group`
 * (or an area, which always lies in the portal's group) → same group; an area → same area.
 */
export function inPortalScope(
  portal: PortalScope,
  workplace: Pick<Workplace, 'companyId' | 'groupId' | 'areaId'>,
): boolean {
  if (workplace.companyId !== portal.companyId) return false;
  if ((portal.level === 'group' || portal.areaId) && workplace.groupId !== portal.groupId) return false;
  if (portal.areaId && workplace.areaId !== portal.areaId) return false;
  return true;
}

/** Whether the E.164 caller number is one of the workplace's (enabled) parallel-ringing numbers. */
export function authorisesCaller(workplace: Pick<Workplace, 'parallelRinging'>, callerE164: string): boolean {
  return workplace.parallelRinging.enabled && workplace.parallelRinging.numbers.includes(callerE164);
}

export type CallerMatch<W extends PortalWorkplace = PortalWorkplace> =
  | { kind: 'refused'; reason: 'no-caller-number' | 'unknown-caller' | 'ambiguous-without-pin' }
  | { kind: 'single'; workplace: W }
  /** several workplaces carry the number: the PIN decides (only when the portal asks for it) */
  | { kind: 'ambiguous'; workplaces: W[] };

/**
 * Step 1 of a portal call: the caller number (already E.164, or undefined when it could not be
 * normalised / was withheld) against the workplaces that list it (`byParallelNumber`, any
 * company). Only workplaces in the portal's scope with the number in an enabled list count.
 */
export function matchCaller<W extends PortalWorkplace>(
  portal: PortalScope & Pick<AnywherePortal, 'pinRequired'>,
  callerE164: string | undefined,
  workplaces: readonly W[],
): CallerMatch<W> {
  if (!callerE164) return { kind: 'refused', reason: 'no-caller-number' };
  const matches = workplaces.filter((w) => inPortalScope(portal, w) && authorisesCaller(w, callerE164));
  if (matches.length === 0) return { kind: 'refused', reason: 'unknown-caller' };
  if (matches.length === 1) return { kind: 'single', workplace: matches[0]! };
  if (!portal.pinRequired) return { kind: 'refused', reason: 'ambiguous-without-pin' };
  return { kind: 'ambiguous', workplaces: matches };
}

/** SPEC: the PIN is locked after PIN_LOCK_AFTER wrong entries in a row, until it is reset. */
export function isPinLocked(failures: number): boolean {
  return failures >= PIN_LOCK_AFTER;
}

export interface PinCandidate<W extends PortalWorkplace = PortalWorkplace> {
  workplace: W;
  /** wrong entries in a row so far (store.pinFailures) */
  failures: number;
}

export type PinOutcome<W extends PortalWorkplace = PortalWorkplace> =
  | { kind: 'accepted'; workplace: W }
  | {
      kind: 'rejected';
      /**
       * for the log only — the caller hears the same in every case, so the portal never tells
       * which of number, PIN or lock was the problem
       */
      reason: 'empty' | 'wrong' | 'locked' | 'ambiguous';
      /** workplaces whose failure counter this entry increments */
      countFailureFor: string[];
    };

/**
 * One PIN entry against the candidate workplaces (one, or several sharing the caller number).
 * - empty entry: a lost attempt of this call, but no guess — counts towards no lock
 *   (as the voicebox does);
 * - a locked PIN is never accepted, even when it is entered correctly (and then nothing more
 *   is counted: it was the right PIN);
 * - exactly one unlocked candidate verifies → accepted; several (same PIN) → refused;
 * - none → wrong, counted against every unlocked candidate with a PIN (each was guessed at).
 */
export function checkPin<W extends PortalWorkplace>(
  pin: string,
  candidates: ReadonlyArray<PinCandidate<W>>,
  verify: (pin: string, hash: string) => boolean = verifyPin,
): PinOutcome<W> {
  if (pin === '') return { kind: 'rejected', reason: 'empty', countFailureFor: [] };
  const withPin = candidates.filter((c) => c.workplace.voicebox.pinHash !== undefined);
  const verified = withPin.filter((c) => verify(pin, c.workplace.voicebox.pinHash!));
  const open = verified.filter((c) => !isPinLocked(c.failures));
  if (open.length === 1) return { kind: 'accepted', workplace: open[0]!.workplace };
  if (open.length > 1) return { kind: 'rejected', reason: 'ambiguous', countFailureFor: [] };
  if (verified.length > 0) return { kind: 'rejected', reason: 'locked', countFailureFor: [] };
  const counted = withPin.filter((c) => !isPinLocked(c.failures)).map((c) => c.workplace.id);
  return { kind: 'rejected', reason: counted.length > 0 ? 'wrong' : 'locked', countFailureFor: counted };
}

export type MenuProgress =
  | { kind: 'pull' }
  /** keep reading digits */
  | { kind: 'more' }
  | { kind: 'dial'; digits: string }
  | { kind: 'invalid' };

/**
 * What the caller has keyed in at the menu so far. `*11` pulls as soon as it is complete (no
 * `#` needed); digits are a destination ended by `#` or by the inter-digit timeout
 * (`timedOut`); anything else is invalid.
 */
export function menuProgress(entry: string, timedOut: boolean): MenuProgress {
  if (entry.startsWith('*')) {
    if (entry === PULL_CODE) return { kind: 'pull' };
    return PULL_CODE.startsWith(entry) && !timedOut ? { kind: 'more' } : { kind: 'invalid' };
  }
  const ended = entry.endsWith('#');
  const digits = ended ? entry.slice(0, -1) : entry;
  if (!/^[0-9]+$/.test(digits) || digits.length > MAX_DESTINATION_DIGITS) return { kind: 'invalid' };
  return ended || timedOut ? { kind: 'dial', digits } : { kind: 'more' };
}

export type Destination =
  | { kind: 'number'; e164: string }
  | { kind: 'extension'; extension: string }
  | { kind: 'invalid'; reason: string };

/**
 * What the caller dialled: national (`0…`), international (`00…`, `+…`) → E.164; other short
 * digit strings → an internal extension of the company (the flow looks it up).
 */
export function parseDestination(digits: string, countryCode: string): Destination {
  if (digits === '') return { kind: 'invalid', reason: 'nothing dialled' };
  if (!/^\+?[0-9]+$/.test(digits)) return { kind: 'invalid', reason: 'not digits' };
  if (digits.startsWith('+') || digits.startsWith('0')) {
    const e164 = normaliseNumber(digits, { countryCode });
    return e164 ? { kind: 'number', e164 } : { kind: 'invalid', reason: 'not a phone number' };
  }
  if (EXTENSION_PATTERN.test(digits)) return { kind: 'extension', extension: digits };
  return { kind: 'invalid', reason: 'not a phone number or extension' };
}

export type CallThroughTarget =
  | { kind: 'invalid'; reason: string }
  /** a workplace of ours (by number or extension): it rings like an internal call */
  | { kind: 'internal'; e164: string; workplace: Workplace }
  /** any other number: out through the trunk */
  | { kind: 'external'; e164: string };

/**
 * Where a call-through goes once the dialled destination has been looked up (`found`: the
 * number's / extension's workplace or portal, any company; undefined when none): never to a
 * portal of the company, an unknown extension is invalid, the company's own numbers ring
 * internally, anything else goes out — another company's number too: it is an ordinary
 * external call, nothing of that company is used.
 */
export function callThroughTarget(
  destination: Destination,
  found:
    | { kind: 'workplace'; workplace: Workplace }
    | { kind: 'portal'; portal: Pick<AnywherePortal, 'companyId'> }
    | undefined,
  /** the portal's company */
  companyId: string,
): CallThroughTarget {
  if (destination.kind === 'invalid') return destination;
  const ours =
    (found?.kind === 'workplace' ? found.workplace.companyId : found?.portal.companyId) === companyId
      ? found
      : undefined;
  if (ours?.kind === 'portal') return { kind: 'invalid', reason: 'an Anywhere portal' };
  if (ours?.kind === 'workplace')
    return { kind: 'internal', e164: ours.workplace.number, workplace: ours.workplace };
  if (destination.kind === 'extension') return { kind: 'invalid', reason: 'no such extension' };
  return { kind: 'external', e164: destination.e164 };
}

/** The caller ID of a call-through: the workplace's number, unless it presents anonymously. */
export function callThroughCallerId(
  workplace: Pick<Workplace, 'number' | 'callerIdPresentation'>,
): string | undefined {
  return workplace.callerIdPresentation === 'anonymous' ? undefined : workplace.number;
}

export interface CallThroughCheck {
  blocked: boolean;
  /** the combined profile that decided (undefined: neither the portal nor the workplace has one) */
  profile: BlockingProfile | undefined;
}

/**
 * A call-through is an outgoing call of the employee through the portal: the portal's own
 * blocking profile and the workplace's effective one both apply — the stricter wins.
 */
export function checkCallThrough(
  e164: string,
  portalProfile: BlockingProfile | undefined,
  workplaceProfile: BlockingProfile | undefined,
): CallThroughCheck {
  const profile = stricterOf(portalProfile, workplaceProfile);
  return { blocked: isBlocked(profile, 'outgoing', e164), profile };
}
