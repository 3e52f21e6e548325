/**
 * The in-process call-event bus. Flows tell it what happens to a call, in one line at the
 * point where it happens (`ctx.events?.emit(session, { type: 'ringing', legs })`); the bus
 * keeps a small trace per running call in memory, turns facts into public events (queued,
 * published through Redis in batches) and, when the router reports the call over, builds
 * the call-list records (./call-records.ts) and queues them too. Nothing here awaits I/O:
 * a call's set-up path gains no Redis round trip.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AnywherePortal, VoiceboxMessage, Workplace } from '../domain/model.js';
import { PIN_LOCK_AFTER } from '../domain/pin.js';
import type { RingLeg } from '../domain/ring-plan.js';
import type { AnsweredBy, CallDirection, CallOutcome, CallRecord, NewEvent } from '../events/model.js';
import { buildRecords, type CallTrace } from './call-records.js';

/** What a flow reports. */
export type CallFact =
  /** router: an internal call from this workplace's device */
  | { type: 'caller'; workplace: Workplace }
  /** a call reaches a workplace (callWorkplace) */
  | { type: 'target'; workplace: Workplace; callerNumber: string }
  /** a device calls out through the trunk */
  | { type: 'outbound'; workplace: Workplace; to: string }
  | { type: 'ringing'; legs: readonly RingLeg[] }
  | { type: 'answered'; leg: RingLeg }
  | { type: 'forwarded'; to: string; reason: string }
  | { type: 'voicebox'; reason: string }
  | { type: 'message'; message: VoiceboxMessage }
  | { type: 'released'; reason: string }
  | { type: 'blocked'; number: string }
  /** on the pulling session: it took over the call whose caller channel is remoteChannelId */
  | { type: 'pulled'; workplaceId: string; remoteChannelId: string }
  | { type: 'portal'; portal: AnywherePortal }
  | { type: 'refused'; portal: AnywherePortal; reason: string }
  /** a wrong PIN; `failures` = the stored count including this one */
  | {
      type: 'pin.wrong';
      companyId: string;
      workplaceId: string;
      failures: number;
      where: 'voicebox' | 'portal';
    };

/** The session as the bus needs it (CallSession satisfies it). */
export interface TracedSession {
  readonly channelId: string;
  readonly callerNumber: string;
  readonly calledExten: string;
}

/** Counters the bus feeds (src/metrics.ts implements them); all optional. */
export interface CallMetricsSink {
  setupSeconds?(seconds: number): void;
  /** outcome 'portal': a portal call that got in; 'other': no workplace's call (voicebox retrieval, *11 from a desk, unknown number) */
  callEnded?(kind: 'inbound' | 'internal', outcome: CallOutcome | 'portal' | 'other'): void;
  pinFailure?(where: 'voicebox' | 'portal'): void;
  pinLockout?(where: 'voicebox' | 'portal'): void;
  refused?(reason: 'blocked' | 'portal'): void;
}

export interface CallEventSinks {
  publish(event: NewEvent): void;
  records(records: CallRecord[]): void;
  metrics?: CallMetricsSink;
  logger: Logger;
}

export interface CallEvents {
  /** router: a call entered (starts its trace and the set-up clock) */
  started(session: TracedSession, kind: 'inbound' | 'internal'): void;
  emit(session: TracedSession, fact: CallFact): void;
  /** router: the call is over (after the session closed) */
  ended(session: TracedSession, cause: number | undefined): void;
  /** in-process listeners (tests, notifications); returns an unsubscribe function */
  onEvent(listener: (event: NewEvent) => void): () => void;
  /** traces held now (calls running) */
  readonly size: number;
}

const answeredByOf = (leg: RingLeg): AnsweredBy =>
  leg.kind === 'device' ? { kind: 'device', id: leg.deviceId } : { kind: 'number', id: leg.number };

