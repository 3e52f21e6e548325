/**
 * Shedding at the edge. A call the controller refuses still costs Asterisk a StasisStart, a
 * REST request (with its password check) and the events of its end — under overload, exactly
 * the work Asterisk has no room for, so refusals queue behind the calls they should protect.
 * The cheapest refusal never reaches ARI: the dialplan in front of Stasis() refuses a share of
 * new trunk calls itself (cause 34) while the controller says so, through two of Asterisk's
 * global variables (asterisk/extensions.conf, [from-trunk]):
 *
 *   GotoIf($[${EPOCH} < 0${PBX_SHED_UNTIL_<app>} & ${RAND(1,100)} <= 0${PBX_SHED_PERCENT_<app>}]?shed)
 *
 * This module sets that share every tick (0.1 s) from what admission control saw in the tick
 * before: calls the controller itself had to refuse, and how long admitted calls took from
 * their channel's creation in Asterisk to the end of their set-up (that includes the time
 * Asterisk held them before StasisStart, which is where the wait grows first). It keeps a
 * limit on the rate of calls let in and sheds the share of the arrivals beyond it — see
 * nextShedState for how the limit moves.
 *
 * The gate fails open: PBX_SHED_UNTIL is an expiry (epoch seconds) the controller keeps
 * pushing forward while it sheds; a controller that dies while shedding stops refusing calls
 * within `holdSeconds`. Devices' own calls (emergency numbers, `*11`) never pass this gate.
 */
import type { Logger } from 'pino';
import type { Admission, AdmissionWindow } from './admission.js';
import type { CallAri } from './session.js';

export interface SheddingOptions {
  /**
   * p90 of channel created → set-up over that the controller keeps admitted calls under (ms);
   * 0 = the gate is off (the controller's own refusals remain)
   */
  targetSetupMs: number;
  /** at most this share of new trunk calls is shed (percent; a trickle must still reach us to measure) */
  maxPercent: number;
  /** how often the share is decided (ms) */
  tickMs: number;
  /** how long a decision holds in Asterisk without being renewed (s) */
  holdSeconds: number;
  /** trunk calls per second always let through (a burst on an idle system is not overload) */
  minRate: number;
  /**
   * set-ups in flight at once that count as over the target (0 = not a signal): below the
   * controller's own limit, so the gate closes before the controller has to refuse calls
   */
  inFlightTarget: number;
  /** ARI REST latency (moving average, ms) that counts as over the target (0 = not a signal) */
  restLatencyTarget: number;
}

export const defaultSheddingOptions: SheddingOptions = {
  targetSetupMs: 40,
  maxPercent: 95,
  tickMs: 100,
  holdSeconds: 3,
  minRate: 100,
  inFlightTarget: 0,
  restLatencyTarget: 0,
};

/** weight of the newest tick in the arrival rate's moving average */
const ARRIVALS_ALPHA = 0.5;
/** calls in one tick that may raise the arrival rate at once, without smoothing */
const MIN_BURST_CALLS = 10;
/** growth of the limit per tick well under the target: fast up to near where it was last cut, slow beyond */
const PROBE_FAST = 1.05; // ×1.6 per second
const PROBE_SLOW = 1.01; // ×1.1 per second
/** ticks after a cut before the next one (the signal lags the calls admitted before the cut) */
const CUT_SETTLE_TICKS = 3;
/** ticks without a cut after which where the last one happened is forgotten (5 s) */
const FORGET_TROUBLE_TICKS = 50;
/** the proven rate fades by this factor per tick (half-life about a minute) */
const PROVEN_FADE = 0.999;

