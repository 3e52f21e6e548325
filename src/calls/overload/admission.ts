/**
 * Admission control: the controller knows how much call set-up it can carry and refuses a new
 * call at once (hang-up cause 34, congestion — the caller's network may retry or announce it)
 * instead of queueing it behind the others until every call is late.
 *
 * A new call is refused while any of these is over its limit:
 * - set-ups in flight: calls between StasisStart and the end of their set-up (the caller
 *   answered, or every leg dialled, or the call over);
 * - ARI REST latency: a moving average over the controller's own REST requests;
 * - event-loop delay: the mean delay over the last 0.5 s (one long pause alone does not trip it).
 * Latency and delay are sampled off the call path; the check itself is a few comparisons.
 * Refusals are counted (`stats()`, for metrics and the bench) and logged at most every 5 s.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CallAri } from '../engine/session.js';

export interface AdmissionLimits {
  /** set-ups in flight at most (0 = no limit) */
  maxSetups: number;
  /** refuse while the moving average of ARI REST latency is above this (ms; 0 = no limit) */
  maxRestLatencyMs: number;
  /** refuse while the event loop's mean delay over the last 0.5 s is above this (ms; 0 = no limit) */
  maxEventLoopDelayMs: number;
}

export type RefusalReason = 'setups' | 'rest-latency' | 'event-loop' | 'flood';

/**
 * What happened to new calls since the last `takeWindow()` — the dialplan gate's input
 * (shedding.ts): calls that reached the controller, how many it refused, and how long the
 * admitted ones took from their channel's creation in Asterisk to the end of their set-up.
 */
export interface AdmissionWindow {
  /** how long the window was open (ms) */
  durationMs: number;
  reached: number;
  /** of them, calls from the trunk: they passed the dialplan gate (devices' calls never meet it) */
  fromTrunk: number;
  /** of them, trunk calls refused as a flood beyond the gate's limit (not for slowness: see tryAdmit) */
  refusedFlood: number;
  /**
   * first → last of those trunk calls (ms): the rate of a burst that began within the window
   * is its calls over this span, not over the whole window
   */
  trunkSpanMs: number;
  refused: number;
  /** the most set-ups in flight at once during the window */
  peakInFlight: number;
  /** ARI REST latency (moving average, ms) at the window's end */
  restLatencyMs: number;
  /** channel created → set-up over, of the admitted calls whose set-up ended in the window */
  setupMs: number[];
  /**
   * how long the oldest set-up still in flight at the window's end has been going (ms; 0 for
   * none): a window in which set-ups stall completes none, and its `setupMs` says nothing
   */
  oldestInFlightMs: number;
}

export interface AdmissionStats {
  admitted: number;
  refused: number;
  refusedBy: Record<RefusalReason, number>;
  setupsInFlight: number;
  restLatencyMs: number;
  eventLoopDelayMs: number;
}

/** Q.850 cause 34: no circuit/channel available (congestion) */
export const CAUSE_CONGESTION = 34;

const LOG_EVERY_MS = 5000;
const SAMPLE_EVERY_MS = 500;
/** weight of the newest REST sample in the moving average */
const EWMA_ALPHA = 0.05;
/** set-up samples kept per window (a window is a fraction of a second; more adds nothing) */
const MAX_WINDOW_SAMPLES = 2000;

export class Admission {
  private inFlight = 0;
  /** when each set-up in flight entered (performance.now()), as far as told */
  private readonly entered: number[] = [];
  private admitted = 0;
  private refused = 0;
  private readonly refusedBy: Record<RefusalReason, number> = {
    setups: 0,
    'rest-latency': 0,
    'event-loop': 0,
    flood: 0,
  };
  /** the dialplan gate's limit on trunk calls, as a token bucket (none while the gate is off) */
  private flood: { perSecond: number; depth: number; tokens: number; at: number } | undefined;
  private restLatencyMs = 0;
  private eventLoopDelayMs = 0;
  private refusedSinceLog = 0;
  private window = {
    reached: 0,
    fromTrunk: 0,
    refused: 0,
    refusedFlood: 0,
    peakInFlight: 0,
    setupMs: [] as number[],
  };
  private firstTrunkAt = 0;
  private lastTrunkAt = 0;
  private windowStarted = performance.now();
  /** calls reaching us in one window, or set-ups in flight at once, at which `onBurst` runs */
  private burstThreshold = Infinity;
  private burstInFlight = Infinity;
  private onBurst: (() => void) | undefined;
  private lastLog = 0;
  private readonly histogram: IntervalHistogram | undefined;
  private readonly sampler: NodeJS.Timeout | undefined;