export function createCallEvents(sinks: CallEventSinks): CallEvents {
  const traces = new Map<string, CallTrace>();
  const listeners = new Set<(event: NewEvent) => void>();
  const { metrics } = sinks;

  function publish(event: NewEvent): void {
    sinks.publish(event);
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        sinks.logger.warn({ err }, 'call event listener failed');
      }
    }
  }

  function setupDone(trace: CallTrace): void {
    if (trace.setupObserved) return;
    trace.setupObserved = true;
    metrics?.setupSeconds?.((performance.now() - trace.t0) / 1000);
  }

  /** company / workplace / call of the trace's main side, for its events */
  function where(trace: CallTrace): { companyId: string; workplaceId?: string; callId: string } | undefined {
    const wp = trace.target ?? trace.caller;
    if (wp) return { companyId: wp.companyId, workplaceId: wp.id, callId: trace.callId };
    if (trace.portal) return { companyId: trace.portal.companyId, callId: trace.callId };
    return undefined;
  }

  function direction(trace: CallTrace): CallDirection {
    if (trace.caller) return trace.target ? 'internal' : 'outbound';
    return 'inbound';
  }

  function apply(trace: CallTrace, fact: CallFact): void {
    const now = new Date().toISOString();
    switch (fact.type) {
      case 'caller':
        trace.caller = fact.workplace;
        return;
      case 'target':
        trace.target = fact.workplace;
        trace.from = fact.callerNumber;
        trace.to = fact.workplace.number;
        return;
      case 'outbound':
        trace.caller = fact.workplace;
        trace.from = fact.workplace.number;
        trace.to = fact.to;
        trace.outboundCall = true;
        setupDone(trace);
        return;
      case 'portal':
        trace.portal = fact.portal;
        return;
      case 'ringing': {
        setupDone(trace);
        const at = where(trace);
        if (!at) return;
        publish({
          ...at,
          type: 'call.ringing',
          direction: direction(trace),
          from: trace.from,
          to: trace.to,
          ringing: fact.legs.map(answeredByOf),
        });
        return;
      }
      case 'answered': {
        const by = answeredByOf(fact.leg);
        trace.answeredAt ??= now;
        trace.answeredBy ??= by;
        if (trace.forwardedTo !== undefined && by.kind === 'number' && by.id === trace.forwardedTo)
          trace.forwardConnected = true;
        const at = where(trace);
        if (at) publish({ ...at, type: 'call.answered', answeredBy: by });
        return;
      }
      case 'forwarded': {
        setupDone(trace);
        trace.forwardedTo = fact.to;
        const at = where(trace);
        if (at) publish({ ...at, type: 'call.forwarded', to: fact.to, reason: fact.reason });
        return;
      }
      case 'voicebox': {
        setupDone(trace);
        trace.voicebox = true;
        const at = where(trace);
        if (at) publish({ ...at, type: 'call.voicebox', reason: fact.reason });
        return;
      }
      case 'message': {
        const m = fact.message;
        publish({
          companyId: m.companyId,
          workplaceId: m.workplaceId,
          callId: trace.callId,
          type: 'voicebox.message',
          messageId: m.id,
          durationSeconds: m.durationSeconds,
          from: m.callerNumber,
        });
        return;
      }
      case 'released':
        setupDone(trace);
        if (fact.reason === 'busy') trace.busy = true;
        return;
      case 'blocked': {
        setupDone(trace);
        trace.blocked = true;
        metrics?.refused?.('blocked');
        const at = where(trace);
        if (at) publish({ ...at, type: 'call.blocked', direction: direction(trace), number: fact.number });
        return;
      }
      case 'refused':
        setupDone(trace);
        trace.portal = fact.portal;
        trace.refused = true;
        metrics?.refused?.('portal');
        publish({
          companyId: fact.portal.companyId,
          callId: trace.callId,
          type: 'portal.refused',
          portalId: fact.portal.id,
          from: trace.fromDialled,
          reason: fact.reason,
        });
        return;
      case 'pulled': {
        const original = traces.get(fact.remoteChannelId);
        if (original) original.pulledTo = trace.fromDialled || trace.callId;
        const wp = original?.target ?? original?.caller;
        publish({
          companyId: wp?.companyId ?? trace.portal?.companyId ?? trace.caller?.companyId ?? '',
          workplaceId: fact.workplaceId,
          callId: fact.remoteChannelId,
          type: 'call.pulled',
          to: trace.fromDialled,
        });
        return;
      }
      case 'pin.wrong':
        metrics?.pinFailure?.(fact.where);
        if (fact.failures === PIN_LOCK_AFTER) {
          metrics?.pinLockout?.(fact.where);
          publish({
            companyId: fact.companyId,
            workplaceId: fact.workplaceId,
            type: 'pin.locked',
            where: fact.where,
          });
        }
        return;
    }
  }

  return {
    started(session, kind) {
      traces.set(session.channelId, {
        callId: session.channelId,
        kind,
        startedMs: Date.now(),
        t0: performance.now(),
        fromDialled: session.callerNumber,
        toDialled: session.calledExten,
        from: session.callerNumber,
        to: session.calledExten,
        setupObserved: false,
      });
    },
    emit(session, fact) {
      const trace = traces.get(session.channelId);
      if (!trace) return;
      try {
        apply(trace, fact);
      } catch (err) {
        sinks.logger.warn({ err, fact: fact.type }, 'call event failed');
      }
    },
    ended(session, cause) {
      const trace = traces.get(session.channelId);
      if (!trace) return;
      traces.delete(session.channelId);
      try {
        const endedMs = Date.now();
        const records = buildRecords(trace, endedMs, cause);
        metrics?.callEnded?.(trace.kind, records[0]?.outcome ?? (trace.portal ? 'portal' : 'other'));
        if (records.length === 0) return;
        sinks.records(records);
        for (const r of records) {
          if (r.portalId && !r.workplaceId && !trace.refused) continue;
          publish({
            companyId: r.companyId,
            ...(r.workplaceId ? { workplaceId: r.workplaceId } : {}),
            callId: r.id,
            type: 'call.ended',
            direction: r.direction,
            outcome: r.outcome,
            ...(cause !== undefined ? { cause } : {}),
            durationSeconds: r.durationSeconds,
          });
        }
      } catch (err) {
        sinks.logger.warn({ err }, 'call record failed');
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get size() {
      return traces.size;
    },
  };
}
