/**
 * From StasisStart to a flow. Only NEW inbound (trunk) and internal (device) channels are
 * routed; the legs the controller creates itself enter Stasis with args ['leg'] and are
 * handled by the session that created them.
 *
 * The decision: normalise the called number (COUNTRY_CODE), resolve it through the config
 * cache (one store lookup when cold, none when warm), then:
 *   voicebox access number → retrieval;  internal "*11" → pull the own call to this device;
 *   workplace → own number from own device: retrieval, else the workplace call;
 *   portal → the portal flow;  a device dialling a number that is not ours → out via the
 *   trunk (outgoing blocking applies);  unknown → hang up with cause 1 (unallocated).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { isNotFound } from '../../ari/index.js';
import type { CallTraceSnapshot, Workplace } from '../../domain/model.js';
import { CAUSE } from '../../domain/ring-plan.js';
import { CAUSE_CONGESTION, type Admission } from '../overload/admission.js';
import { CAUSE_TEMPORARY_FAILURE, isStoreAway } from '../engine/store-writes.js';
import type { CallContext, Flows } from './context.js';
import { planEntry, type EntryDecision } from '../decisions/entry.js';
import { pullCall } from './pull.js';
import { callOut } from './outbound.js';
import { callWorkplace } from './workplace.js';
import {
  CallSession,
  isCallEnded,
  type CallerChannel,
  type Ownership,
  type SessionDeps,
} from '../engine/session.js';
import { retrieveMessages } from './voicebox.js';
import { promptMedia } from '../engine/prompts.js';

export interface StasisStartEvent {
  type: 'StasisStart';
  /** when Asterisk raised the event (Asterisk's clock) */
  timestamp?: string;
  args?: string[];
  channel: CallerChannel & { accountcode?: string; creationtime?: string };
}

/**
 * How long Asterisk held the call before handing it to us (channel created → StasisStart),
 * both on Asterisk's clock so no clock skew enters; 0 when a timestamp is missing. Under
 * overload this is where the wait grows (Asterisk's own queues), invisible from our side alone.
 */
export function entryDelayMs(event: StasisStartEvent): number {
  const created = event.channel.creationtime ? Date.parse(event.channel.creationtime) : NaN;
  const raised = event.timestamp ? Date.parse(event.timestamp) : NaN;
  const delay = raised - created;
  return Number.isFinite(delay) && delay > 0 ? delay : 0;
}

export interface Router {
  onStasisStart(event: StasisStartEvent): void;
  /** sessions running now */
  readonly sessions: ReadonlyMap<string, CallSession>;
  /**
   * Runs `flow` on a new session for a channel this controller found in Asterisk without a
   * StasisStart (re-adoption after a restart or a lost event socket); undefined when a
   * session already has it. `trace`: the call's trace to carry on with (its record is written
   * when it ends); without it the call leaves no record.
   */
  adopt(
    channel: CallerChannel,
    kind: string,
    flow: (session: CallSession) => Promise<void>,
    trace?: CallTraceSnapshot,
  ): CallSession | undefined;
  /** resolves when every running call has finished (after hanging them up on stop) */
  drain(): Promise<void>;
  /**
   * Graceful shutdown: calls the next controller can re-adopt (answered, recording) are left
   * to Asterisk untouched; calls in set-up are hung up (they could not be resumed). Resolves
   * once the hung-up ones have finished.
   */
  handOver(): Promise<{ left: number; ended: number }>;
}

/**
 * Carries out an entry decision (decisions/entry.ts) on the session: the router decides
 * nothing of its own, so routing explain (which renders the same value) cannot drift from it.
 */
