/**
 * The ring plan of a workplace: pure decisions, no I/O.
 *
 * What happens to a call for a workplace, as the seeds describe it:
 *   1. incoming-blocked caller → reject
 *   2. a selective forwarding rule names the caller → its target
 *   3. the workplace's schedule is closed → its closed-hours target (voicebox or a number)
 *   4. forward always → dial the target (showing the original caller)
 *   5. do-not-disturb → voicebox, else busy
 *   6. otherwise ring every device and every parallel-ringing number at once
 *   7. all legs failed → forward on busy / no answer / unreachable, else voicebox, else release
 * The business's opening hours come before the employee's own forwarding; do-not-disturb comes
 * after it (as in BroadWorks, an employee who forwards everything and sets do-not-disturb still
 * gets the forward).
 * A forwarding target that the blocking profile's `forwarded` list blocks is never dialled:
 * the call falls through to the voicebox, or is released.
 */
import type { Availability } from './availability.js';
import type { BlockingProfile, ForwardRule, Workplace } from './model.js';
import { selectiveRuleFor } from './selective.js';

/** Q.850 causes the controller uses. */
export const CAUSE = {
  unallocated: 1,
  normal: 16,
  busy: 17,
  noAnswer: 19,
  subscriberAbsent: 20,
  rejected: 21,
  answeredElsewhere: 26,
} as const;

/** What a failed ring attempt amounts to. */
export type RingFailure = 'busy' | 'noanswer' | 'unreachable';

export interface DialTemplates {
  /** e.g. "PJSIP/{endpoint}" */
  device: string;
  /** e.g. "PJSIP/{number}@trunk" */
  external: string;
}

export type RingLeg =
  | { kind: 'device'; endpoint: string; deviceId: string }
  /**
   * `number` is E.164; `confirm` = the callee must press 1 before the leg wins; `delaySeconds`:
   * dialled that long after the others, within the same ring time
   */
  | { kind: 'external'; endpoint: string; number: string; confirm: boolean; delaySeconds?: number };

/** Where the call goes next once the ring plan has been consulted. */
export type CallStep =
  | { action: 'reject'; cause: number; reason: 'incoming-blocked' }
  | { action: 'ring'; legs: RingLeg[]; ringSeconds: number }
  | { action: 'forward'; leg: RingLeg & { kind: 'external' }; ringSeconds: number; reason: ForwardReason }
  | { action: 'voicebox'; reason: VoiceboxReason }
  | { action: 'release'; cause: number; reason: ReleaseReason };

export type ForwardReason = 'always' | 'closed' | 'selective' | RingFailure;
export type VoiceboxReason = ForwardReason | 'forward-target-blocked' | 'do-not-disturb';
export type ReleaseReason = RingFailure | 'forward-target-blocked' | 'forward-failed' | 'do-not-disturb';

export const DEFAULT_RING_SECONDS = 20;

/** `{endpoint}` / `{number}` substitution of the DIAL_* templates (E.164 keeps its "+"). */
export function deviceDialString(templates: DialTemplates, sipUsername: string): string {
  return templates.device.split('{endpoint}').join(sipUsername);
}

export function externalDialString(templates: DialTemplates, e164: string): string {
  return templates.external.split('{number}').join(e164);
}

/** A number is blocked by a prefix list when it starts with any of the (E.164) prefixes. */
export function matchesAnyPrefix(prefixes: readonly string[] | undefined, number: string): boolean {
  if (!prefixes || number === '') return false;
  return prefixes.some((prefix) => prefix !== '' && number.startsWith(prefix));
}

export function ringSecondsOf(workplace: Workplace): number {
  return workplace.forwarding.noAnswer.ringSeconds || DEFAULT_RING_SECONDS;
}

/**
 * The legs that ring together: every device, then every parallel-ringing number — a number
 * marked "not while on a call" is left out while the workplace is on one, and a delayed number
 * starts ringing after its delay (never later than 5 s before the ring time ends).
 */
export function ringLegs(workplace: Workplace, templates: DialTemplates, onCall = false): RingLeg[] {
  const legs: RingLeg[] = workplace.devices.map((device) => ({
    kind: 'device',
    endpoint: deviceDialString(templates, device.sipUsername),
    deviceId: device.id,
  }));
  if (workplace.parallelRinging.enabled) {
    const ringSeconds = ringSecondsOf(workplace);
    for (const number of workplace.parallelRinging.numbers) {
      const options = workplace.parallelRinging.options?.[number];
      if (onCall && options?.notWhileOnCall) continue;
      const delaySeconds = Math.min(options?.delaySeconds ?? 0, Math.max(0, ringSeconds - 5));
      legs.push({
        kind: 'external',
        endpoint: externalDialString(templates, number),
        number,
        confirm: workplace.parallelRinging.answerConfirmation,
        ...(delaySeconds > 0 ? { delaySeconds } : {}),
      });
    }
  }
  return legs;
}

