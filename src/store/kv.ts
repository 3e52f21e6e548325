/**
 * The low-level key/value port under the repositories. Two backends implement it:
 * RedisKv (production) and MemoryKv (REDIS_URL unset). The repositories are written once
 * on top of it, so both stores share every rule and pass the same contract tests.
 *
 * Each method is exactly one round trip to the backend.
 */

/** A precondition checked before an atomic write; `label` is what the write reports on failure. */
export type Guard =
  /** key must not exist */
  | { type: 'absent'; key: string; label: string }
  /** key must hold exactly this value */
  | { type: 'equals'; key: string; value: string; label: string }
  /** key must be absent or hold this value (an index entry that is free or already ours) */
  | { type: 'absentOrEquals'; key: string; value: string; label: string }
  /** key must hold JSON whose top-level string field equals value */
  | { type: 'fieldEquals'; key: string; field: string; value: string; label: string }
  /** key must be absent or hold JSON whose top-level string field equals value */
  | { type: 'absentOrFieldEquals'; key: string; field: string; value: string; label: string }
  /** the hash at key must have this field */
  | { type: 'hashFieldExists'; key: string; field: string; label: string }
  /** key must exist */
  | { type: 'exists'; key: string; label: string }
  /** the set at key must have no members (nothing refers to an object any more) */
  | { type: 'setEmpty'; key: string; label: string }
  /** the set at key must have at most `max` members */
  | { type: 'setSizeAtMost'; key: string; max: number; label: string }
  /** the JSON at key (a group) has a numberRanges entry holding `number` (E.164) */
  | { type: 'numberInRanges'; key: string; number: string; label: string }
  /**
   * Every workplace or portal named in the set at key ("workplace:<id>", the reference set of a
   * group) has its `number` (the JSON at `<valuePrefix><member>`) inside `ranges` (E.164).
   */
  | {
      type: 'referrersInRanges';
      key: string;
      valuePrefix: string;
      ranges: Array<{ first: string; last: string }>;
      label: string;
    }
  /**
   * No range of the range index at key (a sorted set, see RangeIndexOp) other than `owner`'s
   * overlaps any of `ranges` (digit strings, inclusive). Fails with `label` + the indexes of
   * the overlapping ranges, comma separated ("#ranges:0,2").
   */
  | {
      type: 'rangesFree';
      key: string;
      owner: string;
      ranges: Array<{ first: string; last: string }>;
      label: string;
    };

export type WriteOp =
  | { op: 'set'; key: string; value: string }
  | { op: 'del'; key: string }
  | { op: 'sadd'; key: string; member: string }
  | { op: 'srem'; key: string; member: string }
  | { op: 'hset'; key: string; field: string; value: string }
  | { op: 'hdel'; key: string; field: string }
  /** sorted set: member with score (range index: score = the range's first number) */
  | { op: 'zadd'; key: string; score: number; member: string }
  | { op: 'zrem'; key: string; member: string };

export interface AtomicWrite {
  guards: Guard[];
  ops: WriteOp[];
  /** published after the ops, inside the same atomic step */
  publish?: Array<{ channel: string; message: string }>;
}

/** undefined when every guard held and the ops were applied; else the label of the first failed guard */
export type AtomicResult = string | undefined;