export async function carryOutEntry(
  session: CallSession,
  ctx: CallContext,
  flows: Flows,
  decision: EntryDecision,
  callerWorkplace: Workplace | undefined,
): Promise<void> {
  const { route, callerNumber } = decision;
  switch (route.kind) {
    case 'voicebox-access':
      if (!route.workplace) {
        session.log.info('voicebox access from an unknown caller');
        await session.answer();
        await session.play([promptMedia('access-denied')]);
        return session.hangup();
      }
      return retrieveMessages(session, ctx, route.workplace);
    case 'pull': {
      const result = await pullCall(session, ctx, route.workplace.id);
      if (result === 'no-call') {
        await session.answer();
        await session.play([promptMedia('no-running-call')], { lang: route.workplace.language });
        return session.hangup();
      }
      return session.untilEnded();
    }
    case 'outbound':
      return callOut(session, ctx, route.from, route.e164, route.dial);
    case 'unallocated':
      session.log.info({ exten: session.calledExten, reason: route.reason }, 'unallocated number');
      return session.hangup(CAUSE.unallocated);
    case 'portal':
      if (!flows.portal) {
        session.log.warn({ portalId: route.portal.id }, 'no portal flow configured');
        return session.hangup(CAUSE.unallocated);
      }
      return flows.portal(session, route.portal, ctx, { deviceWorkplace: callerWorkplace });
    case 'own-voicebox':
      return retrieveMessages(session, ctx, route.workplace);
    case 'workplace':
      return callWorkplace(session, ctx, route.workplace, callerNumber);
  }
}