/** nearest-rank percentile (0 for no values) */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface ShedState {
  /** share of new trunk calls the dialplan refuses (percent) */
  percent: number;
  /** trunk calls per second let through to the controller */
  limit: number;
  /** the limit when it was last cut: up to near it the limit grows fast, beyond it slowly */
  lastTrouble: number;
  /** ticks since the limit was last cut */
  sinceOver: number;
  /** trunk calls per second arriving at the gate (moving average, shed ones included) */
  arrivals: number;
  /** the highest rate of calls the controller set up within the target lately (calls/s) */
  proven: number;
  /** calls per second admitted in the last tick */
  admitted: number;
}

export const openGate: ShedState = {
  percent: 0,
  limit: Infinity,
  lastTrouble: Infinity,
  sinceOver: Infinity,
  arrivals: 0,
  proven: 0,
  admitted: 0,
};

/**
 * The next state of the gate after one tick's admission window: a limit on the rate of trunk
 * calls let in, moved the way TCP moves its congestion window, and the share of the arrivals
 * beyond it shed.
 * - Over the target (set-up p90 above it, more set-ups in flight at once than `inFlightTarget`
 *   or ARI REST latency above `restLatencyTarget` — the earlier signs, as queues form before
 *   set-ups get slow —, or calls the controller itself had to refuse): the
 *   limit drops by 10 % plus 10 % per target exceeded (at most half), and to just under the rate
 *   set-ups completed in the tick (what the system carries now) — once, then it holds for
 *   three ticks while the cut takes effect (the signal still shows calls admitted before it).
 * - Clearly healthy (p90 at most half the target, and the other signals at most half theirs):
 *   the limit grows 5 % per tick while it is below 90 % of what was carried when it was last
 *   cut (a cut may have been deeper than needed, or a false alarm), and while nothing is shed;
 *   1 % per tick beyond that point, where the overload began last time, and while shedding
 *   with no such point in memory: the signal comes a few ticks late (and the end of each
 *   admitted call costs Asterisk later still), so probing faster there overshoots, and every
 *   overshoot is a moment in which Asterisk's queues hold refusals and set-ups alike; 5 s
 *   without a cut forget that point. In between it holds.
 * - The limit stays within twice the highest rate set up within the target lately (`proven`,
 *   fading over minutes), or `minRate` if that is more: a jump to more than double what the
 *   system has shown it carries meets a limit in its first tick, before Asterisk's queues
 *   grow. While load rises within the target, `proven` (and with it the room) keeps up tick by
 *   tick.
 * - It never falls below `minRate`, which a burst on an idle system may always use.
 */
