/**
 * Call forwarding (Rufumleitung): the call goes to the target number with the ORIGINAL
 * caller shown; the target's busy / no answer ends the call like a plain call to it.
 * Blocked targets never get here: the ring plan already turned them into voicebox / release.
 */
import type { CallStep, RingFailure } from '../../domain/ring-plan.js';
import type { CallContext } from './context.js';
import { callVariables } from '../connected/live-calls.js';
import type { CallSession, PresentedIdentity } from '../engine/session.js';

type ForwardStep = Extract<CallStep, { action: 'forward' }>;

/** Dials the forward target; 'connected' once the call with it is over, else why it failed. */
export async function forwardCall(
  session: CallSession,
  ctx: CallContext,
  step: ForwardStep,
  present: PresentedIdentity,
): Promise<'connected' | RingFailure> {
  session.log.info({ reason: step.reason, target: step.leg.number }, 'forwarding');
  ctx.events?.emit(session, { type: 'forwarded', to: step.leg.number, reason: step.reason });
  await session.ringback();
  const result = await session.dialLegs([step.leg], {
    timeoutSeconds: step.ringSeconds,
    present,
    variables: callVariables(session),
  });
  if (result.kind !== 'answered') {
    session.log.info({ outcome: result.kind }, 'forward target did not take the call');
    return result.kind;
  }
  ctx.events?.emit(session, { type: 'answered', leg: step.leg });
  // a forwarded call is not the workplace's own call: not registered for *11
  await ctx.live.connect(session, result.leg, {});
  return 'connected';
}
