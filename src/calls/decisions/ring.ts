/**
 * The decision of a call to a workplace: what its ring plan decides on, gathered once — the
 * effective blocking profile (with the level it comes from), the workplace's availability at
 * the call's instant (its schedule's opening hours, do-not-disturb) and whether it is on a call
 * (for the numbers that must not ring then) — and the pure ring plan
 * (src/domain/ring-plan.ts) over it. The workplace flow walks the plan; routing explain renders
 * the same value with the branches that follow each outcome, so they cannot disagree about the
 * hours.
 */
import { availabilityOf } from '../../domain/availability.js';
import type { BlockingResolution } from '../../domain/blocking.js';
import type { Workplace } from '../../domain/model.js';
import { planInbound, type CallStep, type DialTemplates, type PlanInput } from '../../domain/ring-plan.js';
import type { CallLookups } from './lookups.js';

/** SPEC call behaviour 5: the longest voicebox message (the voicebox step records up to it). */
export const VOICEBOX_MAX_SECONDS = 180;

export interface RingDecision {
  /** what the plan's later steps (afterRingFailure) are decided over */
  input: PlanInput;
  resolution: Pick<BlockingResolution, 'profile' | 'level' | 'dangling'>;
  first: CallStep;
}

/** The ring plan over a known blocking resolution (pure). */
export function ringDecision(
  input: Omit<PlanInput, 'blocking'>,
  resolution: RingDecision['resolution'],
): RingDecision {
  const full: PlanInput = { ...input, blocking: resolution.profile };
  return { input: full, resolution, first: planInbound(full) };
}

/** The dial strings of the controller's configuration. */
export function dialTemplates(config: { DIAL_DEVICE: string; DIAL_EXTERNAL: string }): DialTemplates {
  return { device: config.DIAL_DEVICE, external: config.DIAL_EXTERNAL };
}

export async function planWorkplaceCall(
  workplace: Workplace,
  /** E.164 when known, else what the caller presented ('' = anonymous) */
  callerNumber: string,
  lookups: Pick<CallLookups, 'blockingResolutionFor' | 'schedule'>,
  templates: DialTemplates,
  /** the call's instant: opening hours are decided by it */
  atMs: number,
  /** the workplace's answered call in the live-call registry, if any */
  liveCall: (workplaceId: string) => Promise<unknown>,
): Promise<RingDecision> {
  // the registry is asked only when a number depends on it: a plain call does no I/O here
  // (blocking profile and schedule come from the cache)
  const askRegistry = Object.values(workplace.parallelRinging.options ?? {}).some((o) => o.notWhileOnCall);
  const [resolution, schedule, live] = await Promise.all([
    lookups.blockingResolutionFor(workplace),
    lookups.schedule(workplace.companyId, workplace.scheduleId),
    askRegistry && workplace.parallelRinging.enabled
      ? liveCall(workplace.id).catch(() => undefined)
      : Promise.resolve(undefined),
  ]);
  return ringDecision(
    {
      workplace,
      callerNumber,
      templates,
      availability: availabilityOf(workplace, schedule, atMs),
      onCall: live !== undefined,
    },
    resolution,
  );
}
