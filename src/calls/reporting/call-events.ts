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
import type { AnywherePortal, CallTraceSnapshot, VoiceboxMessage, Workplace } from '../../domain/model.js';
import { PIN_LOCK_AFTER } from '../../domain/pin.js';
import type { RingLeg } from '../../domain/ring-plan.js';
import type { AnsweredBy, CallDirection, CallRecord, NewEvent } from '../../events/model.js';
import {
  buildRecords,
  portalRef,
  snapshotOf,
  traceOfSnapshot,
  workplaceRef,
  type CallTrace,
} from './call-records.js';
import type { CallThroughAlert } from './call-through-alerts.js';
import type { CallMetricsSink } from '../../metrics.js';

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
  /**
   * on the pulling session: it is moving the call whose caller channel is remoteChannelId; the
   * records of both wait for 'pulled' or 'pull.failed' (told even after the session ended)
   */
  | { type: 'pull.started'; workplaceId: string; remoteChannelId: string }
  /** on the pulling session: it took over the call (after the move succeeded) */
  | { type: 'pulled'; workplaceId: string; remoteChannelId: string }
  /** on the pulling session: the move failed or the call ended during it */
  | { type: 'pull.failed'; workplaceId: string; remoteChannelId: string }
  | { type: 'portal'; portal: AnywherePortal }
  /** the portal let the employee of this workplace in */
  | { type: 'portal.entered'; workplace: Workplace }
  /** the portal call calls through to this number (E.164) */
  | { type: 'call-through'; to: string }
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
  /**
   * The call's trace as its live-call registry entry carries it (live-calls.ts writes it with
   * the entry: no request of its own); undefined when the call has none. `pulledBy`: the entry
   * is written because the call was just moved to this channel (a pull) — saved as pulled,
   * which the trace itself learns only once the move is told over.
   */
  snapshot(session: TracedSession, opts?: { pulledBy?: string }): CallTraceSnapshot | undefined;
  /**
   * router: a call taken over after a restart carries on with the trace the earlier process
   * saved (or one rebuilt from Asterisk), so its end writes its records as that process would
   * have. Never replaces a trace this process holds; starts no set-up clock.
   */
  resume(session: TracedSession, snapshot: CallTraceSnapshot): void;
  /** in-process listeners (tests, notifications); returns an unsubscribe function */
  onEvent(listener: (event: NewEvent) => void): () => void;
  /** traces held now (calls running) */
  readonly size: number;
}

/**
 * A fraud-guard alert as public events: every alert is a `callthrough.alert` of the
 * workplace; the one that locks it is also a `callthrough.locked` (the state change, as
 * `pin.locked` is for a PIN; `callthrough.unlocked` comes from the API when an admin lifts it).
 */
export function callThroughAlertEvents(alert: CallThroughAlert): NewEvent[] {
  const at = { companyId: alert.companyId, workplaceId: alert.workplaceId, at: alert.at };
  const events: NewEvent[] = [
    {
      ...at,
      callId: alert.callId,
      type: 'callthrough.alert',
      kind: alert.kind,
      country: alert.country,
      destinationClass: alert.destinationClass,
      ...(alert.reason !== undefined ? { reason: alert.reason } : {}),
      ...(alert.limit !== undefined ? { limit: alert.limit } : {}),
      ...(alert.refusalsToday !== undefined ? { refusalsToday: alert.refusalsToday } : {}),
    },
  ];
  if (alert.kind === 'locked')
    events.push({ ...at, type: 'callthrough.locked', reason: alert.reason ?? 'locked' });
  return events;
}

const answeredByOf = (leg: RingLeg): AnsweredBy =>
  leg.kind === 'device' ? { kind: 'device', id: leg.deviceId } : { kind: 'number', id: leg.number };

