/**
 * Process lifecycle: start without Redis, stop within a bound.
 *
 * - `storeWhenReachable`: the process starts (and serves /healthz) while Redis is away. Until
 *   the first connection succeeds the store answers every operation at once with a
 *   StoreUnavailableError and `ping()` false (so /readyz says not ready); from then on every
 *   operation goes to the real store.
 * - `gracefulShutdown`: on SIGTERM/SIGINT the steps run in order, each bounded, and the process
 *   exits within the overall deadline whatever is down; a second signal exits at once.
 */
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../store/store.js';

export { StoreUnavailableError };

/** Members of the store that are answered locally until the real store exists. */
interface Placeholders {
  kind: string;
}

/**
 * A store that stands in for `connect()`'s result until it resolves. Every member is looked up
 * on the real store at call time, so references taken early (wrappers, caches) keep working.
 */
export function storeWhenReachable<S extends object>(
  connect: () => Promise<S>,
  placeholders: Placeholders,
  logger: Logger,
): { store: S; ready: Promise<S> } {
  let real: S | undefined;
  let abandoned = false;
  const overrides = new Map<string, unknown>();
  const ready = connect().then((store) => {
    real = store;
    logger.info('store connected');
    if (abandoned) void (store as { close?: () => Promise<void> }).close?.();
    return store;
  });
  ready.catch((err: unknown) => logger.error({ err }, 'store connection failed'));

  const resolve = (path: string[]): { owner: unknown; value: unknown } => {
    let owner: unknown = real;
    let value: unknown = real;
    for (const key of path) {
      owner = value;
      value = (value as Record<string, unknown> | undefined)?.[key];
    }
    return { owner, value };
  };

  const member = (path: string[]): unknown =>
    new Proxy(function placeholder() {}, {
      set(_target, prop, value) {
        // wrappers installed on the store (metrics timing) are kept and used from then on
        if (typeof prop === 'string') overrides.set([...path, prop].join('.'), value);
        return true;
      },
      get(_target, prop) {
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        const override = overrides.get([...path, prop].join('.'));
        if (override !== undefined) return override;
        if (real) {
          const { value } = resolve([...path, prop]);
          if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) return value;
        }
        return member([...path, prop]);
      },
      apply(_target, _this, args: unknown[]) {
        if (!real) {
          if (path.length === 1 && path[0] === 'ping') return Promise.resolve(false);
          if (path.length === 1 && path[0] === 'roundTrips') return 0;
          if (path.length === 1 && path[0] === 'close') {
            abandoned = true;
            return Promise.resolve();
          }
          return Promise.reject(new StoreUnavailableError(new Error('not connected yet')));
        }
        const { owner, value } = resolve(path);
        if (typeof value !== 'function') throw new TypeError(`store has no operation ${path.join('.')}`);
        return (value as (...a: unknown[]) => unknown).apply(owner, args);
      },
    });

  const store = new Proxy({} as S, {
    set(_target, prop, value) {
      if (typeof prop === 'string') overrides.set(prop, value);
      return true;
    },
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      const override = overrides.get(prop);
      if (override !== undefined) return override;
      if (prop === 'kind') return real ? (real as unknown as Placeholders).kind : placeholders.kind;
      if (real) {
        const value = (real as Record<string, unknown>)[prop];
        if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) return value;
      }
      return member([prop]);
    },
  });
  return { store, ready };
}

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
  /** how long this step may take before the next one runs anyway */
  timeoutMs: number;
}

export interface ShutdownOptions {
  logger: Logger;
  /** the process exits by then whatever happens (default 9000 ms: within a 10 s grace period) */
  deadlineMs?: number;
  exit?: (code: number) => void;
}

/**
 * Runs `steps` once on the first SIGTERM/SIGINT (or `trigger`), each bounded, then exits 0;
 * exits 1 when the deadline passes first; a second signal exits at once (code 1).
 */
export function gracefulShutdown(
  steps: () => ShutdownStep[],
  opts: ShutdownOptions,
): { trigger(reason: string, code?: number): Promise<void>; onSignal(signal: NodeJS.Signals): void } {
  const { logger } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const deadlineMs = opts.deadlineMs ?? 9000;
  let stopping: Promise<void> | undefined;

  async function run(reason: string, code: number): Promise<void> {
    logger.info({ reason, deadlineMs }, 'shutting down');
    const hard = setTimeout(() => {
      logger.error({ reason }, 'shutdown deadline passed; exiting now');
      exit(1);
    }, deadlineMs);
    hard.unref();
    for (const step of steps()) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        step.run().then(
          () => 'done' as const,
          (err: unknown) => {
            logger.warn({ err, step: step.name }, 'shutdown step failed');
            return 'failed' as const;
          },
        ),
        new Promise<'timed out'>((r) => {
          timer = setTimeout(() => r('timed out'), step.timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (outcome === 'timed out')
        logger.warn({ step: step.name, timeoutMs: step.timeoutMs }, 'shutdown step timed out');
      else logger.debug({ step: step.name, ms: Date.now() - started, outcome }, 'shutdown step');
    }
    clearTimeout(hard);
    logger.info({ reason }, 'stopped');
    exit(code);
  }

  function trigger(reason: string, code = 0): Promise<void> {
    if (stopping) return stopping;
    stopping = run(reason, code);
    return stopping;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      exit(1);
      return;
    }
    void trigger(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { trigger, onSignal };
}
