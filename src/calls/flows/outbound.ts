/**
 * A device calls out: a number that is not one of ours goes to the trunk with the
 * workplace's number as caller ID (or none when it presents anonymously), unless the
 * workplace's outgoing blocking profile forbids it.
 */
import type { Workplace } from '../../domain/model.js';
import { callThroughCallerId } from '../../domain/portal-auth.js';
import { CAUSE, externalDialString } from '../../domain/ring-plan.js';
import type { CallContext } from './context.js';
import { planOutbound } from '../decisions/outbound.js';
import { callVariables } from '../connected/live-calls.js';
import { promptMedia } from '../engine/prompts.js';
import type { CallSession, PresentedIdentity } from '../engine/session.js';

/** A workplace calling out (or through the portal) shows its number, or nothing when anonymous. */
export function presentedWorkplace(workplace: Workplace): Extract<PresentedIdentity, { kind: 'own' }> {
  return { kind: 'own', number: callThroughCallerId(workplace) };
}

/** How long an outgoing call may ring before it counts as not answered. */
export const OUTBOUND_RING_SECONDS = 120;

const RELEASE = { busy: CAUSE.busy, noanswer: CAUSE.noAnswer, unreachable: CAUSE.subscriberAbsent } as const;

export async function callOut(
  session: CallSession,
  ctx: CallContext,
  workplace: Workplace,
  e164: string,
  /** a special number (77 prefix): what the trunk is sent instead of e164 (checked for blocking) */
  dial?: string,
): Promise<void> {
  ctx.events?.emit(session, { type: 'outbound', workplace, to: e164 });
  const decision = await session.guard(planOutbound(workplace, e164, ctx.cache));
  if (decision.prompt) {
    session.log.info(
      { workplaceId: workplace.id, profile: decision.resolution.profile?.id },
      'outgoing call blocked',
    );
    ctx.events?.emit(session, { type: 'blocked', number: e164 });
    await session.answer();
    await session.play([promptMedia(decision.prompt)], { lang: workplace.language });
    await session.hangup();
    return;
  }
  await session.ringback();
  const result = await session.dialLegs(
    [{ endpoint: externalDialString({ device: '', external: ctx.config.DIAL_EXTERNAL }, dial ?? e164) }],
    {
      timeoutSeconds: OUTBOUND_RING_SECONDS,
      present: presentedWorkplace(workplace),
      variables: callVariables(session),
    },
  );
  if (result.kind !== 'answered') {
    session.log.info({ outcome: result.kind }, 'outgoing call not answered');
    ctx.events?.emit(session, { type: 'released', reason: result.kind });
    await session.hangup(RELEASE[result.kind]);
    return;
  }
  ctx.events?.emit(session, {
    type: 'answered',
    leg: { kind: 'external', endpoint: '', number: e164, confirm: false },
  });
  await ctx.live.connect(session, result.leg, {});
}