  constructor(
    readonly limits: AdmissionLimits,
    private readonly logger: Logger,
  ) {
    if (limits.maxEventLoopDelayMs > 0) {
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
      this.sampler = setInterval(() => {
        this.eventLoopDelayMs = this.histogram!.count > 0 ? this.histogram!.mean / 1e6 : 0;
        this.histogram!.reset();
      }, SAMPLE_EVERY_MS);
      this.sampler.unref();
    }
  }

  /**
   * A new call (`fromTrunk`: it came through the dialplan gate): undefined when admitted — then `done` must be called once its set-up is over —
   * else why it is refused. A trunk call beyond the gate's limit (`limitTrunk`) is refused as a
   * flood before any other check. `enteredAt` (performance.now() of its channel's creation) lets
   * the gate see how long the oldest set-up in flight has been going.
   */
  tryAdmit(fromTrunk = true, enteredAt?: number): RefusalReason | undefined {
    const { maxSetups, maxRestLatencyMs, maxEventLoopDelayMs } = this.limits;
    this.window.reached += 1;
    if (fromTrunk) {
      this.lastTrunkAt = performance.now();
      if (this.window.fromTrunk === 0) this.firstTrunkAt = this.lastTrunkAt;
      this.window.fromTrunk += 1;
    }
    if (this.window.reached === this.burstThreshold) this.onBurst?.();
    let reason: RefusalReason | undefined;
    if (fromTrunk && this.floods(this.lastTrunkAt)) reason = 'flood';
    else if (maxSetups > 0 && this.inFlight >= maxSetups) reason = 'setups';
    else if (maxRestLatencyMs > 0 && this.restLatencyMs > maxRestLatencyMs) reason = 'rest-latency';
    else if (maxEventLoopDelayMs > 0 && this.eventLoopDelayMs > maxEventLoopDelayMs) reason = 'event-loop';
    if (reason) {
      this.refused += 1;
      this.refusedBy[reason] += 1;
      if (reason === 'flood') this.window.refusedFlood += 1;
      else this.window.refused += 1;
      this.refusedSinceLog += 1;
      const now = Date.now();
      if (now - this.lastLog >= LOG_EVERY_MS) {
        this.logger.warn(
          { reason, refusedSinceLastLog: this.refusedSinceLog, ...this.stats() },
          'overload: new calls refused (cause 34)',
        );
        this.lastLog = now;
        this.refusedSinceLog = 0;
      }
      return reason;
    }
    this.inFlight += 1;
    if (enteredAt !== undefined) this.entered.push(enteredAt);
    if (this.inFlight > this.window.peakInFlight) {
      this.window.peakInFlight = this.inFlight;
      if (this.inFlight === this.burstInFlight) this.onBurst?.();
    }
    this.admitted += 1;
    return undefined;
  }

  /**
   * The set-up of an admitted call is over (call once per admitted call); `setupMs`: how long
   * it took since Asterisk created the channel, when known; `enteredAt`: as given to tryAdmit.
   */
  done(setupMs?: number, enteredAt?: number): void {
    if (this.inFlight > 0) this.inFlight -= 1;
    if (enteredAt !== undefined) {
      // (a few dozen at most: admission's own limit keeps the list short)
      const i = this.entered.indexOf(enteredAt);
      if (i >= 0) this.entered.splice(i, 1);
    }
    if (setupMs !== undefined && this.window.setupMs.length < MAX_WINDOW_SAMPLES)
      this.window.setupMs.push(setupMs);
  }

