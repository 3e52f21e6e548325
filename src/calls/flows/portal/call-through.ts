/**
 * A call-through of the Anywhere portal keeps its fraud guard when it outlives its controller.
 *
 * The guard's ticket lives in the process that admitted the call-through (fraud-guard.ts); a
 * controller that re-adopts the answered call after a restart (adoption.ts) would know nothing
 * of it: no cut when the day's minutes run out — a compromised PIN, a premium destination and a
 * restart would make the call unlimited — the concurrency slot taken until its lease expires,
 * the talk time never counted. So the leg dialled to the destination carries the ticket as the
 * channel variable PBX_CT, set by the originate request that creates the leg (no request of its
 * own, as PBX_CALL in live-calls.ts), with the employee's workplace and the destination, which
 * make the re-adopted call's call-list line the one the portal would have written:
 *
 *   PBX_CT=<companyId>:<workplaceId>:<destination E.164>:<admitted, epoch ms>:<deadline, epoch ms>
 *
 * (the last two empty when the company switched the guard off). The deadline is absolute, so a
 * restart can never extend it.
 */
import type { Logger } from 'pino';
import type { Workplace } from '../../../domain/model.js';
import type { AnsweredCallResumer, CallContext } from '../context.js';
import type { Admission, CallThroughTicket } from './fraud-guard.js';
import type { CallSession } from '../../engine/session.js';

export const CALL_THROUGH_VARIABLE = 'PBX_CT';

/** What a call-through's leg tells a controller that takes the call over. */
export interface CallThroughLeg {
  companyId: string;
  /** the employee's workplace (the destination sees its office number) */
  workplaceId: string;
  /** the destination (E.164) */
  to: string;
  /** set when the fraud guard admitted it; absent when the company switched the guard off */
  guard?: {
    /** the ticket's startedAtMs: the day its talk time counts on */
    admittedAtMs: number;
    /**
     * by when it is over at the latest: admitted with `secondsLeft` of the day's minutes, it
     * could have answered at once. The process that dialled it cuts it `secondsLeft` after the
     * answer (later by the ringing); a successor cannot know the answer (Asterisk does not tell
     * it) and cuts it here: never later than the first process would have
     */
    deadlineMs: number;
  };
}

/** What the portal's call-through leg carries, from the guard's verdict. */
export function callThroughLeg(
  workplace: Pick<Workplace, 'id' | 'companyId'>,
  to: string,
  admission: Admission,
): CallThroughLeg {
  const leg = { companyId: workplace.companyId, workplaceId: workplace.id, to };
  if (admission.kind !== 'admitted') return leg;
  const admittedAtMs = admission.ticket.startedAtMs;
  return { ...leg, guard: { admittedAtMs, deadlineMs: admittedAtMs + admission.secondsLeft * 1000 } };
}

export function callThroughTag(leg: CallThroughLeg): string {
  const { guard } = leg;
  const times = guard ? [String(guard.admittedAtMs), String(guard.deadlineMs)] : ['', ''];
  return [leg.companyId, leg.workplaceId, leg.to, ...times].join(':');
}

const EPOCH_MS = /^\d{1,15}$/;

/** The leg's PBX_CT, when it is one this controller wrote (ids never hold a colon). */
export function parseCallThroughTag(tag: string | undefined): CallThroughLeg | undefined {
  const parts = tag?.split(':');
  if (parts?.length !== 5) return undefined;
  const [companyId, workplaceId, to, admitted, deadline] = parts as [string, string, string, string, string];
  if (!companyId || !workplaceId || !to) return undefined;
  const leg = { companyId, workplaceId, to };
  if (admitted === '' && deadline === '') return leg;
  if (!EPOCH_MS.test(admitted) || !EPOCH_MS.test(deadline)) return undefined;
  return { ...leg, guard: { admittedAtMs: Number(admitted), deadlineMs: Number(deadline) } };
}

/** The variables of a call-through's leg besides its call's (DialOptions.variables). */
export function callThroughVariables(leg: CallThroughLeg): Record<string, string> {
  return { [CALL_THROUGH_VARIABLE]: callThroughTag(leg) };
}

