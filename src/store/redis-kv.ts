/**
 * Redis backend (node-redis v5). Multi-key writes run as ONE Lua script (EVALSHA, falling back
 * to EVAL when the server lost its script cache, e.g. after a restart), so guards and writes are
 * a single atomic step. Pub/sub uses a second connection, opened on the first subscribe.
 */
import { createHash } from 'node:crypto';
import type pino from 'pino';
import { createClient, ErrorReply } from 'redis';
import type {
  AtomicResult,
  AtomicWrite,
  CallThroughAdmitResult,
  CallThroughCounts,
  CallThroughKeys,
  CallThroughOp,
  Guard,
  Kv,
  WriteOp,
} from './kv.js';
import { StoreUnavailableError } from './store.js';

type Client = ReturnType<typeof createClient>;

/*
 * ARGV[1] = JSON {g: guards, o: ops, p?: [channel, message]}; every key is an index into KEYS.
 * Guard: [type, keyIndex, label, value?, field?]; op: [type, keyIndex, a?, b?].
 */
const ATOMIC_WRITE = `
local p = cjson.decode(ARGV[1])
local function field_of(json, field)
  local ok, obj = pcall(cjson.decode, json)
  if not ok or type(obj) ~= 'table' then return nil end
  return obj[field]
end
-- E.164 strings: a number is in a range of the same length when first <= number <= last
local function in_ranges(number, ranges, a, b)
  if type(ranges) ~= 'table' then return false end
  for _, r in ipairs(ranges) do
    local first, last = r[a], r[b]
    if type(first) == 'string' and #first == #number and first <= number and number <= last then return true end
  end
  return false
end
for _, g in ipairs(p.g) do
  local t, k, label = g[1], KEYS[g[2]], g[3]
  local cur = false
  if t == 'n' or t == 'e' or t == 'ae' or t == 'f' or t == 'af' then cur = redis.call('GET', k) end
  if t == 'h' then
    if redis.call('HEXISTS', k, g[5]) == 0 then return label end
  elseif t == 'n' then
    if cur then return label end
  elseif t == 'e' then
    if cur ~= g[4] then return label end
  elseif t == 'ae' then
    if cur and cur ~= g[4] then return label end
  elseif t == 'f' then
    if not cur or field_of(cur, g[5]) ~= g[4] then return label end
  elseif t == 'af' then
    if cur and field_of(cur, g[5]) ~= g[4] then return label end
  elseif t == 'x' then
    if redis.call('EXISTS', k) == 0 then return label end
  elseif t == 'se' then
    if redis.call('SCARD', k) > 0 then return label end
  elseif t == 'sm' then
    if redis.call('SCARD', k) > tonumber(g[4]) then return label end
  elseif t == 'nr' then
    local obj = false
    local raw = redis.call('GET', k)
    if raw then
      local ok, decoded = pcall(cjson.decode, raw)
      if ok and type(decoded) == 'table' then obj = decoded end
    end
    if not obj or not in_ranges(g[4], obj.numberRanges, 'first', 'last') then return label end
  elseif t == 'rr' then
    for _, m in ipairs(redis.call('SMEMBERS', k)) do
      if string.sub(m, 1, 10) == 'workplace:' or string.sub(m, 1, 7) == 'portal:' then
        local raw = redis.call('GET', g[4] .. m)
        if raw then
          local ok, obj = pcall(cjson.decode, raw)
          if ok and type(obj) == 'table' and type(obj.number) == 'string'
            and not in_ranges(obj.number, g[5], 1, 2) then
            return label
          end
        end
      end
    end
  elseif t == 'rf' then
    -- ranges of other owners are disjoint and sorted by start, so the one with the greatest
    -- start <= last also has the greatest end: only it can overlap (O(log n), not O(groups))
    local hits = {}
    for i, r in ipairs(g[5]) do
      local first, last = tonumber(r[1]), tonumber(r[2])
      local offset = 0
      while true do
        local m = redis.call('ZREVRANGEBYSCORE', k, last, '-inf', 'LIMIT', offset, 1)
        if #m == 0 then break end
        local _, b, owner = string.match(m[1], '^(%d+)|(%d+)|(.*)$')
        if owner ~= g[4] then
          if tonumber(b) >= first then hits[#hits + 1] = tostring(i - 1) end
          break
        end
        offset = offset + 1
      end
    end
    if #hits > 0 then return label .. table.concat(hits, ',') end
  else
    return redis.error_reply('unknown guard ' .. tostring(t))
  end
end
for _, o in ipairs(p.o) do
  local t, k = o[1], KEYS[o[2]]
  if t == 's' then redis.call('SET', k, o[3])
  elseif t == 'd' then redis.call('DEL', k)
  elseif t == 'sa' then redis.call('SADD', k, o[3])
  elseif t == 'sr' then redis.call('SREM', k, o[3])
  elseif t == 'hs' then redis.call('HSET', k, o[3], o[4])
  elseif t == 'hd' then redis.call('HDEL', k, o[3])
  elseif t == 'za' then redis.call('ZADD', k, o[3], o[4])
  elseif t == 'zr' then redis.call('ZREM', k, o[3])
  end
end
if p.p then for _, m in ipairs(p.p) do redis.call('PUBLISH', m[1], m[2]) end end
return ''
`;

