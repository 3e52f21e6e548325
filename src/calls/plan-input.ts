/**
 * What the ring plan of a workplace decides on, gathered once for the flow and for routing
 * explain alike: the effective blocking profile (with the level it comes from) and the
 * workplace's availability at the call's instant (its schedule's opening hours, do-not-disturb)
 * and whether it is on a call (for the numbers that must not ring then).
 * Both consume the same PlanInput, so they cannot disagree about the hours.
 */
import { availabilityOf } from '../domain/availability.js';
import type { BlockingResolution } from '../domain/blocking.js';
import type { Workplace } from '../domain/model.js';
import type { DialTemplates, PlanInput } from '../domain/ring-plan.js';
import type { ConfigCache } from './config-cache.js';

export interface WorkplacePlan {
  input: PlanInput;
  resolution: BlockingResolution;
}

export async function workplacePlanInput(
  cache: Pick<ConfigCache, 'blockingResolutionFor' | 'schedule'>,
  templates: DialTemplates,
  workplace: Workplace,
  callerNumber: string,
  atMs: number,
  /** the workplace's answered call in the live-call registry, if any */
  liveCall: (workplaceId: string) => Promise<unknown>,
): Promise<WorkplacePlan> {
  // the registry is asked only when a number depends on it: a plain call does no I/O here
  // (blocking profile and schedule come from the cache)
  const askRegistry = Object.values(workplace.parallelRinging.options ?? {}).some((o) => o.notWhileOnCall);
  const [resolution, schedule, live] = await Promise.all([
    cache.blockingResolutionFor(workplace),
    cache.schedule(workplace.companyId, workplace.scheduleId),
    askRegistry && workplace.parallelRinging.enabled
      ? liveCall(workplace.id).catch(() => undefined)
      : Promise.resolve(undefined),
  ]);
  return {
    resolution,
    input: {
      workplace,
      callerNumber,
      blocking: resolution.profile,
      templates,
      availability: availabilityOf(workplace, schedule, atMs),
      onCall: live !== undefined,
    },
  };
}