export interface PlanInput {
  workplace: Workplace;
  /** E.164 (or whatever the caller presented; empty for anonymous) */
  callerNumber: string;
  /** the effective profile: workplace's → group's → company default */
  blocking: BlockingProfile | undefined;
  templates: DialTemplates;
  /** closed hours and do-not-disturb at the call's instant (availabilityOf); unset: available */
  availability?: Availability;
  /** the workplace is on a call (live-call registry): numbers marked "not while on a call" stay quiet */
  onCall?: boolean;
}

const RELEASE_CAUSE: Record<RingFailure, number> = {
  busy: CAUSE.busy,
  noanswer: CAUSE.noAnswer,
  unreachable: CAUSE.subscriberAbsent,
};

/** The first step of an inbound call to a workplace. */
export function planInbound(input: PlanInput): CallStep {
  const { workplace, callerNumber, blocking, templates } = input;
  if (matchesAnyPrefix(blocking?.incoming, callerNumber)) {
    return { action: 'reject', cause: CAUSE.rejected, reason: 'incoming-blocked' };
  }
  const selective = selectiveRuleFor(workplace.selectiveForwarding, callerNumber);
  if (selective) {
    return forwardStep({ enabled: true, target: selective.rule.target }, 'selective', input);
  }
  const availability = input.availability;
  if (availability?.kind === 'closed') {
    return forwardStep({ enabled: true, target: availability.target }, 'closed', input);
  }
  if (workplace.forwarding.always.enabled) {
    return forwardStep(workplace.forwarding.always, 'always', input);
  }
  if (availability?.kind === 'do-not-disturb') {
    return voiceboxOrRelease(workplace, 'do-not-disturb', 'busy');
  }
  // Pending/failed workplaces have no devices in Asterisk: nothing can ring.
  const legs = workplace.status === 'active' ? ringLegs(workplace, templates, input.onCall) : [];
  if (legs.length === 0) return afterRingFailure('unreachable', input);
  return { action: 'ring', legs, ringSeconds: ringSecondsOf(workplace) };
}

/** What follows when every leg failed with the combined outcome `failure`. */
export function afterRingFailure(failure: RingFailure, input: PlanInput): CallStep {
  const rules = input.workplace.forwarding;
  const rule = failure === 'busy' ? rules.busy : failure === 'noanswer' ? rules.noAnswer : rules.unreachable;
  if (rule.enabled && rule.target) return forwardStep(rule, failure, input);
  return voiceboxOrRelease(input.workplace, failure, failure);
}

/** A forwarded call whose target failed ends like a plain call to that target. */
export function afterForwardFailure(failure: RingFailure): CallStep {
  return { action: 'release', cause: RELEASE_CAUSE[failure], reason: 'forward-failed' };
}

function forwardStep(rule: ForwardRule, reason: ForwardReason, input: PlanInput): CallStep {
  const { workplace, blocking, templates } = input;
  const fallbackFailure: RingFailure =
    reason === 'always' || reason === 'closed' || reason === 'selective' ? 'unreachable' : reason;
  const target = rule.target;
  if (target === undefined || target === 'voicebox') {
    return voiceboxOrRelease(workplace, reason, fallbackFailure);
  }
  if (matchesAnyPrefix(blocking?.forwarded, target.number)) {
    return voiceboxOrRelease(workplace, 'forward-target-blocked', fallbackFailure);
  }
  return {
    action: 'forward',
    leg: {
      kind: 'external',
      endpoint: externalDialString(templates, target.number),
      number: target.number,
      confirm: false,
    },
    ringSeconds: ringSecondsOf(workplace),
    reason,
  };
}

function voiceboxOrRelease(workplace: Workplace, reason: VoiceboxReason, failure: RingFailure): CallStep {
  if (workplace.voicebox.enabled) return { action: 'voicebox', reason };
  return {
    action: 'release',
    cause: RELEASE_CAUSE[failure],
    reason: reason === 'forward-target-blocked' || reason === 'do-not-disturb' ? reason : failure,
  };
}

/** How a single leg ended without winning. */
export type LegFailure = RingFailure;

/** Maps a hangup cause of a leg that never answered to what it means for the caller. */
export function legFailureOfCause(cause: number | undefined): LegFailure {
  switch (cause) {
    case CAUSE.busy:
    case CAUSE.rejected:
      return 'busy';
    case CAUSE.noAnswer:
    case 18: // no user responding
      return 'noanswer';
    default:
      return 'unreachable';
  }
}

/**
 * The outcome of ringing several legs at once, none of which won:
 * any leg that rang without answer → no answer (someone could have picked up);
 * otherwise any busy leg → busy; otherwise nothing was reachable.
 */
export function combineLegFailures(failures: readonly LegFailure[]): RingFailure {
  if (failures.includes('noanswer')) return 'noanswer';
  if (failures.includes('busy')) return 'busy';
  return 'unreachable';
}