/* KEYS[1] = counter; ARGV[1] = window in ms. Returns {count, ms left of the window}. */
const INCR_WINDOW = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

/* KEYS[1] = index key; ARGV[1] = value prefix. Returns {index, value|false} or nil. */
const GET_INDIRECT = `
local index = redis.call('GET', KEYS[1])
if not index then return nil end
local target = cjson.decode(index)
local value = redis.call('GET', ARGV[1] .. target.kind .. ':' .. target.id)
return {index, value}
`;

/*
 * KEYS = entity keys; ARGV[1] = prefix of referenced keys; ARGV[2] = number of reference fields,
 * then the field names, then extra ids. Returns the values of KEYS ('' when missing), then
 * flat {id, value ('' when missing), ...} for the extra ids and every referenced id found.
 */
const GET_WITH_REFS = `
local nf = tonumber(ARGV[2])
local ids, seen, out = {}, {}, {}
for i = 3 + nf, #ARGV do
  local id = ARGV[i]
  if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
end
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  out[i] = v or ''
  if v then
    local ok, decoded = pcall(cjson.decode, v)
    if ok and type(decoded) == 'table' then
      for f = 3, 2 + nf do
        local id = decoded[ARGV[f]]
        if type(id) == 'string' and not seen[id] then seen[id] = true; ids[#ids + 1] = id end
      end
    end
  end
end
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[1] .. id) or ''
end
return out
`;

/* KEYS[1] = set key; ARGV[1] = value prefix. Returns flat {member, value, ...}. */
const LOAD_SET = `
local members = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, m in ipairs(members) do
  local v = redis.call('GET', ARGV[1] .. m)
  if v then out[#out + 1] = m; out[#out + 1] = v end
end
return out
`;

/*
 * The call-through fraud guard (ARGV[1] = JSON {a?: admit, e: ends}; key fields are indexes
 * into KEYS). Settles the ended call-throughs, then admits or refuses a new one — all in one
 * atomic step, so parallel call-throughs on any number of controllers never exceed a limit.
 * Returns '' without `a`, else a JSON verdict.
 */
