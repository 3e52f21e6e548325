/**
 * The Redis backend of events, call records and tickets, on its own connections (one for
 * commands, one subscriber) so a batch of call records never queues behind — or in front
 * of — a call's lookup on the store's connection.
 *
 * Keys (under the store prefix):
 *   events:<cid>        Stream, MAXLEN ~ eventsMaxPerCompany, expires after the resume window
 *   events              pub/sub channel: "<id> <json>" of every stored event
 *   calls:w:<wid>       sorted set of call records (JSON) by start time, trimmed by age and count
 *   calls:c:<cid>       the company-wide view, same shape
 *   evticket:<sha256>   an event-socket ticket, SET EX, taken with GETDEL
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { reconnectDelay } from '../store/redis-kv.js';
import {
  Batcher,
  withinRetention,
  DEFAULT_LIMITS,
  pageRecords,
  parseEventId,
  type TelemetryBackend,
  type TelemetryLimits,
} from './backend.js';
import type { CallRecord, NewEvent, PbxEvent } from './model.js';

type Client = ReturnType<typeof createClient>;

/** XADD + EXPIRE + PUBLISH in one step: the published id is the stored one. */
const APPEND_EVENT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], id .. ' ' .. ARGV[4])
return id
`;
const APPEND_SHA = createHash('sha1').update(APPEND_EVENT).digest('hex');

function newClient(url: string, logger: Logger, role: string): Client {
  const client = createClient({ url, socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5_000 } });
  client.on('error', (err: Error) =>
    logger.warn({ err: { message: err.message }, role }, 'redis connection error'),
  );
  return client;
}

/** "<id> <json>" / stream entry → the event with its id first. */
function toEvent(id: string, json: string): PbxEvent | undefined {
  try {
    const { v, ...rest } = JSON.parse(json) as Omit<PbxEvent, 'id'>;
    return { v, id, ...rest } as PbxEvent;
  } catch {
    return undefined;
  }
}

export async function createRedisBackend(opts: {
  url: string;
  prefix: string;
  logger: Logger;
  limits?: Partial<TelemetryLimits>;
}): Promise<TelemetryBackend> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const { prefix, logger } = opts;
  const channel = `${prefix}events`;
  const client = newClient(opts.url, logger, 'telemetry');
  await client.connect();
  await client.scriptLoad(APPEND_EVENT);
  let subscriber: Promise<Client> | undefined;
  let trips = 0;
  const send = (args: string[]): Promise<unknown> => client.sendCommand(args);
  /** while Redis is away, batches are dropped (and counted), not queued without bound */
  const ready = () => {
    if (!client.isReady) throw new Error('redis is not connected');
  };

  const eventBatch = new Batcher<NewEvent>(
    async (items) => {
      ready();
      trips++;
      // commands issued in one tick leave as one pipeline (node-redis writes them together)
      await Promise.all(
        items.map((item) => {
          const body = JSON.stringify({ v: 1, at: new Date().toISOString(), ...item });
          const args = [
            'EVALSHA',
            APPEND_SHA,
            '1',
            `${prefix}events:${item.companyId}`,
            String(limits.eventsMaxPerCompany),
            String(limits.resumeWindowSeconds),
            channel,
            body,
          ];
          return send(args).catch((err: unknown) => {
            if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
            return send(['EVAL', APPEND_EVENT, ...args.slice(2)]);
          });
        }),
      );
    },
    logger,
    'events',
  );

  const keyW = (wid: string) => `${prefix}calls:w:${wid}`;
  const keyC = (cid: string) => `${prefix}calls:c:${cid}`;
  const retentionMs = limits.callListRetentionDays * 86_400_000;

  const recordBatch = new Batcher<CallRecord>(
    async (records) => {
      ready();
      trips++;
      const caps = new Map<string, number>();
      const writes: Array<Promise<unknown>> = [];
      for (const r of records) {
        const member = JSON.stringify(r);
        const score = String(Date.parse(r.startedAt));
        if (r.workplaceId) {
          writes.push(send(['ZADD', keyW(r.workplaceId), score, member]));
          caps.set(keyW(r.workplaceId), limits.callListMaxPerWorkplace);
        }
        writes.push(send(['ZADD', keyC(r.companyId), score, member]));
        caps.set(keyC(r.companyId), limits.callListMaxPerCompany);
      }
      const horizon = String(Date.now() - retentionMs);
      for (const [key, max] of caps) {
        writes.push(send(['ZREMRANGEBYSCORE', key, '-inf', `(${horizon}`]));
        writes.push(send(['ZREMRANGEBYRANK', key, '0', String(-(max + 1))]));
        writes.push(send(['PEXPIRE', key, String(retentionMs)]));
      }
      await Promise.all(writes);
    },
    logger,
    'call records',
  );

  const score = (n: number) => (n === Infinity ? '+inf' : n === -Infinity ? '-inf' : String(n));

  const backend: TelemetryBackend = {
    kind: 'redis',
    events: {
      append: (e) => eventBatch.push(e),
      async subscribe(listener) {
        subscriber ??= (async () => {
          const c = newClient(opts.url, logger, 'telemetry-subscriber');
          await c.connect();
          return c;
        })();
        const sub = await subscriber;
        const onMessage = (message: string) => {
          const space = message.indexOf(' ');
          const event = toEvent(message.slice(0, space), message.slice(space + 1));
          if (event) listener(event);
        };
        await sub.subscribe(channel, onMessage);
        return async () => {
          if (sub.isOpen) await sub.unsubscribe(channel, onMessage);
        };
      },
      async since(companyId, afterId) {
        const after = parseEventId(afterId);
        if (!after || after[0] < Date.now() - limits.resumeWindowSeconds * 1000) return 'gone';
        trips++;
        const entries = (await send([
          'XRANGE',
          `${prefix}events:${companyId}`,
          afterId,
          '+',
          'COUNT',
          String(limits.eventsMaxPerCompany + 1),
        ])) as Array<[string, string[]]>;
        // the entry itself must still be there, else events between were trimmed
        if (entries.length === 0 || entries[0]![0] !== afterId) return 'gone';
        return entries
          .slice(1)
          .map(([id, fields]) => toEvent(id, fields[1] ?? ''))
          .filter((e): e is PbxEvent => e !== undefined);
      },
    },
    records: {
      add: (records) => records.forEach((r) => recordBatch.push(r)),
      async list(q) {
        const key = q.workplaceId ? keyW(q.workplaceId) : keyC(q.companyId);
        return pageRecords(
          withinRetention(q, limits.callListRetentionDays),
          async (max, min, skip, count) => {
            trips++;
            const flat = (await send([
              'ZRANGE',
              key,
              score(max),
              score(min),
              'BYSCORE',
              'REV',
              'LIMIT',
              String(skip),
              String(count),
              'WITHSCORES',
            ])) as string[];
            const out: Array<{ member: string; score: number }> = [];
            for (let i = 0; i < flat.length; i += 2)
              out.push({ member: flat[i]!, score: Number(flat[i + 1]) });
            return out;
          },
        );
      },
      async deleteWorkplace(companyId, workplaceId) {
        trips++;
        const members = (await send(['ZRANGE', keyW(workplaceId), '0', '-1'])) as string[];
        trips++;
        await Promise.all([
          members.length ? send(['ZREM', keyC(companyId), ...members]) : undefined,
          send(['DEL', keyW(workplaceId)]),
        ]);
      },
      async deleteCompany(companyId) {
        trips++;
        await send(['DEL', keyC(companyId)]);
      },
    },
    tickets: {
      async put(hash, value, ttlSeconds) {
        trips++;
        await send(['SET', `${prefix}evticket:${hash}`, value, 'EX', String(ttlSeconds)]);
      },
      async take(hash) {
        trips++;
        return ((await send(['GETDEL', `${prefix}evticket:${hash}`])) as string | null) ?? undefined;
      },
    },
    async flush() {
      await eventBatch.flush();
      await recordBatch.flush();
    },
    roundTrips: () => trips,
    writeErrors: () => eventBatch.errors + recordBatch.errors,
    async close() {
      await backend.flush().catch(() => {});
      const sub = await subscriber?.catch(() => undefined);
      for (const c of [sub, client]) {
        if (!c) continue;
        if (c.isReady) await c.close();
        else if (c.isOpen) c.destroy();
      }
    },
  };
  return backend;
}
