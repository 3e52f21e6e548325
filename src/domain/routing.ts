/**
 * Where a new call goes, as pure decisions: the call router (src/calls/flows/router.ts) and the
 * routing explanation (src/calls/decisions/explain.ts) both call these, so "what would happen" and
 * "what happens" are the same code.
 *
 *   1. classifyDialled: the dialled string → voicebox access number, `*11` (devices only),
 *      an E.164 number to look up, an internal extension (devices only), or nothing.
 *   2. (the caller looks the number / extension up: config cache or store)
 *   3. routeCall: the lookup result → workplace call, own voicebox, portal, out through the
 *      trunk (devices only), or unallocated.
 */
import { specialNumber } from './emergency.js';
import type { AnywherePortal, Workplace } from './model.js';
import { normaliseNumber } from './numbers.js';
import { PULL_CODE } from './portal-auth.js';

export type CallKind = 'inbound' | 'internal';

/** A number resolved to its target (what the config cache answers). */
export type RoutingTarget =
  { kind: 'workplace'; workplace: Workplace } | { kind: 'portal'; portal: AnywherePortal } | undefined;

export type Dialled =
  | { kind: 'voicebox-access' }
  | { kind: 'pull' }
  /**
   * `dial`: a special number the carrier serves, dialled with the seed's prefix 77 ("77115",
   * "7711833"): sent to the trunk as `dial`, while `e164` is the form the blocking profile is
   * checked against (src/domain/emergency.ts specialNumber). Never one of ours.
   */
  | { kind: 'number'; e164: string; dial?: string }
  | { kind: 'extension'; extension: string }
  | { kind: 'nothing' };

/** Internal extensions a device may dial (2..8 digits). */
const DIALLED_EXTENSION = /^[0-9]{2,8}$/;

/** Whether the dialled string is the configured voicebox access number (any form). */
export function isVoiceboxAccessNumber(
  exten: string,
  accessNumber: string | undefined,
  countryCode: string,
): boolean {
  if (!accessNumber || exten === '') return false;
  if (exten === accessNumber) return true;
  const a = normaliseNumber(accessNumber, { countryCode });
  return a !== undefined && a === normaliseNumber(exten, { countryCode });
}

/** Step 1: what the dialled string is. `fromDevice`: the caller is a known device of ours. */
export function classifyDialled(args: {
  kind: CallKind;
  exten: string;
  fromDevice: boolean;
  countryCode: string;
  voiceboxAccessNumber?: string | undefined;
}): Dialled {
  const { kind, exten, fromDevice, countryCode } = args;
  if (isVoiceboxAccessNumber(exten, args.voiceboxAccessNumber, countryCode)) {
    return { kind: 'voicebox-access' };
  }
  if (kind === 'internal' && exten === PULL_CODE) return { kind: 'pull' };
  if (kind === 'internal' && fromDevice) {
    const special = specialNumber(exten, countryCode);
    if (special) return { kind: 'number', e164: special.blockAs, dial: special.dial };
  }
  const e164 = normaliseNumber(exten, { countryCode });
  if (e164) return { kind: 'number', e164 };
  if (fromDevice && DIALLED_EXTENSION.test(exten)) return { kind: 'extension', extension: exten };
  return { kind: 'nothing' };
}

export type Route =
  | { kind: 'workplace'; workplace: Workplace }
  /** the own number dialled from an own device: voicebox retrieval */
  | { kind: 'own-voicebox'; workplace: Workplace }
  | { kind: 'portal'; portal: AnywherePortal }
  /** a device dials a number that is not ours: out through the trunk */
  | { kind: 'outbound'; e164: string; from: Workplace; dial?: string }
  | { kind: 'unallocated'; reason: 'unknown-number' | 'not-a-number' };

/** Step 3: the lookup result of a number / extension → where the call goes. */
export function routeCall(
  dialled: Extract<Dialled, { kind: 'number' | 'extension' | 'nothing' }>,
  target: RoutingTarget,
  callerWorkplace: Workplace | undefined,
): Route {
  // 77 + a number: the carrier's, whatever it would match here
  if (dialled.kind === 'number' && dialled.dial !== undefined && callerWorkplace)
    return { kind: 'outbound', e164: dialled.e164, from: callerWorkplace, dial: dialled.dial };
  if (!target) {
    if (dialled.kind === 'number' && callerWorkplace)
      return { kind: 'outbound', e164: dialled.e164, from: callerWorkplace };
    return { kind: 'unallocated', reason: dialled.kind === 'nothing' ? 'not-a-number' : 'unknown-number' };
  }
  if (target.kind === 'portal') return { kind: 'portal', portal: target.portal };
  if (callerWorkplace && callerWorkplace.id === target.workplace.id) {
    return { kind: 'own-voicebox', workplace: target.workplace };
  }
  return { kind: 'workplace', workplace: target.workplace };
}

/**
 * The voicebox access number: from an own device its workplace's voicebox; from outside the
 * workplace whose number is calling, else the single workplace listing the caller as a
 * parallel-ringing number. Undefined: unknown caller (access denied).
 */
export function voiceboxAccessOwner(
  callerWorkplace: Workplace | undefined,
  callerAsTarget: RoutingTarget,
  byParallelNumber: readonly Workplace[],
): Workplace | undefined {
  if (callerWorkplace) return callerWorkplace;
  if (callerAsTarget?.kind === 'workplace') return callerAsTarget.workplace;
  return byParallelNumber.length === 1 ? byParallelNumber[0] : undefined;
}