const CALL_THROUGHS = `
local p = cjson.decode(ARGV[1])
for _, e in ipairs(p.e) do
  redis.call('ZREM', KEYS[e.wa], e.id)
  redis.call('ZREM', KEYS[e.ca], e.id)
  if e.s > 0 then
    redis.call('INCRBY', KEYS[e.ws], e.s)
    redis.call('EXPIRE', KEYS[e.ws], e.dt)
    redis.call('INCRBY', KEYS[e.cs], e.s)
    redis.call('EXPIRE', KEYS[e.cs], e.dt)
  end
end
local a = p.a
if not a then return '' end
local k = a.k
if redis.call('EXISTS', KEYS[k.lock]) == 1 then
  return cjson.encode({kind = 'refused', reason = 'locked', refusalsToday = 0, lockedNow = false})
end
local function refuse(reason)
  local hits = redis.call('INCR', KEYS[k.hits])
  redis.call('EXPIRE', KEYS[k.hits], a.dt)
  local lockedNow = false
  if a.lockAfter > 0 and hits >= a.lockAfter then
    redis.call('SET', KEYS[k.lock], cjson.encode({since = a.nowIso, reason = reason, refusals = hits}))
    lockedNow = true
  end
  return cjson.encode({kind = 'refused', reason = reason, refusalsToday = hits, lockedNow = lockedNow})
end
if a.refusal then return refuse(a.refusal) end
redis.call('ZREMRANGEBYSCORE', KEYS[k.wa], '-inf', a.now)
redis.call('ZREMRANGEBYSCORE', KEYS[k.ca], '-inf', a.now)
local L = a.l
local function num(key) return tonumber(redis.call('GET', KEYS[key]) or '0') end
if num(k.wh) >= L.wh then return refuse('workplace-per-hour') end
if redis.call('ZCARD', KEYS[k.wa]) >= L.wc then return refuse('workplace-concurrent') end
if num(k.ws) >= L.ws then return refuse('workplace-minutes') end
if num(k.ch) >= L.ch then return refuse('company-per-hour') end
if redis.call('ZCARD', KEYS[k.ca]) >= L.cc then return refuse('company-concurrent') end
if num(k.cs) >= L.cs then return refuse('company-minutes') end
redis.call('INCR', KEYS[k.wh])
redis.call('EXPIRE', KEYS[k.wh], a.ht)
redis.call('INCR', KEYS[k.ch])
redis.call('EXPIRE', KEYS[k.ch], a.ht)
redis.call('ZADD', KEYS[k.wa], a.lease, a.id)
redis.call('ZADD', KEYS[k.ca], a.lease, a.id)
local new = redis.call('SADD', KEYS[k.countries], a.country)
local left = math.min(L.ws - num(k.ws), L.cs - num(k.cs))
return cjson.encode({kind = 'admitted', newCountry = new == 1, secondsLeft = left})
`;

/* KEYS = the CallThroughKeys in CALL_THROUGH_KEY_ORDER; ARGV[1] = now (ms). */
const CALL_THROUGH_USAGE = `
local now = ARGV[1]
local function num(i) return tonumber(redis.call('GET', KEYS[i]) or '0') end
return {
  num(3), num(4),
  redis.call('ZCOUNT', KEYS[5], '(' .. now, '+inf'), redis.call('ZCOUNT', KEYS[6], '(' .. now, '+inf'),
  num(7), num(8), num(2), redis.call('GET', KEYS[1]) or ''
}
`;

const CALL_THROUGH_KEY_ORDER = [
  'lock',
  'hits',
  'wHour',
  'cHour',
  'wActive',
  'cActive',
  'wSeconds',
  'cSeconds',
  'countries',
] as const;

const GUARD_CODES: Record<Guard['type'], string> = {
  absent: 'n',
  equals: 'e',
  absentOrEquals: 'ae',
  fieldEquals: 'f',
  absentOrFieldEquals: 'af',
  hashFieldExists: 'h',
  exists: 'x',
  setEmpty: 'se',
  setSizeAtMost: 'sm',
  rangesFree: 'rf',
  numberInRanges: 'nr',
  referrersInRanges: 'rr',
};
const OP_CODES: Record<WriteOp['op'], string> = {
  set: 's',
  del: 'd',
  sadd: 'sa',
  srem: 'sr',
  hset: 'hs',
  hdel: 'hd',
  zadd: 'za',
  zrem: 'zr',
};

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

