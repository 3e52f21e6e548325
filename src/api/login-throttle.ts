/**
 * Sign-in throttle per account (per login name as typed, lowercased): a few failures are free,
 * then each further failure locks that login for a growing delay. It never looks at the client
 * address, so one attacker cannot lock out everyone behind the same NAT, and a password spray
 * across many accounts is slowed per account. In memory per API instance (several instances
 * each allow their own budget; the delay still applies on each).
 */
export const FREE_FAILURES = 5;
export const BASE_DELAY_MS = 30_000;
export const MAX_DELAY_MS = 15 * 60_000;
/** failures older than this are forgotten */
export const FORGET_AFTER_MS = 60 * 60_000;

export class LoginThrottle {
  private readonly entries = new Map<string, { failures: number; lockedUntil: number; last: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private entry(login: string) {
    const key = login.toLowerCase();
    const e = this.entries.get(key);
    if (e && this.now() - e.last > FORGET_AFTER_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** ms until this login may try again; 0 when it may now */
  retryAfterMs(login: string): number {
    const e = this.entry(login);
    return e ? Math.max(0, e.lockedUntil - this.now()) : 0;
  }

  recordFailure(login: string): void {
    const key = login.toLowerCase();
    const now = this.now();
    if (this.entries.size >= 50_000) this.prune();
    const e = this.entry(key) ?? { failures: 0, lockedUntil: 0, last: now };
    e.failures += 1;
    e.last = now;
    if (e.failures >= FREE_FAILURES) {
      const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (e.failures - FREE_FAILURES));
      e.lockedUntil = now + delay;
    }
    this.entries.set(key, e);
  }

  /**
   * Takes one attempt before the (slow) password check, in one synchronous step: it counts as a
   * failure right away, so parallel attempts cannot all pass the check while the first ones are
   * still hashing (24 wrong and 1 right password sent at once: at most FREE_FAILURES are
   * checked, the rest are refused). Returns 0 when the attempt may go ahead, else the ms to
   * wait (nothing counted). A success then clears the account (recordSuccess); an attempt that
   * was never checked (the service was busy) is given back (cancel).
   */
  reserve(login: string): number {
    const wait = this.retryAfterMs(login);
    if (wait > 0) return wait;
    this.recordFailure(login);
    return 0;
  }

  /** gives back an attempt reserved but never checked */
  cancel(login: string): void {
    const e = this.entry(login);
    if (!e) return;
    e.failures = Math.max(0, e.failures - 1);
    if (e.failures < FREE_FAILURES) e.lockedUntil = 0;
    else e.lockedUntil = e.last + Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (e.failures - FREE_FAILURES));
  }

  recordSuccess(login: string): void {
    this.entries.delete(login.toLowerCase());
  }

  private prune(): void {
    const now = this.now();
    for (const [k, e] of this.entries)
      if (now - e.last > FORGET_AFTER_MS && e.lockedUntil <= now) this.entries.delete(k);
    if (this.entries.size >= 50_000) this.entries.clear();
  }
}
