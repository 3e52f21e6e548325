/**
 * Where events, call records and event-socket tickets live: Redis in production (see
 * ./redis-backend.ts), memory when REDIS_URL is unset. Both share these contracts and the
 * batching: flows and the API only queue; a batch is written once per tick as one pipeline,
 * never awaited by a call.
 */
import type { Logger } from 'pino';
import type { CallDirection, CallOutcome, CallRecord, NewEvent, PbxEvent } from './model.js';

export interface EventLog {
  /** queues the event; it is stored (and gets its id) with the next batch */
  append(event: NewEvent): void;
  /** every stored event of every company, as stored (any instance's) */
  subscribe(listener: (event: PbxEvent) => void): Promise<() => Promise<void>>;
  /**
   * The company's events after `afterId`, oldest first; 'gone' when `afterId` is no longer
   * kept (older than the resume window, or trimmed).
   */
  since(companyId: string, afterId: string): Promise<PbxEvent[] | 'gone'>;
}

export interface CallListQuery {
  companyId: string;
  /** one workplace's list; absent: the company-wide view */
  workplaceId?: string;
  limit: number;
  cursor?: string;
  /** ISO bounds on startedAt, inclusive */
  from?: string;
  to?: string;
  direction?: CallDirection;
  outcome?: CallOutcome;
}

export interface CallRecordStore {
  /** queues the records; written with the next batch */
  add(records: CallRecord[]): void;
  /** newest first */
  list(query: CallListQuery): Promise<{ items: CallRecord[]; nextCursor?: string }>;
  deleteWorkplace(companyId: string, workplaceId: string): Promise<void>;
  deleteCompany(companyId: string): Promise<void>;
}

export interface TicketStore {
  /** stores `value` under the ticket's hash for `ttlSeconds` */
  put(hash: string, value: string, ttlSeconds: number): Promise<void>;
  /** the value, removed in the same step (a ticket is good once) */
  take(hash: string): Promise<string | undefined>;
}

export interface TelemetryLimits {
  /** events kept per company for resuming */
  eventsMaxPerCompany: number;
  /** how far back a reconnecting client may resume */
  resumeWindowSeconds: number;
  callListRetentionDays: number;
  callListMaxPerWorkplace: number;
  callListMaxPerCompany: number;
}

export const DEFAULT_LIMITS: TelemetryLimits = {
  eventsMaxPerCompany: 1000,
  resumeWindowSeconds: 300,
  callListRetentionDays: 90,
  callListMaxPerWorkplace: 5000,
  callListMaxPerCompany: 50_000,
};

export interface TelemetryBackend {
  readonly kind: 'redis' | 'memory';
  readonly events: EventLog;
  readonly records: CallRecordStore;
  readonly tickets: TicketStore;
  /** resolves once everything queued so far is written */
  flush(): Promise<void>;
  /** round trips (batches and queries) to the backend */
  roundTrips(): number;
  /** failed batch writes (logged, dropped) */
  writeErrors(): number;
  close(): Promise<void>;
}

/**
 * Queues items and writes them in one batch per tick (setImmediate): a burst of calls ending
 * together is one pipeline, and nobody on a call's path waits for it.
 */
export class Batcher<T> {
  private queue: T[] = [];
  private scheduled: Promise<void> | undefined;
  errors = 0;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly logger: Logger,
    private readonly what: string,
    /** a burst beyond this is dropped (and counted) rather than held in memory without bound */
    private readonly maxQueued = 10_000,
  ) {}

  push(item: T): void {
    if (this.queue.length >= this.maxQueued) {
      this.errors++;
      return;
    }
    this.queue.push(item);
    this.scheduled ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run());
  }

  private readonly inFlight = new Set<Promise<void>>();

  private async run(): Promise<void> {
    const items = this.queue;
    this.queue = [];
    this.scheduled = undefined;
    if (items.length === 0) return;
    const write = this.write(items).catch((err: unknown) => {
      // during an outage every tick fails: say so once per 100 failures, not per tick
      if (this.errors++ % 100 === 0)
        this.logger.warn(
          { err, count: items.length, failures: this.errors },
          `${this.what}: batch write failed (dropped)`,
        );
    });
    this.inFlight.add(write);
    try {
      await write;
    } finally {
      this.inFlight.delete(write);
    }
  }

  /** resolves once everything queued so far is written (or has failed) */
  async flush(): Promise<void> {
    while (this.scheduled || this.inFlight.size > 0) {
      if (this.scheduled) await this.scheduled;
      await Promise.all([...this.inFlight]);
    }
  }
}