/** The guard's ticket of a call-through taken over: `callId` is its portal call (the remote party). */
export function ticketOf(callId: string, leg: CallThroughLeg): CallThroughTicket | undefined {
  if (!leg.guard) return undefined;
  return {
    callId,
    companyId: leg.companyId,
    workplaceId: leg.workplaceId,
    startedAtMs: leg.guard.admittedAtMs,
  };
}

/**
 * When a call-through taken over after a restart answered, as well as can be told: not before
 * its leg was created (Asterisk's creationtime, when it parses) nor before it was admitted, not
 * after now. Its talk time runs from here, so it includes the ringing: the day's minutes never
 * count less than was talked.
 */
export function adoptedAnswerMs(
  leg: CallThroughLeg,
  legCreatedMs: number | undefined,
  nowMs: number,
): number {
  const bounds = [leg.guard?.admittedAtMs, legCreatedMs].filter(
    (ms): ms is number => ms !== undefined && Number.isFinite(ms),
  );
  return bounds.length === 0 ? nowMs : Math.min(nowMs, Math.max(...bounds));
}

/** setTimeout's longest delay (a longer one fires at once): ~24.8 days */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Holds the connected call-through (`hold`) and hangs the caller up at `cut.atMs` (at once when
 * that has passed): the day's call-through minutes are a hard limit. The caller's hang-up
 * disarms it (session.signal); a session left to the next controller (detached) is that
 * controller's to cut. A deadline further off than a timer reaches (a company may allow up to
 * 1,440,000 minutes a day) is re-armed on the way, never fired early.
 */
export async function holdUntilCut(
  session: CallSession,
  cut: { atMs: number; log: Logger; fields: Record<string, unknown> } | undefined,
  hold: () => Promise<void>,
): Promise<void> {
  if (!cut) return hold();
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (session.isDetached) return;
    cut.log.info(cut.fields, 'call-through cut, minutes used up');
    session.hangup().catch(() => {});
  };
  const arm = () => {
    const left = Math.max(0, cut.atMs - Date.now());
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fire, left);
  };
  const disarm = () => clearTimeout(timer);
  arm();
  session.signal.addEventListener('abort', disarm, { once: true });
  try {
    await hold();
  } finally {
    disarm();
    session.signal.removeEventListener('abort', disarm);
  }
}

/**
 * A call-through taken over after a restart (adoption.ts): held like any re-adopted call, cut at
 * its original deadline, and settled with the guard when it ends — its slot freed, its talk time
 * since `answeredAtMs` counted on the day it was admitted.
 */
export async function resumeCallThrough(
  session: CallSession,
  ctx: CallContext,
  found: { peerChannelId: string; bridgeId: string },
  callThrough: { leg: CallThroughLeg; answeredAtMs: number },
): Promise<void> {
  const { leg, answeredAtMs } = callThrough;
  const ticket = ticketOf(session.channelId, leg);
  const cut = leg.guard && {
    atMs: leg.guard.deadlineMs,
    log: session.log,
    fields: { workplaceId: leg.workplaceId, deadline: new Date(leg.guard.deadlineMs).toISOString() },
  };
  try {
    await holdUntilCut(session, cut, () => ctx.live.resume(session, found));
  } finally {
    if (ticket) ctx.callThroughGuard?.end(ticket, (Date.now() - answeredAtMs) / 1000);
  }
}

/**
 * Adoption's resumer for call-throughs: an answered call of no workplace whose leg carries
 * PBX_CT (one request, on the cold path) is a call-through; it is resumed with its cut and
 * settled with the guard.
 */
export const callThroughResumer: AnsweredCallResumer = {
  feature: 'call-through',
  async claim(peer, peerVariable) {
    const leg = parseCallThroughTag(await peerVariable(CALL_THROUGH_VARIABLE));
    if (!leg) return undefined;
    const answeredAtMs = adoptedAnswerMs(leg, Date.parse(peer.creationtime ?? ''), Date.now());
    return {
      answeredAtMs,
      trace: { portalWorkplaceId: leg.workplaceId, callThroughTo: leg.to },
      details: { callThrough: leg },
      resume: (session, ctx, found) => resumeCallThrough(session, ctx, found, { leg, answeredAtMs }),
    };
  },
};
