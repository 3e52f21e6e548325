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
 * pushing forward while trunk calls come; a controller that dies while shedding stops refusing
 * calls within `holdSeconds`. Devices' own calls (emergency numbers, `*11`) never pass this
 * gate. Calls that passed it before a share reached Asterisk are held to the same limit by
 * admission control (Admission.limitTrunk).
 */
import type { Logger } from 'pino';
import type { Admission, AdmissionWindow } from './admission.js';
import type { CallAri } from '../engine/session.js';

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
  targetSetupMs: 30,
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
/**
 * room above the rate proven lately: a jump in load beyond it meets the limit in its first
 * tick, before Asterisk's queues grow (on a box near its knee, twice the proven rate is far
 * past it, and even a quarter more may be). Load that rises gradually (a busy hour) never
 * meets it, as the room follows the proven rate tick by tick
 */
const ROOM = 1.1;
/**
 * what a call refused in the dialplan costs Asterisk, as a share of what an admitted call costs
 * it (channel, dialplan and hang-up against a whole set-up and its end; measured on 22.10.1:
 * at twice its capacity the gate settles where about a tenth of the admitted rate went to the
 * refusals)
 */
const REFUSAL_COST = 0.1;
/** growth of the limit per tick well under the target: fast up to near where it was last cut, slow beyond */
const PROBE_FAST = 1.05; // ×1.6 per second
const PROBE_SLOW = 1.01; // ×1.1 per second
/** growth per tick towards the room with no overload in memory (slow start) */
const PROBE_START = 1.1; // ×2.6 per second
/** ticks after a cut before the next one (the signal lags the calls admitted before the cut) */
const CUT_SETTLE_TICKS = 3;
/**
 * ticks with neither a cut nor a call shed after which where the last overload began is
 * forgotten (5 min): until then it is what the system is known to carry, and a jump in load
 * meets a limit there
 */
const FORGET_TROUBLE_TICKS = 50;
/**
 * the proven rate fades by this factor per tick (half-life about 12 minutes): what the system
 * carried a minute ago it carries now (a cut says when it no longer does), and load that comes
 * back after a pause at the rate it had is no flood
 */
const PROVEN_FADE = 0.9999;

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
  /**
   * where the last overload began (the rate carried when the limit was last cut, raised when
   * more is proven since): up to near it the limit grows fast, beyond it slowly, and the room
   * ends there
   */
  lastTrouble: number;
  /** ticks since the limit was last cut */
  sinceOver: number;
  /** trunk calls per second arriving at the gate (moving average, shed ones included) */
  arrivals: number;
  /** the highest rate of calls the controller set up within the target lately (calls/s) */
  proven: number;
  /** calls per second admitted in the last tick */
  admitted: number;
  /** ticks since a share of the calls was last shed */
  sinceShed: number;
  /** whether the tick before was over the target */
  wasOver: boolean;
}

export const openGate: ShedState = {
  percent: 0,
  limit: Infinity,
  lastTrouble: Infinity,
  sinceOver: Infinity,
  arrivals: 0,
  proven: 0,
  admitted: 0,
  sinceShed: Infinity,
  wasOver: false,
};

/**
 * The room for a jump in load: a tenth above the proven rate, but not past where the last
 * overload began except for the slow probing beyond it — and one call a tick more (what passes
 * a gate in whole calls falls short of its limit by up to that, and the proven rate must be able
 * to reach the limit, else neither grows) —, never less than `minRate`.
 */
function roomFor(
  proven: number,
  lastTrouble: number,
  o: Pick<SheddingOptions, 'minRate' | 'tickMs'>,
): number {
  const oneCallPerTick = 1000 / o.tickMs;
  return Math.max(
    o.minRate,
    Math.min(ROOM * proven, Math.max(lastTrouble, PROBE_SLOW * proven)) + oneCallPerTick,
  );
}

