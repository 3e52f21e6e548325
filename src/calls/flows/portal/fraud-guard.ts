/**
 * The call-through fraud guard of the Anywhere portal, on the call path.
 *
 * Before a call-through leaves through the trunk: the destination's class (src/domain/fraud.ts,
 * pure, no I/O) and then the counters in ONE store round trip (store.callThroughs.admit, atomic
 * across controllers). Call-throughs that ended meanwhile ride along in that same round trip;
 * when no call-through follows within `settleDelayMs`, they are settled in one batched write
 * off the call path. Nothing else (calls to workplaces, the voicebox, *11) ever touches it.
 *
 * Alerts (first call-through to a new country, any limit hit, a refused destination class, a
 * workplace locked) go to an injectable notifier (reporting/call-through-alerts.ts), which other
 * modules (event stream, metrics, e-mail) can subscribe to.
 */
import type { Logger } from 'pino';
import {
  classifyDestination,
  isLimitReason,
  limitValue,
  type CallThroughPolicy,
  type DestinationClass,
  type RefusalReason,
} from '../../../domain/fraud.js';
import type { Workplace } from '../../../domain/model.js';
import type { CallThroughAlerts } from '../../reporting/call-through-alerts.js';
import type { CallThroughSettlement, CallThroughStatus, Store } from '../../../store/store.js';

export interface CallThroughGuardOptions {
  store: Pick<Store, 'callThroughs'>;
  logger: Logger;
  alerts: CallThroughAlerts;
  /** COUNTRY_CODE: the home country */
  countryCode: string;
  /** ended call-throughs wait this long for the next admission to carry them (default 1 s) */
  settleDelayMs?: number;
  /**
   * a concurrency slot frees itself after this long when its controller never settles it
   * (default: the workplace's daily minutes plus ringing and a margin — no call-through can
   * last longer, the flow cuts it when the minutes are used up)
   */
  leaseSeconds?: number;
  now?: () => number;
}

/** An admitted call-through: hand it back to end() when it is over. */
export interface CallThroughTicket {
  callId: string;
  companyId: string;
  workplaceId: string;
  startedAtMs: number;
}

export type Admission =
  | {
      kind: 'admitted';
      ticket: CallThroughTicket;
      destinationClass: DestinationClass;
      country: string;
      /** talk time left today: the flow cuts the call-through when it is used up */
      secondsLeft: number;
    }
  | { kind: 'refused'; reason: RefusalReason; destinationClass: DestinationClass; country: string }
  /** the company switched the guard off */
  | { kind: 'unguarded' };

export const DEFAULT_SETTLE_DELAY_MS = 1000;
/** ringing (OUTBOUND_RING_SECONDS) and slack on top of the longest possible talk time */
const LEASE_MARGIN_SECONDS = 600;

export function leaseSecondsFor(policy: CallThroughPolicy): number {
  return policy.perWorkplace.minutesPerDay * 60 + LEASE_MARGIN_SECONDS;
}

export class CallThroughGuard {
  private pending: CallThroughSettlement[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: CallThroughGuardOptions) {
    this.now = opts.now ?? Date.now;
  }

  get alerts(): CallThroughAlerts {
    return this.opts.alerts;
  }

