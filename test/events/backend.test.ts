/**
 * The events / call-records / tickets backend: one contract, run on Redis and in memory.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  createMemoryBackend,
  DEFAULT_LIMITS,
  decodeCursor,
  encodeCursor,
  type TelemetryBackend,
  type TelemetryLimits,
  withinRetention,
} from '../../src/events/backend.js';
import type { CallRecord, PbxEvent } from '../../src/events/model.js';
import { createRedisBackend } from '../../src/events/redis-backend.js';
import { startRedisServer } from '../../tools/redis-server.js';

const logger = pino({ level: 'silent' });
const opened: TelemetryBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
});

const kinds: Array<[string, (limits?: Partial<TelemetryLimits>) => Promise<TelemetryBackend>]> = [
  ['memory', async (limits) => createMemoryBackend(logger, { ...DEFAULT_LIMITS, ...limits })],
  [
    'redis',
    async (limits) => {
      const b = await createRedisBackend({
        url: inject('redisUrl'),
        prefix: `test-events-${randomUUID()}:`,
        logger,
        ...(limits ? { limits } : {}),
      });
      opened.push(b);
      return b;
    },
  ],
];

function record(over: Partial<CallRecord> & { id: string; startedAt: string }): CallRecord {
  return {
    companyId: 'c1',
    workplaceId: 'w1',
    direction: 'inbound',
    from: '+4989111222',
    fromDialled: '+4989111222',
    to: '+4930123410',
    toDialled: '+4930123410',
    endedAt: over.startedAt,
    durationSeconds: 0,
    outcome: 'missed',
    ...over,
  };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe.each(kinds)('telemetry backend (%s)', (_kind, make) => {
  it('stores events with increasing ids, publishes them, and replays after an id', async () => {
    const b = await make();
    const live: PbxEvent[] = [];
    const unsubscribe = await b.events.subscribe((e) => live.push(e));
    for (let i = 0; i < 3; i++)
      b.events.append({ companyId: 'c1', type: 'config.changed', method: 'PUT', route: `r${i}` });
    b.events.append({ companyId: 'c2', type: 'pin.unlocked', workplaceId: 'w9' });
    await b.flush();
    await until(() => live.length === 4);
    const c1 = live.filter((e) => e.companyId === 'c1');
    expect(c1.map((e) => (e.type === 'config.changed' ? e.route : ''))).toEqual(['r0', 'r1', 'r2']);
    expect(c1.every((e) => e.v === 1 && /^\d+-\d+$/.test(e.id) && !Number.isNaN(Date.parse(e.at)))).toBe(
      true,
    );
    expect(await b.events.since('c1', c1[0]!.id)).toEqual(c1.slice(1));
    expect(await b.events.since('c1', c1[2]!.id)).toEqual([]);
    // an id not (or no longer) in the stream, or older than the window: the client lost events
    expect(await b.events.since('c1', `${Date.now() - 1000}-999`)).toBe('gone');
    expect(await b.events.since('c1', '1000-0')).toBe('gone');
    await unsubscribe();
  });

  it('keeps only the newest events per company: a trimmed id is gone', async () => {
    const b = await make({ eventsMaxPerCompany: 10 });
    const live: PbxEvent[] = [];
    await b.events.subscribe((e) => live.push(e));
    for (let i = 0; i < 300; i++) b.events.append({ companyId: 'c1', type: 'pin.unlocked' });
    await b.flush();
    await until(() => live.length === 300);
    expect(await b.events.since('c1', live[0]!.id)).toBe('gone');
    const tail = await b.events.since('c1', live[295]!.id);
    expect(tail).not.toBe('gone');
    expect((tail as PbxEvent[]).map((e) => e.id)).toEqual(live.slice(296).map((e) => e.id));
  });

  it('a burst of call records is one round trip; lists are newest first, paged through ties', async () => {
    const b = await make();
    const start = minutesAgo(5);
    const before = b.roundTrips();
    // five calls starting in the same millisecond, two earlier ones
    const records = [
      ...['a', 'b', 'c', 'd', 'e'].map((id) => record({ id, startedAt: start })),
      record({ id: 'old1', startedAt: minutesAgo(10), outcome: 'answered' }),
      record({ id: 'old2', startedAt: minutesAgo(20), workplaceId: 'w2', direction: 'outbound' }),
    ];
    b.records.add(records);
    await b.flush();
    expect(b.roundTrips() - before).toBe(1);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await b.records.list({
        companyId: 'c1',
        workplaceId: 'w1',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.slice(0, 5).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(seen.slice(5)).toEqual(['old1']);
    const company = await b.records.list({ companyId: 'c1', limit: 50 });
    expect(company.items.map((r) => r.id).slice(-2)).toEqual(['old1', 'old2']);
    expect(
      (await b.records.list({ companyId: 'c1', limit: 50, outcome: 'answered' })).items.map((r) => r.id),
    ).toEqual(['old1']);
    expect(
      (await b.records.list({ companyId: 'c1', limit: 50, direction: 'outbound' })).items.map((r) => r.id),
    ).toEqual(['old2']);
    expect(
      (
        await b.records.list({ companyId: 'c1', limit: 50, from: minutesAgo(15), to: minutesAgo(7) })
      ).items.map((r) => r.id),
    ).toEqual(['old1']);
    await b.records.deleteWorkplace('c1', 'w1');
    expect((await b.records.list({ companyId: 'c1', workplaceId: 'w1', limit: 50 })).items).toEqual([]);
    expect((await b.records.list({ companyId: 'c1', limit: 50 })).items.map((r) => r.id)).toEqual(['old2']);
  });

  it('bounds a list by count and by age', async () => {
    const b = await make({ callListMaxPerWorkplace: 10, callListRetentionDays: 1 });
    b.records.add([
      record({ id: 'ancient', startedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() }),
    ]);
    for (let i = 0; i < 15; i++) b.records.add([record({ id: `r${i}`, startedAt: minutesAgo(30 - i) })]);
    await b.flush();
    const items = (await b.records.list({ companyId: 'c1', workplaceId: 'w1', limit: 100 })).items;
    expect(items.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `r${14 - i}`));
  });

  it('a ticket is taken once', async () => {
    const b = await make();
    await b.tickets.put('h1', '{"companyId":"c1"}', 30);
    expect(await b.tickets.take('h1')).toBe('{"companyId":"c1"}');
    expect(await b.tickets.take('h1')).toBeUndefined();
    expect(await b.tickets.take('never')).toBeUndefined();
  });
});

describe('several API instances (Redis)', () => {
  it('an event stored by one instance reaches the subscribers of another and can be replayed there', async () => {
    const prefix = `test-events-${randomUUID()}:`;
    const url = inject('redisUrl');
    const [controller, api] = await Promise.all([
      createRedisBackend({ url, prefix, logger }),
      createRedisBackend({ url, prefix, logger }),
    ]);
    opened.push(controller, api);
    const seen: PbxEvent[] = [];
    await api.events.subscribe((e) => seen.push(e));
    controller.events.append({ companyId: 'c1', type: 'pin.unlocked', workplaceId: 'w1' });
    controller.events.append({ companyId: 'c1', type: 'pin.unlocked', workplaceId: 'w2' });
    await controller.flush();
    await until(() => seen.length === 2);
    expect(await api.events.since('c1', seen[0]!.id)).toEqual([seen[1]]);
    controller.records.add([record({ id: 'x', startedAt: minutesAgo(1) })]);
    await controller.flush();
    expect((await api.records.list({ companyId: 'c1', limit: 5 })).items.map((r) => r.id)).toEqual(['x']);
  });
});

describe('tickets in Redis', () => {
  it('are stored only as the given hash, with the TTL', async () => {
    const prefix = `test-events-${randomUUID()}:`;
    const b = await createRedisBackend({ url: inject('redisUrl'), prefix, logger });
    opened.push(b);
    const raw = createClient({ url: inject('redisUrl') });
    await raw.connect();
    try {
      await b.tickets.put('abc123', '{"companyId":"c1"}', 30);
      const ttl = await raw.pTTL(`${prefix}evticket:abc123`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30_000);
      expect(await raw.keys(`${prefix}*`)).toEqual([`${prefix}evticket:abc123`]);
    } finally {
      await raw.close();
    }
  });
});

describe('Redis away', () => {
  it('batches are dropped and counted, never queued without bound; writes resume after', async () => {
    const redis = await startRedisServer();
    const b = await createRedisBackend({ url: redis.url, prefix: 'away:', logger });
    try {
      await redis.stop();
      await until(() => b.writeErrors() === 0); // nothing failed yet
      for (let i = 0; i < 50; i++) b.records.add([record({ id: `r${i}`, startedAt: minutesAgo(1) })]);
      b.events.append({ companyId: 'c1', type: 'pin.unlocked' });
      await b.flush(); // returns: nothing waits for a Redis that is not there
      expect(b.writeErrors()).toBeGreaterThanOrEqual(2);
    } finally {
      await b.close();
    }
  });
});

describe('retention on read', () => {
  it('a list not written lately never shows a call older than the retention', () => {
    const q = { companyId: 'c1', limit: 10 };
    const horizon = Date.parse(withinRetention(q, 1).from!);
    expect(Math.abs(horizon - (Date.now() - 86_400_000))).toBeLessThan(60_000);
    expect(withinRetention({ ...q, from: '2000-01-01T00:00:00Z' }, 1).from).not.toBe(
      '2000-01-01T00:00:00.000Z',
    );
    const recent = new Date(Date.now() - 3_600_000).toISOString();
    expect(withinRetention({ ...q, from: recent }, 1).from).toBe(recent);
  });
});

describe('cursor', () => {
  it('round-trips and refuses garbage', () => {
    expect(decodeCursor(encodeCursor({ score: 1764486000000, skip: 3 }))).toEqual({
      score: 1764486000000,
      skip: 3,
    });
    expect(decodeCursor('not-a-cursor')).toBeUndefined();
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}