/** "<ms>-<seq>" stream ids, compared numerically. */
export function parseEventId(id: string): [number, number] | undefined {
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(id);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function compareEventIds(a: string, b: string): number {
  const pa = parseEventId(a) ?? [0, 0];
  const pb = parseEventId(b) ?? [0, 0];
  return pa[0] - pb[0] || pa[1] - pb[1];
}

/** Paging position: before (score, skip members at that score already returned). */
export interface Position {
  score: number;
  skip: number;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(`${p.score}:${p.skip}`).toString('base64url');
}

export function decodeCursor(cursor: string): Position | undefined {
  const m = /^(\d{1,16}):(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? { score: Number(m[1]), skip: Number(m[2]) } : undefined;
}

export function matches(record: CallRecord, q: CallListQuery): boolean {
  if (q.direction && record.direction !== q.direction) return false;
  if (q.outcome && record.outcome !== q.outcome) return false;
  return true;
}

const SCAN_BATCH = 200;
const MAX_SCAN_ROUNDS = 10;

/** The query with `from` no earlier than the retention horizon (a list not written lately still holds older calls). */
export function withinRetention(q: CallListQuery, retentionDays: number): CallListQuery {
  const horizon = Date.now() - retentionDays * 86_400_000;
  const from = q.from ? Math.max(Date.parse(q.from), horizon) : horizon;
  return { ...q, from: new Date(from).toISOString() };
}

/**
 * Newest-first paging over a score-ordered list, filters applied while scanning. `read`
 * returns members with score <= maxScore and >= minScore, newest first, skipping `skip`.
 */
export async function pageRecords(
  q: CallListQuery,
  read: (
    maxScore: number,
    minScore: number,
    skip: number,
    count: number,
  ) => Promise<Array<{ member: string; score: number }>>,
): Promise<{ items: CallRecord[]; nextCursor?: string }> {
  const minScore = q.from ? Date.parse(q.from) : -Infinity;
  const start = q.cursor ? decodeCursor(q.cursor) : undefined;
  let pos: Position = start ?? { score: q.to ? Date.parse(q.to) : Infinity, skip: 0 };
  const items: CallRecord[] = [];
  for (let round = 0; round < MAX_SCAN_ROUNDS; round++) {
    const batch = await read(pos.score, minScore, pos.skip, SCAN_BATCH);
    for (let i = 0; i < batch.length; i++) {
      const { member, score } = batch[i]!;
      pos = score === pos.score ? { score, skip: pos.skip + 1 } : { score, skip: 1 };
      let record: CallRecord;
      try {
        record = JSON.parse(member) as CallRecord;
      } catch {
        continue;
      }
      if (!matches(record, q)) continue;
      items.push(record);
      if (items.length >= q.limit) {
        const more = i < batch.length - 1 || batch.length === SCAN_BATCH;
        return more ? { items, nextCursor: encodeCursor(pos) } : { items };
      }
    }
    if (batch.length < SCAN_BATCH) return { items };
  }
  // scanned enough for one request: the client continues from here
  return { items, nextCursor: encodeCursor(pos) };
}

// ------------------------------------------------------------------------------ memory

interface Stored {
  id: string;
  event: PbxEvent;
}

export function createMemoryBackend(
  logger: Logger,
  limits: TelemetryLimits = DEFAULT_LIMITS,
): TelemetryBackend {
  let trips = 0;
  let lastMs = 0;
  let seq = 0;
  const streams = new Map<string, Stored[]>();
  const listeners = new Set<(e: PbxEvent) => void>();
  const lists = new Map<string, Array<{ member: string; score: number }>>();
  const tickets = new Map<string, { value: string; expires: number }>();

  const eventBatch = new Batcher<NewEvent>(
    async (items) => {
      trips++;
      for (const item of items) {
        const now = Date.now();
        if (now > lastMs) {
          lastMs = now;
          seq = 0;
        } else seq++;
        const id = `${lastMs}-${seq}`;
        const event = { v: 1, id, at: new Date(now).toISOString(), ...item } as PbxEvent;
        const stream = streams.get(item.companyId) ?? [];
        stream.push({ id, event });
        if (stream.length > limits.eventsMaxPerCompany)
          stream.splice(0, stream.length - limits.eventsMaxPerCompany);
        streams.set(item.companyId, stream);
        for (const l of listeners) l(event);
      }
    },
    logger,
    'events',
  );

  const keyW = (wid: string) => `w:${wid}`;
  const keyC = (cid: string) => `c:${cid}`;
  function addTo(key: string, member: string, score: number, max: number): void {
    const list = lists.get(key) ?? [];
    // ascending by score, then member (as a Redis sorted set)
    let i = list.length;
    while (
      i > 0 &&
      (list[i - 1]!.score > score || (list[i - 1]!.score === score && list[i - 1]!.member > member))
    )
      i--;
    list.splice(i, 0, { member, score });
    const horizon = Date.now() - limits.callListRetentionDays * 86_400_000;
    while (list.length > 0 && list[0]!.score < horizon) list.shift();
    if (list.length > max) list.splice(0, list.length - max);
    lists.set(key, list);
  }
  const recordBatch = new Batcher<CallRecord>(
    async (records) => {
      trips++;
      for (const r of records) {
        const member = JSON.stringify(r);
        const score = Date.parse(r.startedAt);
        if (r.workplaceId) addTo(keyW(r.workplaceId), member, score, limits.callListMaxPerWorkplace);
        addTo(keyC(r.companyId), member, score, limits.callListMaxPerCompany);
      }
    },
    logger,
    'call records',
  );

  return {
    kind: 'memory',
    events: {
      append: (e) => eventBatch.push(e),
      async subscribe(listener) {
        listeners.add(listener);
        return async () => void listeners.delete(listener);
      },
      async since(companyId, afterId) {
        trips++;
        const after = parseEventId(afterId);
        if (!after || after[0] < Date.now() - limits.resumeWindowSeconds * 1000) return 'gone';
        const stream = streams.get(companyId) ?? [];
        const at = stream.findIndex((s) => s.id === afterId);
        if (at < 0) return 'gone';
        return stream.slice(at + 1).map((s) => s.event);
      },
    },
    records: {
      add: (records) => records.forEach((r) => recordBatch.push(r)),
      async list(q) {
        const list = lists.get(q.workplaceId ? keyW(q.workplaceId) : keyC(q.companyId)) ?? [];
        return pageRecords(
          withinRetention(q, limits.callListRetentionDays),
          async (max, min, skip, count) => {
            trips++;
            const picked: Array<{ member: string; score: number }> = [];
            for (let i = list.length - 1; i >= 0; i--) {
              const e = list[i]!;
              if (e.score > max) continue;
              if (e.score < min) break;
              picked.push(e);
            }
            return picked.slice(skip, skip + count);
          },
        );
      },
      async deleteWorkplace(companyId, workplaceId) {
        trips++;
        const own = new Set((lists.get(keyW(workplaceId)) ?? []).map((e) => e.member));
        lists.delete(keyW(workplaceId));
        const company = lists.get(keyC(companyId));
        if (company)
          lists.set(
            keyC(companyId),
            company.filter((e) => !own.has(e.member)),
          );
      },
      async deleteCompany(companyId) {
        trips++;
        lists.delete(keyC(companyId));
      },
    },
    tickets: {
      async put(hash, value, ttlSeconds) {
        trips++;
        tickets.set(hash, { value, expires: Date.now() + ttlSeconds * 1000 });
      },
      async take(hash) {
        trips++;
        const t = tickets.get(hash);
        tickets.delete(hash);
        return t && t.expires > Date.now() ? t.value : undefined;
      },
    },
    async flush() {
      await eventBatch.flush();
      await recordBatch.flush();
    },
    roundTrips: () => trips,
    writeErrors: () => eventBatch.errors + recordBatch.errors,
    async close() {
      listeners.clear();
    },
  };
}