export function createCallEvents(sinks: CallEventSinks): CallEvents {
  const traces = new Map<string, CallTrace>();
  /** calls over while a pull moved them (either side): recorded once the pull's outcome is known */
  const parked = new Map<string, { trace: CallTrace; endedMs: number; cause: number | undefined }>();
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
    const wp = trace.target ?? trace.caller ?? trace.portalWorkplace;
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
        trace.caller = workplaceRef(fact.workplace);
        return;
      case 'target':
        trace.target = workplaceRef(fact.workplace);
        trace.from = fact.callerNumber;
        trace.to = fact.workplace.number;
        return;
      case 'outbound':
        trace.caller = workplaceRef(fact.workplace);
        trace.from = fact.workplace.number;
        trace.to = fact.to;
        trace.outboundCall = true;
        setupDone(trace);
        return;
      case 'portal':
        trace.portal = portalRef(fact.portal);
        return;
      case 'portal.entered':
        trace.portalWorkplace = workplaceRef(fact.workplace);
        return;
      case 'call-through':
        trace.callThroughTo = fact.to;
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
        trace.portal = portalRef(fact.portal);
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
      case 'pull.started': {
        const original = traces.get(fact.remoteChannelId);
        if (original) original.pullPendingBy = trace.callId;
        trace.pulling = fact.remoteChannelId;
        return;
      }
      case 'pull.failed':
        release(fact.remoteChannelId);
        release(trace.callId);
        return;
      case 'pulled': {
        const original = traces.get(fact.remoteChannelId) ?? parked.get(fact.remoteChannelId)?.trace;
        if (original) original.pulledTo = pulledTo(trace);
        trace.portalPull = {
          workplaceId: fact.workplaceId,
          ...(original ? { with: original.caller && !original.target ? original.to : original.from } : {}),
        };
        // the talk on this channel starts now
        trace.answeredAt ??= now;
        release(fact.remoteChannelId);
        release(trace.callId);
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

  /** who took a pulled call over, as its record names it: the pulling caller's number */
  function pulledTo(pulling: CallTrace): string {
    return pulling.fromDialled || pulling.callId;
  }

  /** a pull is decided: the call (pulled or pulling) no longer waits; recorded now when over */
  function release(callId: string): void {
    const running = traces.get(callId);
    if (running) {
      delete running.pullPendingBy;
      delete running.pulling;
    }
    const p = parked.get(callId);
    if (!p) return;
    parked.delete(callId);
    delete p.trace.pullPendingBy;
    delete p.trace.pulling;
    finish(p.trace, p.endedMs, p.cause);
  }

  /** the call's records and its call.ended events (queued) */
  function finish(trace: CallTrace, endedMs: number, cause: number | undefined): void {
    try {
      const records = buildRecords(trace, endedMs, cause);
      // a portal call that got in stays 'portal' here (its workplace record says what it did)
      metrics?.callEnded?.(
        trace.kind,
        trace.portal && !trace.target && !trace.refused ? 'portal' : (records[0]?.outcome ?? 'other'),
      );
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
      // a pulling call may be over (parked) when the move's outcome is told
      const trace = traces.get(session.channelId) ?? parked.get(session.channelId)?.trace;
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
      const endedMs = Date.now();
      // ended while a pull moves it: whether it was pulled is known only when the move is over
      // (the move's promise always settles: pull.ts tells 'pulled' or 'pull.failed')
      if (trace.pullPendingBy !== undefined || trace.pulling !== undefined)
        parked.set(trace.callId, { trace, endedMs, cause });
      else finish(trace, endedMs, cause);
    },
    snapshot(session, opts) {
      const trace = traces.get(session.channelId);
      if (!trace) return undefined;
      const saved = snapshotOf(trace);
      if (opts?.pulledBy !== undefined) {
        const pulling = traces.get(opts.pulledBy) ?? parked.get(opts.pulledBy)?.trace;
        saved.pulledTo = pulling ? pulledTo(pulling) : opts.pulledBy;
      }
      return saved;
    },
    resume(session, snapshot) {
      // this process's own trace (the event socket came back) is the truer one
      if (traces.has(session.channelId) || parked.has(session.channelId)) return;
      traces.set(session.channelId, traceOfSnapshot(snapshot, performance.now()));
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
