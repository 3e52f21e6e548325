/**
 * A call to a workplace, as the seeds describe it: a blocked caller is rejected; forward
 * always goes straight to the target; otherwise every device and every parallel-ringing
 * number rings at once and the first answer wins; when nobody takes it, forwarding on busy /
 * no answer / unreachable, the voicebox, or release — decided by the pure ring plan.
 */
import type { Workplace } from '../../domain/model.js';
import {
  afterForwardFailure,
  afterRingFailure,
  type CallStep,
  type RingLeg,
} from '../../domain/ring-plan.js';
import type { CallContext } from './context.js';
import { dialTemplates, planWorkplaceCall } from '../decisions/ring.js';
import { forwardCall } from './forwarding.js';
import { callVariables } from '../connected/live-calls.js';
import type { CallSession, PresentedIdentity } from '../engine/session.js';
import { depositMessage } from './voicebox.js';

/** How many plan steps a call may take (ring → forward → release at most; guards a loop). */
const MAX_STEPS = 4;

export async function callWorkplace(
  session: CallSession,
  ctx: CallContext,
  workplace: Workplace,
  /** E.164 when known, else what the caller presented ('' = anonymous) */
  callerNumber: string,
  /** what the rung devices and numbers see: the caller (default), or ours on a call-through */
  present: PresentedIdentity = { kind: 'caller' },
): Promise<void> {
  ctx.events?.emit(session, { type: 'target', workplace, callerNumber });
  const { input, first } = await session.guard(
    planWorkplaceCall(
      workplace,
      callerNumber,
      ctx.cache,
      dialTemplates(ctx.config),
      ctx.clock?.() ?? Date.now(),
      (id) => ctx.store.liveCalls.get(id),
    ),
  );
  let step: CallStep = first;
  for (let i = 0; i < MAX_STEPS; i++) {
    session.log.info({ workplaceId: workplace.id, step: describe(step) }, 'call step');
    switch (step.action) {
      case 'reject':
      case 'release':
        ctx.events?.emit(
          session,
          step.action === 'reject'
            ? { type: 'blocked', number: callerNumber }
            : { type: 'released', reason: step.reason },
        );
        await session.hangup(step.cause);
        return;
      case 'voicebox':
        ctx.events?.emit(session, { type: 'voicebox', reason: step.reason });
        await depositMessage(session, ctx, workplace, callerNumber);
        return;
      case 'forward': {
        const outcome = await forwardCall(session, ctx, step, present);
        if (outcome === 'connected') return;
        step = afterForwardFailure(outcome);
        break;
      }
      case 'ring': {
        ctx.events?.emit(session, { type: 'ringing', legs: step.legs });
        // the legs ring while the indication travels: one round trip less before they are called
        session.ringback().catch(() => {}); // a caller gone is noticed by dialLegs
        const result = await session.dialLegs<RingLeg>(step.legs, {
          timeoutSeconds: step.ringSeconds,
          present,
          lang: workplace.language,
          variables: callVariables(session, workplace.id),
        });
        if (result.kind === 'answered') {
          session.log.info({ endpoint: result.leg.spec.endpoint }, 'answered');
          ctx.events?.emit(session, { type: 'answered', leg: result.leg.spec });
          await ctx.live.connect(session, result.leg, { workplaceId: workplace.id });
          return;
        }
        session.log.info({ outcome: result.kind, causes: result.causes }, 'nobody answered');
        step = afterRingFailure(result.kind, input);
        break;
      }
    }
  }
  await session.hangup();
}

function describe(step: CallStep): string {
  switch (step.action) {
    case 'ring':
      return `ring ${step.legs.length} legs for ${step.ringSeconds}s`;
    case 'forward':
      return `forward (${step.reason})`;
    default:
      return `${step.action} (${step.reason})`;
  }
}