  /** Whether the call-through to `e164` may go out now; at most one store round trip. */
  async admit(args: {
    callId: string;
    workplace: Pick<Workplace, 'id' | 'companyId'>;
    e164: string;
    policy: CallThroughPolicy;
    log?: Logger;
  }): Promise<Admission> {
    const { workplace, policy } = args;
    if (!policy.enabled) return { kind: 'unguarded' };
    const log = args.log ?? this.opts.logger;
    const destination = classifyDestination(args.e164, policy, this.opts.countryCode);
    const nowMs = this.now();
    const settle = this.takePending();
    // a timer-driven settlement is not needed any more: these ride along
    if (settle.length > 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    let verdict;
    try {
      verdict = await this.opts.store.callThroughs.admit(
        {
          callId: args.callId,
          companyId: workplace.companyId,
          workplaceId: workplace.id,
          nowMs,
          country: destination.country,
          ...(destination.refusal ? { refusal: destination.refusal } : {}),
          policy,
          leaseSeconds: this.opts.leaseSeconds ?? leaseSecondsFor(policy),
        },
        settle,
      );
    } catch (err) {
      // they were not settled: the next attempt carries them
      this.requeue(settle);
      throw err;
    }
    const base = {
      companyId: workplace.companyId,
      workplaceId: workplace.id,
      callId: args.callId,
      at: new Date(nowMs).toISOString(),
      country: destination.country,
      destinationClass: destination.destinationClass,
    };
    if (verdict.kind === 'admitted') {
      log.info(
        { workplaceId: workplace.id, country: destination.country, class: destination.destinationClass },
        'call-through admitted by the fraud guard',
      );
      // the home country is no news (it is recorded, though)
      if (verdict.newCountry && destination.destinationClass === 'international') {
        this.opts.alerts.alert({ kind: 'new-country', ...base });
      }
      return {
        kind: 'admitted',
        ticket: {
          callId: args.callId,
          companyId: workplace.companyId,
          workplaceId: workplace.id,
          startedAtMs: nowMs,
        },
        destinationClass: destination.destinationClass,
        country: destination.country,
        secondsLeft: verdict.secondsLeft,
      };
    }
    log.info(
      { workplaceId: workplace.id, reason: verdict.reason, refusalsToday: verdict.refusalsToday },
      'call-through refused by the fraud guard',
    );
    const details = { ...base, reason: verdict.reason, refusalsToday: verdict.refusalsToday };
    const limit = limitValue(policy, verdict.reason);
    if (isLimitReason(verdict.reason))
      this.opts.alerts.alert({ kind: 'limit', ...details, ...(limit !== undefined ? { limit } : {}) });
    else if (verdict.reason !== 'locked') this.opts.alerts.alert({ kind: 'destination-refused', ...details });
    if (verdict.lockedNow)
      this.opts.alerts.alert({ kind: 'locked', ...details, limit: policy.lockAfterRefusals });
    return {
      kind: 'refused',
      reason: verdict.reason,
      destinationClass: destination.destinationClass,
      country: destination.country,
    };
  }

  /** The call-through is over after `talkSeconds`: settled with the next admission, or soon. */
  end(ticket: CallThroughTicket, talkSeconds: number): void {
    this.pending.push({ ...ticket, seconds: Math.max(0, Math.round(talkSeconds)) });
    this.schedule();
  }

  /** Settles the pending ones after settleDelayMs unless an admission carries them first. */
  private schedule(): void {
    if (this.timer || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch((err: unknown) =>
        this.opts.logger.warn({ err }, 'call-through settlement failed; retried with the next one'),
      );
    }, this.opts.settleDelayMs ?? DEFAULT_SETTLE_DELAY_MS);
    this.timer.unref?.();
  }

  /** Writes every ended call-through not yet settled (one round trip; none when there are none). */
  async flush(): Promise<void> {
    await this.flushing;
    const ends = this.takePending();
    if (ends.length === 0) return;
    this.flushing = this.opts.store.callThroughs.settle(ends).catch((err: unknown) => {
      this.requeue(ends);
      throw err;
    });
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * The counters as this guard's next admission will see them: the call-throughs that ended
   * here and wait to ride along with it are settled first, so an ended call-through does not
   * count as running (routing explain reads this view, never the store's alone).
   */
  async usage(companyId: string, workplaceId: string, nowMs: number): Promise<CallThroughStatus> {
    await this.flush();
    return this.opts.store.callThroughs.usage(companyId, workplaceId, nowMs);
  }

  /** Stops the timer and settles what is left. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private takePending(): CallThroughSettlement[] {
    const ends = this.pending;
    this.pending = [];
    return ends;
  }

  private requeue(ends: CallThroughSettlement[]): void {
    this.pending.unshift(...ends);
    this.schedule();
  }
}