export interface RedisKvOptions {
  url: string;
  logger?: pino.Logger;
  /**
   * A command without an answer after this long fails with StoreUnavailableError (default
   * 1000 ms): a request or a call must not hang on a Redis that stopped answering.
   */
  commandTimeoutMs?: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;

/** Exponential backoff capped at 5 s; node-redis keeps retrying forever. */
export function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 10), 5_000);
}

export class RedisKv implements Kv {
  readonly kind = 'redis' as const;
  private trips = 0;
  private subscriber: Promise<Client> | undefined;
  private readonly atomicScript = new Script(ATOMIC_WRITE);
  private readonly indirectScript = new Script(GET_INDIRECT);
  private readonly loadSetScript = new Script(LOAD_SET);
  private readonly withRefsScript = new Script(GET_WITH_REFS);
  private readonly callThroughsScript = new Script(CALL_THROUGHS);
  private readonly callThroughUsageScript = new Script(CALL_THROUGH_USAGE);
  private readonly incrWindowScript = new Script(INCR_WINDOW);

  private constructor(
    private readonly client: Client,
    private readonly options: RedisKvOptions,
  ) {}

  static async connect(options: RedisKvOptions): Promise<RedisKv> {
    const client = RedisKv.newClient(options, 'commands');
    await client.connect();
    const kv = new RedisKv(client, options);
    // load the scripts up front so the first call on the hot path is a single EVALSHA
    for (const script of [
      kv.atomicScript,
      kv.indirectScript,
      kv.loadSetScript,
      kv.withRefsScript,
      kv.callThroughsScript,
      kv.callThroughUsageScript,
      kv.incrWindowScript,
    ]) {
      await client.scriptLoad(script.source);
    }
    return kv;
  }

