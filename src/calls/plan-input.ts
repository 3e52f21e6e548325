/**
 * What the ring plan of a workplace decides on, gathered once for the flow and for routing
 * explain alike: the effective blocking profile (with the level it comes from) and the
 * workplace's availability at the call's instant (its schedule's opening hours, do-not-disturb).
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
): Promise<WorkplacePlan> {
  // (both cached: a warm call does no I/O here)
  const [resolution, schedule] = await Promise.all([
    cache.blockingResolutionFor(workplace),
    cache.schedule(workplace.companyId, workplace.scheduleId),
  ]);
  return {
    resolution,
    input: {
      workplace,
      callerNumber,
      blocking: resolution.profile,
      templates,
      availability: availabilityOf(workplace, schedule, atMs),
    },
  };
}
