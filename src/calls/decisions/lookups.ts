/**
 * What the planners may ask about the world: a narrow, read-only view of the configuration
 * (the controller's config cache, the store's parallel-number index) and of the call-through
 * counters. The call path and routing explain hand the planners the same kind of view, so a
 * decision cannot depend on which of the two asked.
 */
import type { BlockingResolution } from '../../domain/blocking.js';
import type { BlockingProfile, Company, Schedule, Workplace } from '../../domain/model.js';
import type { RoutingTarget } from '../../domain/routing.js';
import type { Store } from '../../store/store.js';

export interface CallLookups {
  /** a dialled E.164 number → its workplace or portal, any company (the platform's number index) */
  resolveNumber(e164: string): Promise<RoutingTarget>;
  /** an internal extension within a company → its workplace or portal */
  resolveExtension(companyId: string, extension: string): Promise<RoutingTarget>;
  /** the workplaces listing the number under parallel ringing (any company) */
  byParallelNumber(e164: string): Promise<Workplace[]>;
  /** the workplace's effective blocking profile and the level it comes from */
  blockingResolutionFor(
    owner: Pick<Workplace, 'companyId' | 'groupId' | 'blockingProfileId'>,
  ): Promise<BlockingResolution>;
  blockingProfile(companyId: string, id: string | undefined): Promise<BlockingProfile | undefined>;
  company(id: string): Promise<Company | undefined>;
  /** the schedule a workplace names (undefined: it names none, or it is gone) */
  schedule(companyId: string, id: string | undefined): Promise<Schedule | undefined>;
}

/**
 * The call-through counters as the next admission will see them. The controller's fraud guard
 * settles ended call-throughs lazily (with the next admission); its view includes those, so a
 * reader of the store alone would count an ended call-through as still running.
 */
export type CallThroughUsageView = Pick<Store['callThroughs'], 'usage'>;

/** The number a target belongs to, for tenant checks. */
export function targetCompany(target: RoutingTarget): string | undefined {
  if (!target) return undefined;
  return target.kind === 'workplace' ? target.workplace.companyId : target.portal.companyId;
}

/** Only what belongs to `companyId`: another company's numbers are, to it, numbers that are not ours. */
export function ownTarget(target: RoutingTarget, companyId: string): RoutingTarget {
  return targetCompany(target) === companyId ? target : undefined;
}

/**
 * The lookups as one company sees the platform (routing explain): another company's numbers
 * are numbers that are not ours, so an explanation can never show another company's
 * configuration, nor tell its numbers from free ones.
 */
export function companyView(lookups: CallLookups, companyId: string): CallLookups {
  return {
    resolveNumber: async (e164) => ownTarget(await lookups.resolveNumber(e164), companyId),
    resolveExtension: async (cid, extension) =>
      ownTarget(await lookups.resolveExtension(cid, extension), companyId),
    byParallelNumber: (e164) => lookups.byParallelNumber(e164),
    blockingResolutionFor: (owner) => lookups.blockingResolutionFor(owner),
    blockingProfile: (cid, id) => lookups.blockingProfile(cid, id),
    company: (id) => lookups.company(id),
    schedule: (cid, id) => lookups.schedule(cid, id),
  };
}
