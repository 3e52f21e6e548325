/**
 * The decision of a device calling out: the workplace's effective profile blocks outgoing
 * prefixes (the caller hears "number blocked"); otherwise the number goes to the trunk showing
 * the workplace's number, or none when it presents anonymously.
 */
import { blockingPrefix, type BlockingResolution } from '../../domain/blocking.js';
import type { Workplace } from '../../domain/model.js';
import { callThroughCallerId } from '../../domain/portal-auth.js';
import type { PromptId } from '../engine/prompts.js';
import type { CallLookups } from './lookups.js';

export interface OutboundDecision {
  from: Workplace;
  e164: string;
  resolution: BlockingResolution;
  /** the outgoing prefix that blocks it (undefined: dialled) */
  blockedBy?: string;
  /** what the caller hears when it is blocked */
  prompt?: PromptId;
  /** the caller ID shown (undefined: anonymous) */
  callerId?: string;
}

export async function planOutbound(
  from: Workplace,
  e164: string,
  lookups: Pick<CallLookups, 'blockingResolutionFor'>,
): Promise<OutboundDecision> {
  const resolution = await lookups.blockingResolutionFor(from);
  const blockedBy = resolution.profile ? blockingPrefix(e164, resolution.profile.outgoing) : undefined;
  const callerId = callThroughCallerId(from);
  return {
    from,
    e164,
    resolution,
    ...(blockedBy !== undefined ? { blockedBy, prompt: 'number-blocked' as const } : {}),
    ...(callerId ? { callerId } : {}),
  };
}
