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
 * This module sets that share every tick from what admission control saw in the tick before:
 * calls the controller itself had to refuse, and how long admitted calls took from their
 * channel's creation in Asterisk to the end of their set-up (that includes the time Asterisk
 * held them before StasisStart, which is where the wait grows first). Over the target it sheds
 * more at once, under half the target it sheds a little less per tick (so it probes back to
 * full service instead of flapping), in between it holds.
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
}

export const defaultSheddingOptions: SheddingOptions = {
  targetSetupMs: 150,
  maxPercent: 95,
  tickMs: 250,
  holdSeconds: 3,
};

/** percentage points added at least per tick over the target */
const STEP_UP = 10;
/** percentage points taken off per tick well under the target */
const STEP_DOWN = 2;

/** nearest-rank percentile (0 for no values) */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * The share (percent) of new trunk calls to shed next, from the share shed now and the last
 * tick's admission window.
 */
export function nextShedPercent(
  current: number,
  w: AdmissionWindow,
  o: Pick<SheddingOptions, 'targetSetupMs' | 'maxPercent'>,
): number {
  if (o.targetSetupMs <= 0) return 0;
  const p90 = percentile(w.setupMs, 0.9);
  if (w.refused > 0 || p90 > o.targetSetupMs) {
    // what the controller had to refuse is shed before it arrives: of all arriving calls
    // (reached / (1 - p)) only the admitted ones should pass
    const refusedShare = w.reached > 0 ? w.refused / w.reached : 0;
    const needed = 1 - (1 - refusedShare) * (1 - current / 100);
    return Math.min(o.maxPercent, Math.max(current + STEP_UP, Math.ceil(needed * 100)));
  }
  if (current > 0 && p90 <= o.targetSetupMs / 2) return Math.max(0, current - STEP_DOWN);
  return current;
}

export interface SheddingStats {
  /** share of new trunk calls the dialplan refuses now (percent) */
  percent: number;
  /** trunk calls refused in the dialplan so far — estimated from the calls that got through */
  shedEstimate: number;
  /** variable writes to Asterisk that failed */
  writeErrors: number;
}

/** Asterisk's global variable names for the ARI application `app` */
export function gateVariables(app: string): { percent: string; until: string } {
  return { percent: `PBX_SHED_PERCENT_${app}`, until: `PBX_SHED_UNTIL_${app}` };
}

const LOG_EVERY_MS = 5000;

export class EdgeShedding {
  private percent = 0;
  private shedEstimate = 0;
  private writeErrors = 0;
  private untilWritten = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastLog = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly names: { percent: string; until: string };

  constructor(
    private readonly ari: Pick<CallAri, 'asterisk' | 'app'>,
    private readonly admission: Pick<Admission, 'takeWindow'>,
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
    this.percent = 0;
    this.untilWritten = 0;
    return this.write([[this.names.percent, '0']]);
  }

  /** one decision (the timer calls it; tests call it directly) */
  tick(): Promise<void> {
    const w = this.admission.takeWindow();
    const before = this.percent;
    if (before > 0 && before < 100) this.shedEstimate += Math.round((w.reached * before) / (100 - before));
    const next = nextShedPercent(before, w, this.options);
    this.percent = next;
    const writes: Array<[string, string]> = [];
    const nowS = Math.floor(this.now() / 1000);
    // the expiry first, so a raised share never meets an expired gate (and vice versa)
    if (next > 0 && nowS + 1 >= this.untilWritten) {
      this.untilWritten = nowS + this.options.holdSeconds;
      writes.push([this.names.until, String(this.untilWritten)]);
    }
    if (next !== before) writes.push([this.names.percent, String(next)]);
    this.log(before, next, w);
    return writes.length ? this.write(writes) : Promise.resolve();
  }

  stats(): SheddingStats {
    return { percent: this.percent, shedEstimate: this.shedEstimate, writeErrors: this.writeErrors };
  }

  /** stops deciding and opens the gate (best effort: it expires by itself anyway) */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.percent > 0) await this.reset();
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

  private log(before: number, next: number, w: AdmissionWindow): void {
    if (before === next && (next === 0 || this.now() - this.lastLog < LOG_EVERY_MS)) return;
    if (before > 0 && next > 0 && this.now() - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = this.now();
    const figures = {
      percent: next,
      reached: w.reached,
      refusedByController: w.refused,
      setupP90Ms: Math.round(percentile(w.setupMs, 0.9)),
      shedEstimate: this.shedEstimate,
    };
    if (next > 0) this.logger.warn(figures, 'overload: the dialplan refuses new trunk calls (cause 34)');
    else this.logger.info(figures, 'overload over: the dialplan lets every trunk call through');
  }
}