export function nextShedState(
  s: ShedState,
  w: AdmissionWindow,
  o: Pick<
    SheddingOptions,
    'targetSetupMs' | 'maxPercent' | 'tickMs' | 'minRate' | 'inFlightTarget' | 'restLatencyTarget'
  >,
): ShedState {
  if (o.targetSetupMs <= 0) return openGate;
  // (a window cut short by the burst trigger still counts as half a tick at least)
  const perSecond = 1000 / Math.max(w.durationMs, o.tickMs / 2);
  // the trunk calls that reached us passed a gate letting (100 - percent) % through
  const arrivedNow = (w.fromTrunk / Math.max(0.01, 1 - s.percent / 100)) * perSecond;
  // up at once when enough calls came to mean it (an onset must meet the limit in its first
  // tick), otherwise and down smoothly: a handful of calls at once is no rate
  const smoothed = s.arrivals + ARRIVALS_ALPHA * (arrivedNow - s.arrivals);
  const arrivals = w.fromTrunk >= MIN_BURST_CALLS ? Math.max(arrivedNow, smoothed) : smoothed;
  const admitted = (w.reached - w.refused) * perSecond;
  const p90 = percentile(w.setupMs, 0.9);
  const over =
    Math.max(
      p90 / o.targetSetupMs,
      o.inFlightTarget > 0 ? w.peakInFlight / o.inFlightTarget : 0,
      o.restLatencyTarget > 0 ? w.restLatencyMs / o.restLatencyTarget : 0,
      w.refused > 0 ? 2 : 0,
    ) - 1;
  // a tick within the target proves the rate admitted the tick before (whose set-ups it saw
  // end) — not its own, which may be the first tick of an onset the signal does not show yet
  let proven = s.proven * PROVEN_FADE;
  if (over <= 0) proven = Math.max(proven, Math.min(s.admitted, admitted));
  let limit = Math.min(s.limit, Math.max(o.minRate, 2 * proven));
  let { lastTrouble, sinceOver } = s;
  if (over > 0) {
    // one cut, then a few ticks for it to show: the signal still carries the calls admitted
    // before it, and cutting again for those would drive the limit to the floor
    if (sinceOver >= CUT_SETTLE_TICKS) {
      // what the system carries right now: the rate set-ups completed — but a tick of trouble
      // completes few (they are the slow ones), so what was let in just before counts too, as
      // far as it was proven to be carried within the target
      const completed = w.setupMs.length * perSecond;
      const carried = Math.max(completed, Math.min(s.admitted, proven));
      // trouble began there, not at the limit (which may have been far above it)
      lastTrouble = carried > 0 ? Math.min(limit, carried) : limit;
      // and the limit goes to at most just under it
      limit *= 1 - Math.min(0.5, 0.1 + 0.1 * over);
      if (carried > 0) limit = Math.min(limit, 0.95 * carried);
      sinceOver = 0;
    } else sinceOver += 1;
  } else {
    sinceOver += 1;
    if (sinceOver >= FORGET_TROUBLE_TICKS) lastTrouble = Infinity;
    // probe only when clearly healthy: set-ups well within the target, few in flight at once
    const calm =
      p90 <= o.targetSetupMs / 2 &&
      (o.inFlightTarget <= 0 || w.peakInFlight <= o.inFlightTarget / 2) &&
      (o.restLatencyTarget <= 0 || w.restLatencyMs <= o.restLatencyTarget / 2);
    // back to near where the last trouble began fast (a cut may have been a false alarm, or
    // deeper than needed: as TCP's fast recovery); beyond it, and while shedding with no
    // trouble in memory, slowly: there the limit is what the system is given
    const fast = limit < 0.9 * lastTrouble && (s.percent === 0 || lastTrouble < Infinity);
    if (calm) limit *= fast ? PROBE_FAST : PROBE_SLOW;
  }
  limit = Math.max(o.minRate, limit);
  const percent =
    // (less a hair: 1 - 95/100 is 0.05000000000000004 in floating point)
    arrivals > limit ? Math.min(o.maxPercent, Math.ceil(100 * (1 - limit / arrivals) - 1e-9)) : 0;
  return { percent, limit, lastTrouble, sinceOver, arrivals, proven, admitted };
}

export interface SheddingStats {
  /** share of new trunk calls the dialplan refuses now (percent) */
  percent: number;
  /** trunk calls per second let through, arriving (moving average), and proven lately */
  limit: number;
  arrivals: number;
  proven: number;
  /** what the last decision saw: calls that reached the controller, refused by it, set-up p90 (ms) */
  last: { reached: number; refused: number; setupP90Ms: number };
  /**
   * trunk calls the dialplan refused since the start, estimated: Asterisk does not count them
   * for us, but each window's calls that passed a gate shedding p % stand for p/(100 - p) as
   * many that did not
   */
  shedEstimated: number;
  /** variable writes to Asterisk that failed */
  writeErrors: number;
}

/** Asterisk's global variable names for the ARI application `app` */
export function gateVariables(app: string): { percent: string; until: string } {
  return { percent: `PBX_SHED_PERCENT_${app}`, until: `PBX_SHED_UNTIL_${app}` };
}

const LOG_EVERY_MS = 5000;

export class EdgeShedding {
  private state: ShedState = openGate;
  private writeErrors = 0;
  private shedEstimated = 0;
  private last = { reached: 0, refused: 0, setupP90Ms: 0 };
  private untilWritten = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastLog = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly names: { percent: string; until: string };

