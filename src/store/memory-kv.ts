/**
 * In-process backend: Maps and Sets, synchronous inside async methods, so every method is
 * atomic by construction. Nothing is persisted.
 */
import { EventEmitter } from 'node:events';
import {
  inAnyRange,
  parseRangeMember,
  type AtomicResult,
  type AtomicWrite,
  type CallThroughAdmitResult,
  type CallThroughCounts,
  type CallThroughKeys,
  type CallThroughOp,
  type Guard,
  type Kv,
} from './kv.js';

function fieldOf(json: string, field: string): unknown {
  try {
    return (JSON.parse(json) as Record<string, unknown>)[field];
  } catch {
    return undefined;
  }
}

export class MemoryKv implements Kv {
  readonly kind = 'memory' as const;
  private readonly strings = new Map<string, string>();
  private readonly sets = new Map<string, Set<string>>();
  private readonly hashes = new Map<string, Map<string, string>>();
  private readonly zsets = new Map<string, Map<string, number>>();
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private readonly bus = new EventEmitter();
  /** expiring counters of the call-through guard: key → value and expiry (ms, the op's clock) */
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();
  /** sorted sets of the call-through guard: key → member → score (lease expiry ms) */
  private readonly leases = new Map<string, Map<string, number>>();
  private trips = 0;

  constructor() {
    this.bus.setMaxListeners(0);
  }

  async get(key: string) {
    this.trips++;
    return this.strings.get(key);
  }

  async mget(keys: string[]) {
    this.trips++;
    return keys.map((k) => this.strings.get(k));
  }

  async loadSet(setKey: string, valuePrefix: string) {
    this.trips++;
    const out: Array<{ member: string; value: string }> = [];
    for (const member of this.sets.get(setKey) ?? []) {
      const value = this.strings.get(valuePrefix + member);
      if (value !== undefined) out.push({ member, value });
    }
    return out;
  }

  async getIndirect(
    indexKey: string,
    valuePrefix: string,
  ): Promise<[string, string | undefined] | undefined> {
    this.trips++;
    const index = this.strings.get(indexKey);
    if (index === undefined) return undefined;
    const target = JSON.parse(index) as { kind: string; id: string };
    return [index, this.strings.get(`${valuePrefix}${target.kind}:${target.id}`)];
  }

  async getWithRefs(keys: string[], refFields: string[], refPrefix: string, extraIds: string[]) {
    this.trips++;
    const values = keys.map((k) => this.strings.get(k));
    const ids = new Set(extraIds);
    for (const value of values) {
      if (value === undefined) continue;
      const decoded = JSON.parse(value) as Record<string, unknown>;
      for (const field of refFields) {
        const id = decoded[field];
        if (typeof id === 'string') ids.add(id);
      }
    }
    const refs = new Map<string, string | undefined>();
    for (const id of ids) refs.set(id, this.strings.get(refPrefix + id));
    return { values, refs };
  }

  async hget(key: string, field: string) {
    this.trips++;
    return this.hashes.get(key)?.get(field);
  }

