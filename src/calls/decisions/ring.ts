/**
 * The decision of a call to a workplace: its effective blocking profile and the pure ring plan
 * (src/domain/ring-plan.ts) over it. The workplace flow walks the plan; routing explain
 * renders the same value with the branches that follow each outcome.
 */
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
  lookups: Pick<CallLookups, 'blockingResolutionFor'>,
  templates: DialTemplates,
): Promise<RingDecision> {
  const resolution = await lookups.blockingResolutionFor(workplace);
  return ringDecision({ workplace, callerNumber, templates }, resolution);
}