export interface Kv {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  mget(keys: string[]): Promise<Array<string | undefined>>;
  /** values of `<valuePrefix><member>` for every member of the set (members without a value are skipped) */
  loadSet(setKey: string, valuePrefix: string): Promise<Array<{ member: string; value: string }>>;
  /** GET indexKey, then GET `<valuePrefix><decoded.kind>:<decoded.id>` — the per-call lookup */
  getIndirect(indexKey: string, valuePrefix: string): Promise<[string, string | undefined] | undefined>;
  /**
   * GET every key, and in the same round trip the values of `<refPrefix><id>` for `extraIds` and
   * for every string field named in `refFields` of the (JSON) values found — the blocking
   * context of a call: group + company + the profiles they and the workplace point to.
   */
  getWithRefs(
    keys: string[],
    refFields: string[],
    refPrefix: string,
    extraIds: string[],
  ): Promise<{ values: Array<string | undefined>; refs: Map<string, string | undefined> }>;
  hget(key: string, field: string): Promise<string | undefined>;
  /** members of a sorted set with a score up to `maxScore`, lowest first, at most `limit` */
  zrangeByScore(
    key: string,
    maxScore: number,
    limit: number,
  ): Promise<Array<{ member: string; score: number }>>;
  hvals(key: string): Promise<string[]>;
  incr(key: string): Promise<number>;
  /**
   * Fixed-window counter: increments key, starting a window of `windowMs` when the key is new;
   * returns the count in the window and the time left of it. One round trip.
   */
  incrWindow(key: string, windowMs: number): Promise<{ count: number; remainingMs: number }>;
  del(key: string): Promise<void>;
  atomic(write: AtomicWrite): Promise<AtomicResult>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * The call-through fraud guard's counters, in ONE atomic step: settles the finished
   * call-throughs in `ends`, then (when `admit` is given) admits a new one or refuses it.
   */
  callThroughs(op: CallThroughOp): Promise<CallThroughAdmitResult | undefined>;
  /** the counters of one workplace and its company now (expired windows and leases count 0) */
  callThroughUsage(keys: CallThroughKeys, nowMs: number): Promise<CallThroughCounts>;
  roundTrips(): number;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** `number` lies in one of `ranges` (E.164 strings: same length, then string order). */
export function inAnyRange(number: string, ranges: ReadonlyArray<{ first: string; last: string }>): boolean {
  return ranges.some((r) => r.first.length === number.length && r.first <= number && number <= r.last);
}

/**
 * A range in a range index (sorted set): member "<first>|<last>|<owner>" (digits of the E.164
 * numbers), score = first as a number (E.164 has at most 15 digits, exact in a double).
 * Numbers of different lengths never compare equal, so numeric order is safe across lengths.
 */
export function rangeMember(first: string, last: string, owner: string): { member: string; score: number } {
  return { member: `${first}|${last}|${owner}`, score: Number(first) };
}

export function parseRangeMember(member: string): { first: number; last: number; owner: string } {
  const [first, last, ...owner] = member.split('|');
  return { first: Number(first), last: Number(last), owner: owner.join('|') };
}

/** Deterministic JSON: object keys sorted, so equal values serialise to equal strings (CAS guards). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** The counter keys of one call-through (workplace w, company c). */
export interface CallThroughKeys {
  /** lock of the workplace (JSON; no expiry: an admin lifts it) */
  lock: string;
  /** refusals of the workplace today */
  hits: string;
  /** call-throughs started this hour: workplace, company */
  wHour: string;
  cHour: string;
  /** running call-throughs (sorted set: call id → lease expiry ms): workplace, company */
  wActive: string;
  cActive: string;
  /** talk seconds today: workplace, company */
  wSeconds: string;
  cSeconds: string;
  /** countries the company has called through to (set) */
  countries: string;
}

export interface CallThroughAdmit {
  keys: CallThroughKeys;
  callId: string;
  nowMs: number;
  nowIso: string;
  /** the lease ends here even when nobody settles the call (a controller that died) */
  leaseUntilMs: number;
  country: string;
  /** refused by its destination class before any counter: counted as a refusal only */
  refusal?: string;
  /** hour / day counters expire after these */
  hourTtlSeconds: number;
  dayTtlSeconds: number;
  limits: {
    wPerHour: number;
    wConcurrent: number;
    wSeconds: number;
    cPerHour: number;
    cConcurrent: number;
    cSeconds: number;
  };
  /** refusals today after which the workplace is locked; 0: never */
  lockAfter: number;
}

export interface CallThroughEnd {
  keys: Pick<CallThroughKeys, 'wActive' | 'cActive' | 'wSeconds' | 'cSeconds'>;
  callId: string;
  seconds: number;
  dayTtlSeconds: number;
}

export interface CallThroughOp {
  admit?: CallThroughAdmit;
  ends: CallThroughEnd[];
  /**
   * The request's time: the one clock of the operation. It chose the windows (the keys) and it
   * decides what has expired; the memory store reads no other clock. Redis expires keys by its own
   * clock with relative TTLs longer than their windows, which in production is the same time.
   */
  nowMs: number;
}

export type CallThroughAdmitResult =
  /** secondsLeft: talk time left today (the lesser of workplace and company) */
  | { kind: 'admitted'; newCountry: boolean; secondsLeft: number }
  | { kind: 'refused'; reason: string; refusalsToday: number; lockedNow: boolean };

export interface CallThroughCounts {
  wHour: number;
  cHour: number;
  wActive: number;
  cActive: number;
  wSeconds: number;
  cSeconds: number;
  hits: number;
  lock: string | undefined;
}