  constructor(
    private readonly ari: Pick<CallAri, 'asterisk' | 'app'>,
    private readonly admission: Pick<Admission, 'takeWindow'> & Partial<Pick<Admission, 'watchBursts'>>,
    readonly options: SheddingOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.names = gateVariables(ari.app);
  }

  /** starts deciding every tick; does nothing when the gate is off */
  start(): void {
    if (this.options.targetSetupMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  /** after every (re)connect: a predecessor's share must not outlive it */
  reset(): Promise<void> {
    this.state = openGate;
    this.untilWritten = 0;
    return this.write([[this.names.percent, '0']]);
  }

  /** one decision (the timer calls it; tests call it directly) */
  tick(): Promise<void> {
    const w = this.admission.takeWindow();
    const before = this.state.percent;
    // (the share in force while the window's calls arrived; a new one reaches Asterisk only now)
    if (before > 0) this.shedEstimated += (w.fromTrunk * before) / (100 - before);
    this.state = nextShedState(this.state, w, this.options);
    const next = this.state.percent;
    this.last = {
      reached: w.reached,
      refused: w.refused,
      setupP90Ms: Math.round(percentile(w.setupMs, 0.9)),
    };
    const writes: Array<[string, string]> = [];
    const nowS = Math.floor(this.now() / 1000);
    // the expiry first, so a raised share never meets an expired gate (and vice versa)
    if (next > 0 && nowS + 1 >= this.untilWritten) {
      this.untilWritten = nowS + this.options.holdSeconds;
      writes.push([this.names.until, String(this.untilWritten)]);
    }
    if (next !== before) writes.push([this.names.percent, String(next)]);
    this.log(before, next);
    // more calls than half again the limit's share of a tick: decide then, not at the tick's end
    const room = Math.min(this.state.limit, Math.max(this.options.minRate, 2 * this.state.proven));
    // … or more set-ups in flight at once than the in-flight target
    this.admission.watchBursts?.(
      (1.5 * room * this.options.tickMs) / 1000 + 2,
      () => void this.tick(),
      // (one more than the target: at the target itself a decision sees nothing over it)
      this.options.inFlightTarget > 0 ? this.options.inFlightTarget + 1 : Infinity,
    );
    return writes.length ? this.write(writes) : Promise.resolve();
  }

  stats(): SheddingStats {
    const { percent, limit, arrivals, proven } = this.state;
    return {
      percent,
      limit: Math.round(limit),
      arrivals: Math.round(arrivals),
      proven: Math.round(proven),
      last: { ...this.last },
      shedEstimated: Math.round(this.shedEstimated),
      writeErrors: this.writeErrors,
    };
  }

  /** stops deciding and opens the gate (best effort: it expires by itself anyway) */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.state.percent > 0) await this.reset();
    await this.writing;
  }

  private write(vars: Array<[string, string]>): Promise<void> {
    // in order, one at a time: a later decision must not be overtaken by an earlier one
    this.writing = this.writing.then(async () => {
      for (const [variable, value] of vars) {
        try {
          await this.ari.asterisk.setGlobalVar({ variable, value });
        } catch (err) {
          this.writeErrors += 1;
          this.logger.warn({ err, variable }, 'shedding: could not set the dialplan gate');
        }
      }
    });
    return this.writing;
  }

  /** when shedding starts or stops, and at most every 5 s while it goes on */
  private log(before: number, next: number): void {
    const startsOrStops = (before === 0) !== (next === 0);
    if (!startsOrStops && (next === 0 || this.now() - this.lastLog < LOG_EVERY_MS)) return;
    this.lastLog = this.now();
    const figures = { percent: next, limitPerSecond: Math.round(this.state.limit), ...this.last };
    if (next > 0) this.logger.warn(figures, 'overload: the dialplan refuses new trunk calls (cause 34)');
    else this.logger.info(figures, 'overload over: the dialplan lets every trunk call through');
  }
}