  private static newClient(options: RedisKvOptions, role: string): Client {
    const client = createClient({
      url: options.url,
      socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5_000 },
      // while disconnected, commands fail at once instead of queueing until Redis is back: the
      // caller answers 503 (API) or uses its cache (calls), and no stale write lands minutes
      // later. The subscriber keeps its queue: it re-subscribes by itself on reconnect.
      disableOfflineQueue: role === 'commands',
    });
    // without a listener node-redis would throw connection errors as unhandled 'error' events
    client.on('error', (err: Error) => {
      options.logger?.warn({ err: { message: err.message }, role }, 'redis connection error');
    });
    client.on('reconnecting', () => options.logger?.info({ role }, 'redis reconnecting'));
    return client;
  }

  /**
   * Every command goes through here: no answer within the timeout, or no connection, is a
   * StoreUnavailableError (an error Redis itself replied with stays what it is). The timeout
   * also covers a command already sent when Redis stopped answering, which node-redis would
   * otherwise wait for until the socket dies.
   */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(new Error(`no answer within ${timeoutMs} ms`))),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([command(), timeout]);
    } catch (err) {
      if (err instanceof ErrorReply || err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private async evalScript(script: Script, keys: string[], args: string[]): Promise<unknown> {
    this.trips++;
    return this.run(async () => {
      try {
        return await this.client.evalSha(script.sha, { keys, arguments: args });
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        this.trips++;
        return this.client.eval(script.source, { keys, arguments: args });
      }
    });
  }

  async get(key: string) {
    this.trips++;
    return (await this.run(() => this.client.get(key))) ?? undefined;
  }

  async mget(keys: string[]) {
    if (keys.length === 0) return [];
    this.trips++;
    return (await this.run(() => this.client.mGet(keys))).map((v) => v ?? undefined);
  }

  async loadSet(setKey: string, valuePrefix: string) {
    const flat = (await this.evalScript(this.loadSetScript, [setKey], [valuePrefix])) as string[];
    const out: Array<{ member: string; value: string }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: flat[i]!, value: flat[i + 1]! });
    return out;
  }

  async getIndirect(
    indexKey: string,
    valuePrefix: string,
  ): Promise<[string, string | undefined] | undefined> {
    const reply = (await this.evalScript(this.indirectScript, [indexKey], [valuePrefix])) as
      [string, string | null] | null;
    if (!reply) return undefined;
    return [reply[0], reply[1] ?? undefined];
  }

  async getWithRefs(keys: string[], refFields: string[], refPrefix: string, extraIds: string[]) {
    const flat = (await this.evalScript(this.withRefsScript, keys, [
      refPrefix,
      String(refFields.length),
      ...refFields,
      ...extraIds,
    ])) as string[];
    const values = keys.map((_, i) => flat[i] || undefined);
    const refs = new Map<string, string | undefined>();
    for (let i = keys.length; i + 1 < flat.length; i += 2) refs.set(flat[i]!, flat[i + 1] || undefined);
    return { values, refs };
  }

  async hget(key: string, field: string) {
    this.trips++;
    return (await this.run(() => this.client.hGet(key, field))) ?? undefined;
  }

  async zrangeByScore(key: string, maxScore: number, limit: number) {
    this.trips++;
    const reply = await this.run(() =>
      this.client.zRangeByScoreWithScores(key, '-inf', maxScore, { LIMIT: { offset: 0, count: limit } }),
    );
    return reply.map((r) => ({ member: r.value, score: r.score }));
  }

  async hvals(key: string) {
    this.trips++;
    return this.run(() => this.client.hVals(key));
  }

  async incr(key: string) {
    this.trips++;
    return this.run(() => this.client.incr(key));
  }

  async incrWindow(key: string, windowMs: number) {
    const [count, remainingMs] = (await this.evalScript(
      this.incrWindowScript,
      [key],
      [String(windowMs)],
    )) as [number, number];
    return { count, remainingMs };
  }

  async del(key: string) {
    this.trips++;
    await this.run(() => this.client.del(key));
  }

  async atomic(write: AtomicWrite): Promise<AtomicResult> {
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    const indexOf = (key: string) => {
      let i = keyIndex.get(key);
      if (i === undefined) {
        keys.push(key);
        i = keys.length; // Lua arrays are 1-based
        keyIndex.set(key, i);
      }
      return i;
    };
    const guards = write.guards.map((g) => {
      const base = [GUARD_CODES[g.type], indexOf(g.key), g.label];
      if (g.type === 'equals' || g.type === 'absentOrEquals') return [...base, g.value];
      if (g.type === 'fieldEquals' || g.type === 'absentOrFieldEquals') return [...base, g.value, g.field];
      if (g.type === 'hashFieldExists') return [...base, '', g.field];
      if (g.type === 'setSizeAtMost') return [...base, String(g.max)];
      if (g.type === 'rangesFree') return [...base, g.owner, g.ranges.map((r) => [r.first, r.last])];
      if (g.type === 'numberInRanges') return [...base, g.number];
      if (g.type === 'referrersInRanges')
        return [...base, g.valuePrefix, g.ranges.map((r) => [r.first, r.last])];
      return base;
    });
    const ops = write.ops.map((o) => {
      const base = [OP_CODES[o.op], indexOf(o.key)];
      switch (o.op) {
        case 'set':
          return [...base, o.value];
        case 'sadd':
        case 'srem':
          return [...base, o.member];
        case 'hset':
          return [...base, o.field, o.value];
        case 'hdel':
          return [...base, o.field];
        case 'zadd':
          return [...base, String(o.score), o.member];
        case 'zrem':
          return [...base, o.member];
        case 'del':
          return base;
      }
    });
    // cjson decodes [] as an empty table, which ipairs handles; an object {} would too
    const payload = JSON.stringify({
      g: guards,
      o: ops,
      ...(write.publish?.length ? { p: write.publish.map((m) => [m.channel, m.message]) } : {}),
    });
    const reply = (await this.evalScript(this.atomicScript, keys, [payload])) as string;
    return reply === '' ? undefined : reply;
  }

  async publish(channel: string, message: string) {
    this.trips++;
    await this.run(() => this.client.publish(channel, message));
  }

  async subscribe(channel: string, listener: (message: string) => void) {
    // concurrent first subscribers share one connection attempt
    this.subscriber ??= (async () => {
      const client = RedisKv.newClient(this.options, 'subscriber');
      await client.connect();
      return client;
    })();
    const subscriber = await this.subscriber;
    await subscriber.subscribe(channel, listener);
    return async () => {
      if (subscriber.isOpen) await subscriber.unsubscribe(channel, listener);
    };
  }

  async callThroughs(op: CallThroughOp): Promise<CallThroughAdmitResult | undefined> {
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    const indexOf = (key: string) => {
      let i = keyIndex.get(key);
      if (i === undefined) {
        keys.push(key);
        i = keys.length;
        keyIndex.set(key, i);
      }
      return i;
    };
    const ends = op.ends.map((e) => ({
      id: e.callId,
      s: Math.max(0, Math.round(e.seconds)),
      dt: e.dayTtlSeconds,
      wa: indexOf(e.keys.wActive),
      ca: indexOf(e.keys.cActive),
      ws: indexOf(e.keys.wSeconds),
      cs: indexOf(e.keys.cSeconds),
    }));
    const a = op.admit;
    const admit = a && {
      id: a.callId,
      now: String(a.nowMs),
      nowIso: a.nowIso,
      lease: String(a.leaseUntilMs),
      country: a.country,
      ...(a.refusal ? { refusal: a.refusal } : {}),
      ht: a.hourTtlSeconds,
      dt: a.dayTtlSeconds,
      lockAfter: a.lockAfter,
      l: {
        wh: a.limits.wPerHour,
        wc: a.limits.wConcurrent,
        ws: a.limits.wSeconds,
        ch: a.limits.cPerHour,
        cc: a.limits.cConcurrent,
        cs: a.limits.cSeconds,
      },
      k: {
        lock: indexOf(a.keys.lock),
        hits: indexOf(a.keys.hits),
        wh: indexOf(a.keys.wHour),
        ch: indexOf(a.keys.cHour),
        wa: indexOf(a.keys.wActive),
        ca: indexOf(a.keys.cActive),
        ws: indexOf(a.keys.wSeconds),
        cs: indexOf(a.keys.cSeconds),
        countries: indexOf(a.keys.countries),
      },
    };
    // cjson decodes [] and {} alike as an empty table, which ipairs handles
    const payload = JSON.stringify({ e: ends, ...(admit ? { a: admit } : {}) });
    const reply = (await this.evalScript(this.callThroughsScript, keys, [payload])) as string;
    return reply === '' ? undefined : (JSON.parse(reply) as CallThroughAdmitResult);
  }

  async callThroughUsage(keys: CallThroughKeys, nowMs: number): Promise<CallThroughCounts> {
    const reply = (await this.evalScript(
      this.callThroughUsageScript,
      CALL_THROUGH_KEY_ORDER.map((k) => keys[k]),
      [String(nowMs)],
    )) as Array<number | string>;
    const n = (i: number) => Number(reply[i] ?? 0);
    return {
      wHour: n(0),
      cHour: n(1),
      wActive: n(2),
      cActive: n(3),
      wSeconds: n(4),
      cSeconds: n(5),
      hits: n(6),
      lock: (reply[7] as string) || undefined,
    };
  }

  roundTrips() {
    return this.trips;
  }

  /** false when Redis does not answer within the timeout (commands queue while reconnecting) */
  async ping(timeoutMs = 1_000) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      this.trips++;
      const pong = this.client.ping().then(
        (reply) => reply === 'PONG',
        () => false,
      );
      return await Promise.race([pong, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    const subscriber = await this.subscriber?.catch(() => undefined);
    const clients = [subscriber, this.client].filter((c): c is Client => c !== undefined);
    this.subscriber = undefined;
    await Promise.all(
      clients.map(async (c) => {
        // a client stuck reconnecting would wait for its queue on close(); drop it instead
        if (c.isReady) await c.close();
        else if (c.isOpen) c.destroy();
      }),
    );
  }
}