export function createRouter(
  ctx: CallContext,
  deps: {
    ownership: Ownership & { has(id: string): boolean };
    flows: Flows;
    admission?: Admission;
    bridges?: SessionDeps['bridges'];
  },
): Router {
  const sessions = new Map<string, CallSession>();
  const running = new Set<Promise<void>>();
  const runs = new Map<CallSession, Promise<void>>();
  const log: Logger = ctx.logger;

  function onStasisStart(event: StasisStartEvent): void {
    const kind = event.args?.[0];
    if (kind !== 'inbound' && kind !== 'internal') return;
    const channel = event.channel;
    if (deps.ownership.has(channel.id) || sessions.has(channel.id)) return;
    const { admission } = deps;
    const entered = performance.now() - entryDelayMs(event);
    if (admission?.tryAdmit(kind === 'inbound', entered)) {
      // beyond capacity: refused at once, never queued (no session, one REST request)
      void ctx.ari.channels
        .hangup({ channelId: channel.id, reason_code: String(CAUSE_CONGESTION) })
        .catch(() => {});
      return;
    }
    let onSetUp: (() => void) | undefined;
    if (admission) onSetUp = () => admission.done(performance.now() - entered, entered);
    start(channel, kind, (session) => decide(session, kind, channel), onSetUp);
  }

  function start(
    channel: CallerChannel,
    kind: string,
    flow: (session: CallSession) => Promise<void>,
    onSetUp?: () => void,
    trace?: CallTraceSnapshot,
  ): CallSession | undefined {
    if (deps.ownership.has(channel.id) || sessions.has(channel.id)) {
      onSetUp?.();
      return undefined;
    }
    // the session routes the channel's events from here on, so no DTMF is lost while we look up
    const session = new CallSession(channel, {
      ari: ctx.ari,
      logger: ctx.logger,
      timing: ctx.timing,
      ownership: deps.ownership,
      bridges: deps.bridges,
      onSetUp,
    });
    sessions.set(channel.id, session);
    const run = runCall(session, kind, flow, trace).finally(() => {
      sessions.delete(channel.id);
      running.delete(run);
      runs.delete(session);
    });
    running.add(run);
    runs.set(session, run);
    return session;
  }

  async function runCall(
    session: CallSession,
    kind: string,
    flow: (session: CallSession) => Promise<void>,
    trace: CallTraceSnapshot | undefined,
  ): Promise<void> {
    session.log.info({ kind, from: session.callerNumber, to: session.calledExten }, 'call');
    // a new call starts its trace and set-up clock; a call taken over carries on with the trace
    // it had (its original start and answer), never a fresh one, and counts no set-up
    if (trace) ctx.events?.resume(session, trace);
    else if (kind === 'inbound' || kind === 'internal') ctx.events?.started(session, kind);
    let cause: number | undefined;
    try {
      await flow(session);
    } catch (err) {
      if (isStoreAway(err)) {
        // Redis is away and this call needed it: "temporary failure", the caller may retry
        cause = CAUSE_TEMPORARY_FAILURE;
        session.log.warn({ err }, 'call ended: the store is away');
      } else if (!isCallEnded(err)) session.log.error({ err }, 'call flow failed');
    } finally {
      await session.close(cause).catch((err: unknown) => session.log.warn({ err }, 'session close failed'));
      session.log.info('call over');
      ctx.events?.ended(session, session.hangupCause);
    }
  }

  async function decide(
    session: CallSession,
    kind: 'inbound' | 'internal',
    channel: StasisStartEvent['channel'],
  ): Promise<void> {
    const callerWorkplace = kind === 'internal' ? await deviceWorkplace(session, channel) : undefined;
    if (callerWorkplace) ctx.events?.emit(session, { type: 'caller', workplace: callerWorkplace });
    const decision = await session.guard(
      planEntry(
        { kind, exten: session.calledExten, presented: session.callerNumber, callerWorkplace },
        ctx.cache,
        { countryCode: ctx.config.COUNTRY_CODE, voiceboxAccessNumber: ctx.config.VOICEBOX_ACCESS_NUMBER },
      ),
    );
    return carryOutEntry(session, ctx, deps.flows, decision, callerWorkplace);
  }

  /**
   * The workplace of the calling device. Devices carry their workplace id as accountcode (see
   * src/devices/pjsip-objects.ts); when the channel does not show it, the endpoint's dynamic
   * configuration does (cached per endpoint).
   */
  async function deviceWorkplace(
    session: CallSession,
    channel: StasisStartEvent['channel'],
  ): Promise<Workplace | undefined> {
    let workplaceId = channel.accountcode || undefined;
    const endpoint = /^PJSIP\/(.+)-[0-9a-f]{8}$/.exec(channel.name ?? '')?.[1];
    if (!workplaceId && endpoint) {
      workplaceId = await session.guard(
        ctx.cache.endpointWorkplaceId(endpoint, async () => {
          try {
            const fields = await ctx.ari.asterisk.getObject({
              configClass: 'res_pjsip',
              objectType: 'endpoint',
              id: endpoint,
            });
            return fields.find((f) => f.attribute === 'accountcode')?.value || undefined;
          } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
          }
        }),
      );
    }
    if (!workplaceId) {
      session.log.info({ endpoint }, 'internal call from an unknown device');
      return undefined;
    }
    return session.guard(ctx.cache.workplace(workplaceId));
  }

  async function drain(): Promise<void> {
    // a session whose hang-up cannot be sent (Asterisk gone) is given up all the same
    await Promise.all(
      [...sessions.values()].map((s) =>
        s
          .hangup()
          .catch(() => {})
          .finally(() => s.channelGone()),
      ),
    );
    await Promise.allSettled([...running]);
  }

  async function handOver(): Promise<{ left: number; ended: number }> {
    const ending: Array<Promise<unknown>> = [];
    let left = 0;
    for (const session of sessions.values()) {
      if (session.keepOnHandOver) {
        session.detach();
        left += 1;
      } else {
        const run = runs.get(session);
        ending.push(
          session
            .hangup()
            .catch(() => {})
            .finally(() => session.channelGone())
            // the flow releases its legs and bridges on the way out
            .then(() => run),
        );
      }
    }
    await Promise.all(ending);
    return { left, ended: ending.length };
  }

  log.debug('router ready');
  return {
    onStasisStart,
    sessions,
    drain,
    handOver,
    adopt: (channel, kind, flow, trace) => start(channel, kind, flow, undefined, trace),
  };
}