/**
 * The next state of the gate after one tick's admission window: a limit on the rate of trunk
 * calls let in, moved the way TCP moves its congestion window, and the share of the arrivals
 * beyond it shed.
 * - Room: while nothing is shed the limit is a tenth (and a call a tick) above the highest rate
 *   set up within the target lately (`proven`, fading over minutes), so load that grows
 *   gradually never meets it — but not past where the last overload began, beyond which the
 *   limit only probes.
 * - Flood (more calls at once than the room): met in its first tick at the rate proven before
 *   it, less what refusing the rest costs Asterisk (REFUSAL_COST); beyond that rate the limit
 *   then probes slowly, as beyond where an overload began. On a box near its knee even the room
 *   is too much once the refusals take their share of Asterisk's CPU.
 * - Over the target (set-up p90 above it — a tick that completed none while one is in flight
 *   counts as slow as that one —, more set-ups in flight at once than `inFlightTarget` or ARI
 *   REST latency above `restLatencyTarget`, the earlier signs as queues form, or calls the
 *   controller itself had to refuse): the limit drops by 10 % plus 10 % per target exceeded
 *   (at most half), and to just under what was carried — once, then it holds for three ticks
 *   while the cut takes effect (the signal still shows calls admitted before it). At a rate the
 *   system has carried a cut needs a second slow tick: a one-tick stall is no overload.
 * - Clearly healthy (p90 at most half the target, and the other signals at most half theirs):
 *   after a cut or a flood the limit grows 5 % per tick while it is below 90 % of where the
 *   overload began (a cut may have been deeper than needed, or a false alarm), and 1 % per tick
 *   beyond: the signal comes a few ticks late (and the end of each admitted call costs Asterisk
 *   later still), so probing faster there overshoots, and every overshoot is a moment in which
 *   Asterisk's queues hold refusals and set-ups alike. That point is raised when more is proven
 *   and forgotten after 5 s with neither a cut nor a call shed. In between it holds.
 * - It never falls below `minRate`, which a burst on an idle system may always use.
 *
 * The arrival rate behind the share is a moving average, raised at once only by more calls in
 * a tick than the average's noise explains (at the rate of that burst over its own span), and
 * never lowered over the target: then Asterisk is slow to hand calls over (and the bench's
 * callers slow to place them), and fewer calls seen is no lull.
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
  const admitted = (w.reached - w.refused - w.refusedFlood) * perSecond;
  // (a window that completed no set-up while some are in flight: as slow as the oldest one)
  const p90 = w.setupMs.length ? percentile(w.setupMs, 0.9) : w.oldestInFlightMs;
  const over =
    Math.max(
      p90 / o.targetSetupMs,
      o.inFlightTarget > 0 ? w.peakInFlight / o.inFlightTarget : 0,
      o.restLatencyTarget > 0 ? w.restLatencyMs / o.restLatencyTarget : 0,
      w.refused > 0 ? 2 : 0,
    ) - 1;
  // the trunk calls that reached us passed a gate letting (100 - percent) % through
  const passing = Math.max(0.01, 1 - s.percent / 100);
  const arrivedNow = (w.fromTrunk / passing) * perSecond;
  const smoothed = s.arrivals + ARRIVALS_ALPHA * (arrivedNow - s.arrivals);
  // up at once when more calls came than the average's Poisson noise explains (an onset must
  // meet the limit in its first tick; a tick's chance excess must not shed a share) — at the
  // rate of the burst itself, over its own span: one that began late in the window is no slower
  const expected = (s.arrivals * passing) / perSecond;
  const burst = w.fromTrunk >= Math.max(MIN_BURST_CALLS, expected + 3 * Math.sqrt(expected));
  const burstRate = (((w.fromTrunk - 1) / passing) * 1000) / Math.max(w.trunkSpanMs, o.tickMs / 10);
  let arrivals = burst ? Math.max(arrivedNow, Math.min(burstRate, 10 * arrivedNow), smoothed) : smoothed;
  if (over > 0) arrivals = Math.max(arrivals, s.arrivals);
  // a tick within the target proves the rate admitted the tick before (whose set-ups it saw
  // end) — not its own, which may be the first tick of an onset the signal does not show yet
  const provenNow = over <= 0 ? Math.min(s.admitted, admitted) : 0;
  const proven = Math.max(s.proven * PROVEN_FADE, provenNow);
  let { lastTrouble, sinceOver } = s;
  // more carried within the target than where the last overload began: it begins further up
  if (provenNow > lastTrouble) lastTrouble = provenNow;
  // (while calls are shed the overload goes on, however long the limit was not cut)
  if (over <= 0 && sinceOver + 1 >= FORGET_TROUBLE_TICKS && s.sinceShed >= FORGET_TROUBLE_TICKS)
    lastTrouble = Infinity;
  const room = roomFor(proven, lastTrouble, o);
  let limit = Math.min(s.limit, room);
  // a flood (more at once than the room): met at the rate proven before it, less what refusing
  // the rest costs Asterisk — near the knee even the room is too much once refusals take their
  // share of its CPU
  const flood = burst && arrivals > room;
  // — and beyond the rate proven the limit then probes slowly, as beyond where an overload began
  if (flood) {
    limit = Math.min(limit, Math.max(o.minRate, (proven - REFUSAL_COST * arrivals) / (1 - REFUSAL_COST)));
    lastTrouble = Math.min(lastTrouble, Math.max(o.minRate, proven));
  }
  if (over > 0) {
    // one cut, then a few ticks for it to show: the signal still carries the calls admitted
    // before it, and cutting again for those would drive the limit to the floor
    // … and at a rate the system has shown it carries, only when the tick before was over too
    // (or the controller itself had to refuse calls): Asterisk stalls for a tick now and then
    // at such rates (housekeeping, a burst of hang-ups), and cutting for that does not shorten
    // the stall but sheds calls the system could take. Beyond the room an excess is believed
    // at once.
    const confirmed = s.wasOver || w.refused > 0 || arrivals > room;
    if (sinceOver >= CUT_SETTLE_TICKS && confirmed) {
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
    // probe only when clearly healthy: set-ups well within the target, few in flight at once
    const calm =
      p90 <= o.targetSetupMs / 2 &&
      (o.inFlightTarget <= 0 || w.peakInFlight <= o.inFlightTarget / 2) &&
      (o.restLatencyTarget <= 0 || w.restLatencyMs <= o.restLatencyTarget / 2);
    // no overload in memory: the room while nothing is shed, towards it 10 % a tick while
    // calm (slow start); after one, back to near where it began fast (a cut may have been a
    // false alarm, or deeper than needed: as TCP's fast recovery), beyond it slowly: there the
    // limit is what the system is given. A flood's first tick stays where it was met: the
    // set-ups it let in have not shown yet.
    if (flood) {
      /* hold */
    } else if (lastTrouble === Infinity && s.percent === 0) limit = Math.max(limit, room);
    else if (calm && lastTrouble === Infinity) limit = Math.max(limit, Math.min(room, limit * PROBE_START));
    else if (calm) limit *= limit < 0.9 * lastTrouble ? PROBE_FAST : PROBE_SLOW;
  }
  limit = Math.max(o.minRate, limit);
  const percent =
    // (less a hair: 1 - 95/100 is 0.05000000000000004 in floating point)
    arrivals > limit ? Math.min(o.maxPercent, Math.ceil(100 * (1 - limit / arrivals) - 1e-9)) : 0;
  const sinceShed = percent > 0 ? 0 : s.sinceShed + 1;
  return { percent, limit, lastTrouble, sinceOver, arrivals, proven, admitted, sinceShed, wasOver: over > 0 };
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
    private readonly admission: Pick<Admission, 'takeWindow'> &
      Partial<Pick<Admission, 'watchBursts' | 'limitTrunk'>>,
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
    // the expiry first, so a raised share never meets an expired gate (and vice versa); kept
    // fresh while trunk calls come, so the first share of an onset is one write, not two
    // behind each other into an Asterisk that is getting slow (an idle controller writes nothing)
    const armed = next > 0 || this.state.arrivals >= 1;
    if (armed && nowS + 1 >= this.untilWritten) {
      this.untilWritten = nowS + this.options.holdSeconds;
      writes.push([this.names.until, String(this.untilWritten)]);
    }
    if (next !== before) writes.push([this.names.percent, String(next)]);
    this.log(before, next);
    // more calls than half again the room's share of a tick: decide then, not at the tick's end
    const { limit, proven, lastTrouble } = this.state;
    const room = Math.min(limit, roomFor(proven, lastTrouble, this.options));
    const burstCalls = (1.5 * room * this.options.tickMs) / 1000 + 2;
    // … and no more than that at once passes the controller either
    this.admission.limitTrunk?.(room, burstCalls);
    // … or more set-ups in flight at once than the in-flight target
    this.admission.watchBursts?.(
      burstCalls,
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