  /** the window since the last call, and a fresh one from now on */
  takeWindow(): AdmissionWindow {
    const now = performance.now();
    let oldest = now;
    for (const at of this.entered) if (at < oldest) oldest = at;
    const w = {
      durationMs: now - this.windowStarted,
      restLatencyMs: this.restLatencyMs,
      oldestInFlightMs: now - oldest,
      trunkSpanMs: this.window.fromTrunk ? this.lastTrunkAt - this.firstTrunkAt : 0,
      ...this.window,
    };
    this.window = {
      reached: 0,
      fromTrunk: 0,
      refused: 0,
      refusedFlood: 0,
      peakInFlight: this.inFlight,
      setupMs: [],
    };
    this.windowStarted = now;
    return w;
  }

  /**
   * Runs `onBurst` (synchronously, on the call path: keep it cheap) when the `threshold`-th
   * call of a window reaches us, or `inFlight` set-ups are in flight at once for the first time
   * in the window — the dialplan gate then decides at once instead of at the end of its tick.
   */
  watchBursts(threshold: number, onBurst: () => void, inFlight = Infinity): void {
    this.burstThreshold = Math.max(1, Math.ceil(threshold));
    this.burstInFlight = Math.max(1, Math.ceil(inFlight));
    this.onBurst = onBurst;
  }

  /**
   * The dialplan gate's limit, enforced here too for the calls that passed it: a clump of calls
   * (Asterisk hands over what it held during a stall at once, or a flood arrives before the
   * gate's share reaches Asterisk) beyond `depth` calls ahead of `perSecond` is refused at once
   * — a refusal costs Asterisk a REST request, an admitted call ten times that. `perSecond` 0:
   * no limit.
   */
  limitTrunk(perSecond: number, depth: number): void {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) {
      this.flood = undefined;
      return;
    }
    const now = performance.now();
    if (!this.flood) this.flood = { perSecond, depth, tokens: depth, at: now };
    else {
      this.refill(now);
      this.flood.perSecond = perSecond;
      this.flood.depth = depth;
      this.flood.tokens = Math.min(this.flood.tokens, depth);
    }
  }

  /** whether one more trunk call at `now` is beyond the gate's limit (takes its token if not) */
  private floods(now: number): boolean {
    if (!this.flood) return false;
    this.refill(now);
    if (this.flood.tokens < 1) return true;
    this.flood.tokens -= 1;
    return false;
  }

  private refill(now: number): void {
    const f = this.flood!;
    f.tokens = Math.min(f.depth, f.tokens + ((now - f.at) * f.perSecond) / 1000);
    f.at = now;
  }

  /** one ARI REST request took `ms` */
  observeRest(ms: number): void {
    this.restLatencyMs += EWMA_ALPHA * (ms - this.restLatencyMs);
  }

  stats(): AdmissionStats {
    return {
      admitted: this.admitted,
      refused: this.refused,
      refusedBy: { ...this.refusedBy },
      setupsInFlight: this.inFlight,
      restLatencyMs: Math.round(this.restLatencyMs * 10) / 10,
      eventLoopDelayMs: Math.round(this.eventLoopDelayMs * 10) / 10,
    };
  }

  stop(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.histogram?.disable();
  }
}

/** REST namespaces whose requests are timed (the events router passes untouched). */
const TIMED = new Set(['channels', 'bridges', 'playbacks', 'recordings']);

/**
 * The ARI client with its call-path REST requests timed into `admission` — when anything reads
 * the latency: admission's own limit, or (`timed`) the dialplan gate.
 */
export function timedAri(
  ari: CallAri,
  admission: Admission,
  timed = admission.limits.maxRestLatencyMs > 0,
): CallAri {
  if (!timed) return ari;
  const namespaces = new Map<string | symbol, unknown>();
  const timeNamespace = (ns: Record<string, unknown>) =>
    new Proxy(ns, {
      get(target, prop) {
        const value = target[prop as string];
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const started = performance.now();
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            void result.then(
              () => admission.observeRest(performance.now() - started),
              () => admission.observeRest(performance.now() - started),
            );
          }
          return result;
        };
      },
    });
  return new Proxy(ari, {
    get(target, prop) {
      const value = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof prop !== 'string' || !TIMED.has(prop) || !value || typeof value !== 'object') return value;
      let wrapped = namespaces.get(prop);
      if (!wrapped) {
        wrapped = timeNamespace(value as Record<string, unknown>);
        namespaces.set(prop, wrapped);
      }
      return wrapped;
    },
  });
}
