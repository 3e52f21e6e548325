/**
 * Bounds what password hashing (scrypt, 32 MiB and ~80 ms each, in libuv's thread pool) may
 * cost the whole service. Without it a flood of sign-ins with made-up names (each its own
 * throttle slot, each a full scrypt) filled the thread pool and both cores: static files and
 * every other route waited seconds behind it.
 *
 * - one hash at a time per client address: a second sign-in from the same address waits its
 *   turn (so a NAT full of honest people still gets in, one after the other); more than
 *   `perAddressQueue` waiting from one address are refused at once (429);
 * - at most `concurrency` hashes at a time for the whole process (default 1: on the 2-core box
 *   one core stays free for everything else, and the thread pool keeps free threads for files);
 * - a global line of at most `maxQueued` waiting, each for at most `maxWaitMs`; a full line or
 *   an expired wait is refused with 503 and Retry-After (the password is then never checked and
 *   the attempt does not count against the account).
 * Throughput at the default: about 12 sign-ins a second per API process, far above what a
 * company's people need; a flood beyond it is refused fast instead of slowing everyone.
 */
export interface PasswordGateOptions {
  concurrency: number;
  maxQueued: number;
  maxWaitMs: number;
  perAddressQueue: number;
}

export const DEFAULT_PASSWORD_GATE: PasswordGateOptions = {
  concurrency: 1,
  maxQueued: 24,
  maxWaitMs: 2_000,
  perAddressQueue: 4,
};

export class GateBusyError extends Error {
  constructor(
    /** 'address': this address has too many waiting; 'full': the whole service is busy */
    readonly reason: 'address' | 'full',
    readonly retryAfterMs: number,
  ) {
    super(reason === 'address' ? 'too many sign-ins from this address at once' : 'sign-in is busy');
    this.name = 'GateBusyError';
  }
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

export class PasswordGate {
  private running = 0;
  /** admitted and not finished: running, waiting for a slot, or waiting behind their address */
  private admitted = 0;
  private readonly line: Waiter[] = [];
  private readonly perAddress = new Map<string, { pending: number; tail: Promise<void> }>();
  readonly options: PasswordGateOptions;

  constructor(options: Partial<PasswordGateOptions> = {}) {
    this.options = { ...DEFAULT_PASSWORD_GATE, ...options };
  }

  /** for tests and metrics: what is running and waiting now */
  get state(): { running: number; waiting: number; addresses: number } {
    return { running: this.running, waiting: this.admitted - this.running, addresses: this.perAddress.size };
  }

  /** Runs `work` when it is this address's turn and a slot is free; GateBusyError otherwise. */
  async run<T>(address: string, work: () => Promise<T>): Promise<T> {
    const { concurrency, maxQueued, maxWaitMs, perAddressQueue } = this.options;
    const mine = this.perAddress.get(address) ?? { pending: 0, tail: Promise.resolve() };
    if (mine.pending >= 1 + perAddressQueue) throw new GateBusyError('address', maxWaitMs);
    if (this.admitted >= concurrency + maxQueued) throw new GateBusyError('full', maxWaitMs);
    const deadline = Date.now() + maxWaitMs;
    this.admitted++;
    mine.pending++;
    const previous = mine.tail;
    let done!: () => void;
    mine.tail = new Promise<void>((resolve) => (done = resolve));
    this.perAddress.set(address, mine);
    try {
      // one at a time per address: wait for the previous attempt of this address to finish
      await previous;
      await this.acquire(deadline);
      try {
        return await work();
      } finally {
        this.release();
      }
    } finally {
      this.admitted--;
      mine.pending--;
      done();
      if (mine.pending === 0 && this.perAddress.get(address) === mine) this.perAddress.delete(address);
    }
  }

  private acquire(deadline: number): Promise<void> {
    if (this.running < this.options.concurrency && this.line.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    const wait = deadline - Date.now();
    if (wait <= 0) return Promise.reject(new GateBusyError('full', this.options.maxWaitMs));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.line.indexOf(waiter);
          if (at >= 0) this.line.splice(at, 1);
          reject(new GateBusyError('full', this.options.maxWaitMs));
        }, wait),
      };
      this.line.push(waiter);
    });
  }

  private release(): void {
    this.running--;
    const next = this.line.shift();
    next?.grant();
  }
}