  async zrangeByScore(key: string, maxScore: number, limit: number) {
    this.trips++;
    return [...(this.zsets.get(key) ?? new Map<string, number>())]
      .filter(([, score]) => score <= maxScore)
      .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([member, score]) => ({ member, score }));
  }

  async hvals(key: string) {
    this.trips++;
    return [...(this.hashes.get(key)?.values() ?? [])];
  }

  async incr(key: string) {
    this.trips++;
    const current = Number(this.strings.get(key) ?? '0');
    if (!Number.isInteger(current)) throw new Error(`value at ${key} is not an integer`);
    this.strings.set(key, String(current + 1));
    return current + 1;
  }

  async incrWindow(key: string, windowMs: number) {
    this.trips++;
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      // expired windows of other keys go too (bounded memory under many keys)
      for (const [k, w] of this.windows) if (w.endsAt <= now) this.windows.delete(k);
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count++;
    return { count: window.count, remainingMs: window.endsAt - now };
  }

  async del(key: string) {
    this.trips++;
    this.deleteKey(key);
  }

  private deleteKey(key: string) {
    this.counters.delete(key);
    this.leases.delete(key);
    this.strings.delete(key);
    this.sets.delete(key);
    this.hashes.delete(key);
    this.zsets.delete(key);
    this.windows.delete(key);
  }

  /** The indexes of `ranges` overlapping a range of another owner (brute force: a dev store). */
  private overlapping(key: string, owner: string, ranges: Array<{ first: string; last: string }>): number[] {
    const others = [...(this.zsets.get(key)?.keys() ?? [])]
      .map(parseRangeMember)
      .filter((r) => r.owner !== owner);
    return ranges.flatMap((r, i) => {
      const first = Number(r.first);
      const last = Number(r.last);
      return others.some((o) => o.first <= last && first <= o.last) ? [i] : [];
    });
  }

  private guardHolds(guard: Guard): boolean {
    const current = this.strings.get(guard.key);
    switch (guard.type) {
      case 'absent':
        return current === undefined;
      case 'equals':
        return current === guard.value;
      case 'absentOrEquals':
        return current === undefined || current === guard.value;
      case 'fieldEquals':
        return current !== undefined && fieldOf(current, guard.field) === guard.value;
      case 'absentOrFieldEquals':
        return current === undefined || fieldOf(current, guard.field) === guard.value;
      case 'hashFieldExists':
        return this.hashes.get(guard.key)?.has(guard.field) ?? false;
      case 'exists':
        return [this.strings, this.sets, this.hashes, this.zsets].some((m) => m.has(guard.key));
      case 'setEmpty':
        return (this.sets.get(guard.key)?.size ?? 0) === 0;
      case 'setSizeAtMost':
        return (this.sets.get(guard.key)?.size ?? 0) <= guard.max;
      case 'rangesFree':
        return true; // checked in failedLabel, which names the overlapping ranges
      case 'numberInRanges': {
        const ranges = current === undefined ? undefined : (fieldOf(current, 'numberRanges') as unknown);
        return (
          Array.isArray(ranges) && inAnyRange(guard.number, ranges as Array<{ first: string; last: string }>)
        );
      }
      case 'referrersInRanges':
        return [...(this.sets.get(guard.key) ?? [])].every((member) => {
          if (!member.startsWith('workplace:') && !member.startsWith('portal:')) return true;
          const json = this.strings.get(guard.valuePrefix + member);
          const number = json === undefined ? undefined : fieldOf(json, 'number');
          return typeof number !== 'string' || inAnyRange(number, guard.ranges);
        });
    }
  }

  private failedLabel(guard: Guard): string | undefined {
    if (guard.type === 'rangesFree') {
      const hits = this.overlapping(guard.key, guard.owner, guard.ranges);
      return hits.length > 0 ? guard.label + hits.join(',') : undefined;
    }
    return this.guardHolds(guard) ? undefined : guard.label;
  }

  async atomic(write: AtomicWrite): Promise<AtomicResult> {
    this.trips++;
    for (const guard of write.guards) {
      const failed = this.failedLabel(guard);
      if (failed !== undefined) return failed;
    }
    for (const op of write.ops) {
      switch (op.op) {
        case 'set':
          this.strings.set(op.key, op.value);
          break;
        case 'del':
          this.deleteKey(op.key);
          break;
        case 'sadd': {
          const set = this.sets.get(op.key) ?? new Set<string>();
          set.add(op.member);
          this.sets.set(op.key, set);
          break;
        }
        case 'srem': {
          const set = this.sets.get(op.key);
          set?.delete(op.member);
          if (set?.size === 0) this.sets.delete(op.key);
          break;
        }
        case 'hset': {
          const hash = this.hashes.get(op.key) ?? new Map<string, string>();
          hash.set(op.field, op.value);
          this.hashes.set(op.key, hash);
          break;
        }
        case 'hdel': {
          const hash = this.hashes.get(op.key);
          hash?.delete(op.field);
          if (hash?.size === 0) this.hashes.delete(op.key);
          break;
        }
        case 'zadd': {
          const zset = this.zsets.get(op.key) ?? new Map<string, number>();
          zset.set(op.member, op.score);
          this.zsets.set(op.key, zset);
          break;
        }
        case 'zrem': {
          const zset = this.zsets.get(op.key);
          zset?.delete(op.member);
          if (zset?.size === 0) this.zsets.delete(op.key);
          break;
        }
      }
    }
    for (const { channel, message } of write.publish ?? []) this.emit(channel, message);
    return undefined;
  }

  private emit(channel: string, message: string) {
    // delivered on a later tick like real pub/sub, so a listener never runs inside the writer
    setImmediate(() => this.bus.emit(channel, message));
  }

  async publish(channel: string, message: string) {
    this.trips++;
    this.emit(channel, message);
  }

  async subscribe(channel: string, listener: (message: string) => void) {
    this.bus.on(channel, listener);
    return async () => {
      this.bus.off(channel, listener);
    };
  }

  private counter(key: string, nowMs: number): number {
    const entry = this.counters.get(key);
    if (!entry) return 0;
    if (entry.expiresAt <= nowMs) {
      this.counters.delete(key);
      return 0;
    }
    return entry.value;
  }

  private addTo(key: string, by: number, nowMs: number, ttlSeconds: number): number {
    const value = this.counter(key, nowMs) + by;
    this.counters.set(key, { value, expiresAt: nowMs + ttlSeconds * 1000 });
    return value;
  }

  private activeIn(key: string, nowMs: number): Map<string, number> {
    const set = this.leases.get(key) ?? new Map<string, number>();
    for (const [member, until] of set) if (until <= nowMs) set.delete(member);
    this.leases.set(key, set);
    return set;
  }

  /** The same steps as the Redis script (redis-kv.ts CALL_THROUGHS), synchronously, so atomic. */
  async callThroughs(op: CallThroughOp): Promise<CallThroughAdmitResult | undefined> {
    this.trips++;
    const now = op.nowMs;
    for (const e of op.ends) {
      this.leases.get(e.keys.wActive)?.delete(e.callId);
      this.leases.get(e.keys.cActive)?.delete(e.callId);
      const seconds = Math.max(0, Math.round(e.seconds));
      if (seconds > 0) {
        this.addTo(e.keys.wSeconds, seconds, now, e.dayTtlSeconds);
        this.addTo(e.keys.cSeconds, seconds, now, e.dayTtlSeconds);
      }
    }
    const a = op.admit;
    if (!a) return undefined;
    const k = a.keys;
    if (this.strings.has(k.lock))
      return { kind: 'refused', reason: 'locked', refusalsToday: 0, lockedNow: false };
    const refuse = (reason: string): CallThroughAdmitResult => {
      const hits = this.addTo(k.hits, 1, now, a.dayTtlSeconds);
      let lockedNow = false;
      if (a.lockAfter > 0 && hits >= a.lockAfter) {
        this.strings.set(k.lock, JSON.stringify({ since: a.nowIso, reason, refusals: hits }));
        lockedNow = true;
      }
      return { kind: 'refused', reason, refusalsToday: hits, lockedNow };
    };
    if (a.refusal) return refuse(a.refusal);
    const wActive = this.activeIn(k.wActive, now);
    const cActive = this.activeIn(k.cActive, now);
    const L = a.limits;
    if (this.counter(k.wHour, now) >= L.wPerHour) return refuse('workplace-per-hour');
    if (wActive.size >= L.wConcurrent) return refuse('workplace-concurrent');
    if (this.counter(k.wSeconds, now) >= L.wSeconds) return refuse('workplace-minutes');
    if (this.counter(k.cHour, now) >= L.cPerHour) return refuse('company-per-hour');
    if (cActive.size >= L.cConcurrent) return refuse('company-concurrent');
    if (this.counter(k.cSeconds, now) >= L.cSeconds) return refuse('company-minutes');
    this.addTo(k.wHour, 1, now, a.hourTtlSeconds);
    this.addTo(k.cHour, 1, now, a.hourTtlSeconds);
    wActive.set(a.callId, a.leaseUntilMs);
    cActive.set(a.callId, a.leaseUntilMs);
    const countries = this.sets.get(k.countries) ?? new Set<string>();
    const newCountry = !countries.has(a.country);
    countries.add(a.country);
    this.sets.set(k.countries, countries);
    const secondsLeft = Math.min(
      L.wSeconds - this.counter(k.wSeconds, now),
      L.cSeconds - this.counter(k.cSeconds, now),
    );
    return { kind: 'admitted', newCountry, secondsLeft };
  }

  async callThroughUsage(keys: CallThroughKeys, nowMs: number): Promise<CallThroughCounts> {
    this.trips++;
    return {
      wHour: this.counter(keys.wHour, nowMs),
      cHour: this.counter(keys.cHour, nowMs),
      wActive: this.activeIn(keys.wActive, nowMs).size,
      cActive: this.activeIn(keys.cActive, nowMs).size,
      wSeconds: this.counter(keys.wSeconds, nowMs),
      cSeconds: this.counter(keys.cSeconds, nowMs),
      hits: this.counter(keys.hits, nowMs),
      lock: this.strings.get(keys.lock),
    };
  }

  roundTrips() {
    return this.trips;
  }

  async ping() {
    return true;
  }

  async close() {
    this.bus.removeAllListeners();
  }
}
