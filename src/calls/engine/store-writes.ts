/**
 * Store access on the call path while Redis may be away. A call must never hang on the store:
 * every call-path store operation is bounded (`bounded`), and the writes whose loss would lose
 * something a caller left behind (a voicebox message) are kept and retried until the store
 * takes them (`StoreWriteQueue`) — the call goes on at once, the write lands when Redis is
 * back, without a restart.
 */
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../../store/store.js';

export class StoreTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`store did not answer within ${ms} ms (${what})`);
    this.name = 'StoreTimeoutError';
  }
}

/** Q.850 cause 41: temporary failure (a call that needed the store while it was away) */
export const CAUSE_TEMPORARY_FAILURE = 41;

/** The store did not answer in time, or said it is unavailable (Redis away, or not reached yet). */
export function isStoreAway(err: unknown): boolean {
  return err instanceof StoreTimeoutError || err instanceof StoreUnavailableError;
}

/** `op` or a StoreTimeoutError after `ms`; the operation itself is not cancelled. */
export function bounded<T>(op: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(what, ms)), ms);
    timer.unref?.();
  });
  op.catch(() => {}); // a late failure after the timeout has nobody listening
  return Promise.race([op, timeout]).finally(() => clearTimeout(timer));
}

export interface StoreWriteQueueOptions {
  logger: Logger;
  /** one attempt may take this long (default 1000 ms) */
  attemptTimeoutMs?: number;
  /** first retry delay, doubled up to maxDelayMs (defaults 250 / 5000 ms) */
  minDelayMs?: number;
  maxDelayMs?: number;
}

interface PendingWrite {
  what: string;
  fields: Record<string, unknown>;
  op: () => Promise<void>;
  attempts: number;
  done: () => void;
  written: Promise<void>;
}

/**
 * Writes that must not be lost: tried at once, and when the store does not take them in time,
 * kept in order and retried with backoff until it does. Writes must be idempotent (a timed-out
 * attempt may still land).
 */
export class StoreWriteQueue {
  private readonly queue: PendingWrite[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private delayMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: StoreWriteQueueOptions) {
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 1000;
    this.minDelayMs = opts.minDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 5000;
    this.delayMs = this.minDelayMs;
  }

  /** writes waiting for the store */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Tries the write once; resolves `true` when it landed, `false` when it was queued for retry
   * (it is then written as soon as the store answers; `written` tells when).
   */
  async write(
    what: string,
    fields: Record<string, unknown>,
    op: () => Promise<void>,
  ): Promise<{ stored: boolean; written: Promise<void> }> {
    if (this.queue.length === 0) {
      try {
        await bounded(op(), this.attemptTimeoutMs, what);
        return { stored: true, written: Promise.resolve() };
      } catch (err) {
        this.opts.logger.warn(
          { err, what, ...fields },
          'store write failed; kept and retried until it lands',
        );
      }
    }
    let done!: () => void;
    const written = new Promise<void>((resolve) => (done = resolve));
    this.queue.push({ what, fields, op, attempts: 1, done, written });
    this.schedule();
    return { stored: false, written };
  }

  private schedule(): void {
    if (this.timer || this.draining || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.delayMs);
    this.timer.unref?.();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        next.attempts += 1;
        try {
          await bounded(next.op(), this.attemptTimeoutMs, next.what);
        } catch {
          this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
          return;
        }
        this.queue.shift();
        this.delayMs = this.minDelayMs;
        this.opts.logger.info(
          { what: next.what, attempts: next.attempts, ...next.fields },
          'store write landed after retry',
        );
        next.done();
      }
    } finally {
      this.draining = false;
      this.schedule();
    }
  }

  /**
   * On shutdown: tries what is queued until `deadlineMs`; whatever is still queued then is
   * logged in full (error level) so an operator can replay it. Returns how many were lost.
   */
  async flush(deadlineMs: number): Promise<number> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const until = Date.now() + deadlineMs;
    while (this.queue.length > 0 && Date.now() < until) {
      const next = this.queue[0]!;
      try {
        await bounded(next.op(), Math.max(1, Math.min(this.attemptTimeoutMs, until - Date.now())), next.what);
        this.queue.shift();
        next.done();
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, until - Date.now()))));
      }
    }
    for (const w of this.queue) {
      this.opts.logger.error({ what: w.what, ...w.fields }, 'store write NOT landed before exit');
    }
    const lost = this.queue.length;
    this.queue.length = 0;
    return lost;
  }
}

/** Store members that are not call-path operations: never bounded. */
const UNBOUNDED = new Set(['onChange', 'close', 'roundTrips', 'kind', 'ping']);

/**
 * The store as the call path sees it: every operation answers within `ms` or rejects with a
 * StoreTimeoutError (node-redis queues commands while it reconnects: without a bound, a call
 * would wait in silence for as long as Redis is away). Repositories are wrapped once, lazily.
 */
export function boundedStore<S extends object>(store: S, ms: number): S {
  // one wrapper per wrapped object or function: a member replaced later (tests do) is seen
  const wrappers = new WeakMap<object, unknown>();
  const wrap = <T extends object>(target: T, owner: unknown, path: string): T =>
    new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop) as unknown;
        if (typeof prop !== 'string' || prop === 'then' || (path === '' && UNBOUNDED.has(prop))) return value;
        if (!value || (typeof value !== 'object' && typeof value !== 'function')) return value;
        let wrapped = wrappers.get(value);
        if (!wrapped) {
          wrapped = wrap(value, obj, `${path}${prop}.`);
          wrappers.set(value, wrapped);
        }
        return wrapped;
      },
      apply(fn, _this, args: unknown[]) {
        const result = (fn as (...a: unknown[]) => unknown).apply(owner, args);
        return result instanceof Promise ? bounded(result, ms, path.slice(0, -1)) : result;
      },
    });
  return wrap(store, undefined, '');
}
