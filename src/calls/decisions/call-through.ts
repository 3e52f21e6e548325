/**
 * The call-through decision (SPEC portal 3/4): where the digits an admitted caller keyed in go,
 * and whether they may. National / international numbers go out; short digit strings are
 * extensions of the company; a portal is not a destination; a number of the portal's own
 * company rings that workplace as an internal call does — another company's number is an
 * ordinary external number. The portal's blocking profile and the workplace's both apply
 * (the stricter wins). An external destination then meets the fraud guard: the call path asks
 * its atomic admission, routing explain previews it over the same usage view.
 */
import type { BlockingResolution } from '../../domain/blocking.js';
import { emergencyNumber } from '../../domain/emergency.js';
import {
  classifyDestination,
  effectiveCallThroughPolicy,
  limitReached,
  type CallThroughPolicy,
  type CallThroughUsage,
  type DestinationClass,
  type RefusalReason,
} from '../../domain/fraud.js';
import type { AnywherePortal, BlockingProfile, Workplace } from '../../domain/model.js';
import {
  callThroughCallerId,
  callThroughTarget,
  checkCallThrough,
  parseDestination,
  type CallThroughCheck,
} from '../../domain/portal-auth.js';
import type { CallThroughStatus } from '../../store/store.js';
import type { PromptId } from '../engine/prompts.js';
import type { CallLookups } from './lookups.js';

/** What the caller hears when the fraud guard refuses: not "number blocked" — it may pass later. */
export const GUARD_REFUSED_PROMPT: PromptId = 'call-through-refused';

export interface CallThroughBlocking {
  portalProfile: BlockingProfile | undefined;
  workplace: BlockingResolution;
  check: CallThroughCheck;
}

export type CallThroughDecision =
  /** 110/112 and the like: never through the business line (the centre would see the office) */
  | { kind: 'emergency'; prompt: PromptId }
  | { kind: 'invalid'; reason: string; prompt: PromptId }
  | { kind: 'blocked'; e164: string; blocking: CallThroughBlocking; prompt: PromptId }
  /** a workplace of the portal's company: its ring plan, showing the caller's office number */
  | {
      kind: 'internal';
      e164: string;
      workplace: Workplace;
      callerId: string | undefined;
      blocking: CallThroughBlocking;
    }
  /** out through the trunk, once the fraud guard admits it under `policy` */
  | {
      kind: 'external';
      e164: string;
      callerId: string | undefined;
      blocking: CallThroughBlocking;
      policy: CallThroughPolicy;
    };

export async function planCallThrough(
  portal: AnywherePortal,
  /** the admitted caller's workplace */
  workplace: Workplace,
  digits: string,
  lookups: Pick<
    CallLookups,
    'resolveNumber' | 'resolveExtension' | 'blockingProfile' | 'blockingResolutionFor' | 'company'
  >,
  countryCode: string,
): Promise<CallThroughDecision> {
  if (emergencyNumber(digits)) return { kind: 'emergency', prompt: 'emergency-dial-directly' };
  const destination = parseDestination(digits, countryCode);
  if (destination.kind === 'invalid')
    return { kind: 'invalid', reason: destination.reason, prompt: 'invalid-input' };
  const ours = await (destination.kind === 'extension'
    ? lookups.resolveExtension(portal.companyId, destination.extension)
    : lookups.resolveNumber(destination.e164));
  const target = callThroughTarget(destination, ours, portal.companyId);
  if (target.kind === 'invalid') return { kind: 'invalid', reason: target.reason, prompt: 'invalid-input' };
  const [portalProfile, resolution] = await Promise.all([
    lookups.blockingProfile(portal.companyId, portal.blockingProfileId),
    lookups.blockingResolutionFor(workplace),
  ]);
  const blocking: CallThroughBlocking = {
    portalProfile,
    workplace: resolution,
    check: checkCallThrough(target.e164, portalProfile, resolution.profile),
  };
  if (blocking.check.blocked)
    return { kind: 'blocked', e164: target.e164, blocking, prompt: 'number-blocked' };
  const callerId = callThroughCallerId(workplace);
  if (target.kind === 'internal') {
    return { kind: 'internal', e164: target.e164, workplace: target.workplace, callerId, blocking };
  }
  const company = await lookups.company(workplace.companyId);
  const policy = effectiveCallThroughPolicy(company?.callThroughPolicy);
  return { kind: 'external', e164: target.e164, callerId, blocking, policy };
}

export interface GuardPreview {
  enabled: boolean;
  destinationClass?: DestinationClass;
  country?: string;
  locked?: boolean;
  /** why it would refuse now (lock, class, or the limit the counters have reached) */
  refusal?: RefusalReason;
  usage?: CallThroughUsage;
}

/**
 * What the fraud guard's admission would answer over `status` (the usage view the next
 * admission sees): the same rules, in the same order, as the store's atomic admission.
 */
export function previewGuard(
  policy: CallThroughPolicy,
  e164: string,
  status: CallThroughStatus | undefined,
  countryCode: string,
): GuardPreview {
  if (!policy.enabled || !status) return { enabled: false };
  const destination = classifyDestination(e164, policy, countryCode);
  const refusal: RefusalReason | undefined = status.lock
    ? 'locked'
    : (destination.refusal ?? limitReached(policy, status.usage));
  return {
    enabled: true,
    destinationClass: destination.destinationClass,
    country: destination.country,
    locked: status.lock !== undefined,
    ...(refusal ? { refusal } : {}),
    usage: status.usage,
  };
}
