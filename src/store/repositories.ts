/**
 * All repository logic, written once over the Kv port (see kv.ts), so the Redis and the
 * in-memory store behave identically.
 *
 * Key layout under the prefix p (default "pbx:"):
 *   p<kind>:<id>              entity JSON (kind: company, group, area, blockingProfile, template, workplace, portal)
 *   p<kind>s-of:<companyId>   set of ids for list(); pcompanies for companies
 *   pnum:<e164>               NumberTarget JSON (global: a number routes to exactly one place)
 *   pext:<companyId>:<ext>    NumberTarget JSON (workplaces and portals share a company's extensions)
 *   puser:<username>          workplace id (global)
 *   ppn:<e164>                set of workplace ids with that parallel-ringing number
 *   ptoken:<sha256>           token JSON; ptoken-id:<id> → sha256; ptokens-of:<companyId> set of sha256
 *   pvbm:<workplaceId>        hash message id → message JSON
 *   ppinfail:<workplaceId>    counter
 *   plive:<workplaceId>       LiveCall JSON; plive-by-ctl:<controllerId> set of workplace ids
 *   pct:<…>                   call-through fraud guard counters (see callThroughKeys)
 *   pacct:, psess:, plink:    web app accounts, sessions, one-time links (see accounts.ts)
 *   pchanged                  pub/sub channel of ConfigChange JSON
 *
 * Entities are stored as canonical JSON (sorted keys), so "the stored object still equals the
 * one the caller read" is a plain string comparison inside the atomic write.
 */
import type pino from 'pino';
import type {
  AnywherePortal,
  ApiToken,
  BlockingProfile,
  Company,
  Group,
  LiveCall,
  NumberTarget,
  VoiceboxMessage,
  Workplace,
} from '../domain/model.js';
import { createAccountsRepo } from './accounts.js';
import type { CallTarget, PbxStore } from './call-lookup.js';
import { dayBucket, hourBucket, type RefusalReason } from '../domain/fraud.js';
import {
  canonicalJson,
  type AtomicWrite,
  type CallThroughEnd,
  type CallThroughKeys,
  type Guard,
  type Kv,
  type WriteOp,
} from './kv.js';
import {
  type CallThroughLock,
  type CallThroughSettlement,
  ConflictError,
  StaleWriteError,
  type CompanyScopedRepo,
  type ConfigChange,
  type EntityKind,
} from './store.js';

/** guard label: the entity itself changed between our read and our write */
const CHANGED = '#changed';
/** guard label: the object belongs to another company (or is gone) — the write is a no-op */
const NOT_OURS = '#not-ours';
/** call-through counter windows live a little longer than the window itself */
const HOUR_TTL_SECONDS = 2 * 3600;
const DAY_TTL_SECONDS = 2 * 86_400;
/** a write without `previous` re-reads and retries this often when it keeps racing */
const MAX_ATTEMPTS = 8;

type Scoped = { id: string; companyId: string };
type IndexedKind = 'workplace' | 'portal';

function parse<T>(json: string | undefined): T | undefined {
  return json === undefined ? undefined : (JSON.parse(json) as T);
}

export function createKvStore(kv: Kv, prefix: string, logger?: pino.Logger): PbxStore {
  const p = prefix;
  const entityKey = (kind: EntityKind, id: string) => `${p}${kind}:${id}`;
  const membersKey = (kind: EntityKind, companyId: string) => `${p}${kind}s-of:${companyId}`;
  const companiesKey = `${p}companies`;
  const numberKey = (number: string) => `${p}num:${number}`;
  const extensionKey = (companyId: string, extension: string) => `${p}ext:${companyId}:${extension}`;
  const usernameKey = (username: string) => `${p}user:${username}`;
  const parallelKey = (number: string) => `${p}pn:${number}`;
  const tokenKey = (hash: string) => `${p}token:${hash}`;
  const tokenIdKey = (id: string) => `${p}token-id:${id}`;
  const tokensOfKey = (companyId: string) => `${p}tokens-of:${companyId}`;
  const voiceboxKey = (workplaceId: string) => `${p}vbm:${workplaceId}`;
  const pinFailKey = (workplaceId: string) => `${p}pinfail:${workplaceId}`;
  const liveKey = (workplaceId: string) => `${p}live:${workplaceId}`;
  const liveByControllerKey = (controllerId: string) => `${p}live-by-ctl:${controllerId}`;
  const changeChannel = `${p}changed`;
  /** the call-through guard's counters: hour / day windows expire, the lock never does */
  const callThroughKeys = (companyId: string, workplaceId: string, nowMs: number): CallThroughKeys => {
    const hour = hourBucket(nowMs);
    const day = dayBucket(nowMs);
    return {
      lock: `${p}ct:lock:${workplaceId}`,
      hits: `${p}ct:hits:${workplaceId}:${day}`,
      wHour: `${p}ct:wh:${workplaceId}:${hour}`,
      cHour: `${p}ct:ch:${companyId}:${hour}`,
      wActive: `${p}ct:wa:${workplaceId}`,
      cActive: `${p}ct:ca:${companyId}`,
      wSeconds: `${p}ct:ws:${workplaceId}:${day}`,
      cSeconds: `${p}ct:cs:${companyId}:${day}`,
      countries: `${p}ct:countries:${companyId}`,
    };
  };
  const settlement = (e: CallThroughSettlement): CallThroughEnd => ({
    keys: callThroughKeys(e.companyId, e.workplaceId, e.startedAtMs),
    callId: e.callId,
    seconds: e.seconds,
    dayTtlSeconds: DAY_TTL_SECONDS,
  });

  const changeMessage = (change: ConfigChange) => [
    { channel: changeChannel, message: JSON.stringify(change) },
  ];

  async function write(atomicWrite: AtomicWrite): Promise<string | undefined> {
    const failed = await kv.atomic(atomicWrite);
    if (failed === undefined || failed === CHANGED || failed === NOT_OURS) return failed;
    // labels are "field" or "field#value" (the value makes the message name what clashed)
    const cut = failed.indexOf('#');
    const field = cut < 0 ? failed : failed.slice(0, cut);
    const value = cut < 0 ? '' : ` ${failed.slice(cut + 1)}`;
    throw new ConflictError(field, `${field}${value} is already taken`);
  }

  /** The guard that the entity is still what we based the write on (absent when we saw none). */
  const unchangedGuard = (key: string, baseJson: string | undefined): Guard =>
    baseJson === undefined
      ? { type: 'absent', key, label: CHANGED }
      : { type: 'equals', key, value: baseJson, label: CHANGED };

  /**
   * Optimistic write loop. With `previous` the caller's read is the base and a change is a
   * StaleWriteError; without it we read the current value ourselves and retry on a race.
   */
  async function casLoop(
    key: string,
    previous: unknown,
    attempt: (baseJson: string | undefined) => Promise<string | undefined>,
  ): Promise<void> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const baseJson = previous !== undefined ? canonicalJson(previous) : await kv.get(key);
      const failed = await attempt(baseJson);
      if (failed !== CHANGED) return;
      if (previous !== undefined) throw new StaleWriteError();
    }
    throw new StaleWriteError();
  }

  function assertSameCompany(entity: Scoped, baseJson: string | undefined, kind: EntityKind) {
    const base = parse<Scoped>(baseJson);
    if (base && base.companyId !== entity.companyId) {
      throw new ConflictError('id', `${kind} ${entity.id} belongs to another company`);
    }
  }

  function scopedRepo<T extends Scoped>(
    kind: Exclude<EntityKind, 'company' | 'token'>,
  ): CompanyScopedRepo<T> {
    return {
      async get(companyId, id) {
        const entity = parse<T>(await kv.get(entityKey(kind, id)));
        return entity?.companyId === companyId ? entity : undefined;
      },
      async list(companyId) {
        const rows = await kv.loadSet(membersKey(kind, companyId), `${p}${kind}:`);
        return rows.map((r) => JSON.parse(r.value) as T).filter((e) => e.companyId === companyId);
      },
      async put(entity, previous) {
        const key = entityKey(kind, entity.id);
        await casLoop(key, previous, async (baseJson) => {
          assertSameCompany(entity, baseJson, kind);
          return write({
            guards: [unchangedGuard(key, baseJson)],
            ops: [
              { op: 'set', key, value: canonicalJson(entity) },
              { op: 'sadd', key: membersKey(kind, entity.companyId), member: entity.id },
            ],
            publish: changeMessage({ kind, id: entity.id, companyId: entity.companyId }),
          });
        });
      },
      async delete(entity) {
        const key = entityKey(kind, entity.id);
        await write({
          guards: [
            { type: 'fieldEquals', key, field: 'companyId', value: entity.companyId, label: NOT_OURS },
          ],
          ops: [
            { op: 'del', key },
            { op: 'srem', key: membersKey(kind, entity.companyId), member: entity.id },
          ],
          publish: changeMessage({ kind, id: entity.id, companyId: entity.companyId }),
        });
      },
    };
  }

  // ---- workplaces and portals: entity + number/extension(/username/parallel numbers) indexes

  type Indexed = (Workplace | AnywherePortal) & Scoped;
  const targetJson = (kind: IndexedKind, id: string) => canonicalJson({ kind, id } satisfies NumberTarget);

  function parallelNumbers(kind: IndexedKind, entity: Indexed | undefined): string[] {
    if (kind !== 'workplace' || !entity) return [];
    return [...new Set((entity as Workplace).parallelRinging?.numbers ?? [])];
  }

  /** Guards and ops that write `entity` over `base` (the stored value, or undefined), releasing changed indexes. */
  function indexedWrite(kind: IndexedKind, entity: Indexed, baseJson: string | undefined) {
    assertSameCompany(entity, baseJson, kind);
    const base = parse<Indexed>(baseJson);
    const key = entityKey(kind, entity.id);
    const ours = targetJson(kind, entity.id);
    const guards: Guard[] = [
      unchangedGuard(key, baseJson),
      {
        type: 'absentOrEquals',
        key: numberKey(entity.number),
        value: ours,
        label: `number#${entity.number}`,
      },
      {
        type: 'absentOrEquals',
        key: extensionKey(entity.companyId, entity.extension),
        value: ours,
        label: `extension#${entity.extension}`,
      },
    ];
    const ops: WriteOp[] = [];
    if (base && base.number !== entity.number) ops.push({ op: 'del', key: numberKey(base.number) });
    if (base && base.extension !== entity.extension) {
      ops.push({ op: 'del', key: extensionKey(base.companyId, base.extension) });
    }
    ops.push(
      { op: 'set', key: numberKey(entity.number), value: ours },
      { op: 'set', key: extensionKey(entity.companyId, entity.extension), value: ours },
    );
    if (kind === 'workplace') {
      const workplace = entity as Workplace;
      const baseWorkplace = base as Workplace | undefined;
      guards.push({
        type: 'absentOrEquals',
        key: usernameKey(workplace.username),
        value: workplace.id,
        label: `username#${workplace.username}`,
      });
      if (baseWorkplace && baseWorkplace.username !== workplace.username) {
        ops.push({ op: 'del', key: usernameKey(baseWorkplace.username) });
      }
      ops.push({ op: 'set', key: usernameKey(workplace.username), value: workplace.id });
      const next = parallelNumbers(kind, workplace);
      for (const n of parallelNumbers(kind, baseWorkplace)) {
        if (!next.includes(n)) ops.push({ op: 'srem', key: parallelKey(n), member: workplace.id });
      }
      for (const n of next) ops.push({ op: 'sadd', key: parallelKey(n), member: workplace.id });
    }
    ops.push(
      { op: 'set', key, value: canonicalJson(entity) },
      { op: 'sadd', key: membersKey(kind, entity.companyId), member: entity.id },
    );
    return { guards, ops };
  }

  function indexedRepo<T extends Indexed>(kind: IndexedKind) {
    const base = scopedRepo<T>(kind);
    return {
      get: base.get,
      list: base.list,
      async getById(id: string): Promise<T | undefined> {
        return parse<T>(await kv.get(entityKey(kind, id)));
      },
      async put(entity: T, previous?: T): Promise<void> {
        const key = entityKey(kind, entity.id);
        await casLoop(key, previous, (baseJson) =>
          write({
            ...indexedWrite(kind, entity, baseJson),
            publish: changeMessage({ kind, id: entity.id, companyId: entity.companyId }),
          }),
        );
      },
      async delete(entity: T): Promise<void> {
        const key = entityKey(kind, entity.id);
        // release the indexes of what is STORED (the caller's copy may be stale)
        await casLoop(key, undefined, async (storedJson) => {
          const stored = parse<T>(storedJson);
          if (!stored || stored.companyId !== entity.companyId) return undefined;
          const ops: WriteOp[] = [
            { op: 'del', key },
            { op: 'srem', key: membersKey(kind, stored.companyId), member: stored.id },
            { op: 'del', key: numberKey(stored.number) },
            { op: 'del', key: extensionKey(stored.companyId, stored.extension) },
          ];
          if (kind === 'workplace') {
            ops.push({ op: 'del', key: usernameKey((stored as Workplace).username) });
            for (const n of parallelNumbers(kind, stored)) {
              ops.push({ op: 'srem', key: parallelKey(n), member: stored.id });
            }
          }
          return write({
            guards: [unchangedGuard(key, storedJson)],
            ops,
            publish: changeMessage({ kind, id: stored.id, companyId: stored.companyId }),
          });
        });
      },
    };
  }

  const workplaceRepo = indexedRepo<Workplace>('workplace');
  const portalRepo = indexedRepo<AnywherePortal>('portal');

  /** Clashes inside one import batch, which the per-key guards cannot see. */
  function assertBatchUnique(entities: Workplace[]) {
    const seen = new Map<string, Set<string>>();
    const claim = (field: string, value: string) => {
      const values = seen.get(field) ?? new Set<string>();
      if (values.has(value)) throw new ConflictError(field, `${field} ${value} appears twice in the batch`);
      values.add(value);
      seen.set(field, values);
    };
    for (const w of entities) {
      claim('id', w.id);
      claim('number', w.number);
      claim('extension', `${w.companyId}:${w.extension}`);
      claim('username', w.username);
    }
  }

  function toCallTarget(reply: [string, string | undefined] | undefined): CallTarget | undefined {
    if (!reply || reply[1] === undefined) return undefined;
    const target = JSON.parse(reply[0]) as NumberTarget;
    return target.kind === 'workplace'
      ? { kind: 'workplace', id: target.id, workplace: JSON.parse(reply[1]) as Workplace }
      : { kind: 'portal', id: target.id, portal: JSON.parse(reply[1]) as AnywherePortal };
  }

  const store: PbxStore = {
    kind: kv.kind,

    accounts: createAccountsRepo(kv, p, write),

    companies: {
      async get(id) {
        return parse<Company>(await kv.get(entityKey('company', id)));
      },
      async list() {
        const rows = await kv.loadSet(companiesKey, `${p}company:`);
        return rows.map((r) => JSON.parse(r.value) as Company);
      },
      async put(company) {
        await write({
          guards: [],
          ops: [
            { op: 'set', key: entityKey('company', company.id), value: canonicalJson(company) },
            { op: 'sadd', key: companiesKey, member: company.id },
          ],
          publish: changeMessage({ kind: 'company', id: company.id, companyId: company.id }),
        });
      },
      async delete(id) {
        await write({
          guards: [],
          ops: [
            { op: 'del', key: entityKey('company', id) },
            { op: 'srem', key: companiesKey, member: id },
          ],
          publish: changeMessage({ kind: 'company', id, companyId: id }),
        });
      },
    },
    groups: scopedRepo('group'),
    areas: scopedRepo('area'),
    blockingProfiles: scopedRepo('blockingProfile'),
    templates: scopedRepo('template'),

    workplaces: {
      ...workplaceRepo,
      async putMany(entities) {
        if (entities.length === 0) return;
        assertBatchUnique(entities);
        const keys = entities.map((w) => entityKey('workplace', w.id));
        for (let i = 0; i < MAX_ATTEMPTS; i++) {
          const stored = await kv.mget(keys);
          const guards: Guard[] = [];
          const ops: WriteOp[] = [];
          entities.forEach((w, j) => {
            const part = indexedWrite('workplace', w, stored[j]);
            guards.push(...part.guards);
            ops.push(...part.ops);
          });
          const failed = await write({
            guards,
            ops,
            // one change per workplace, so caches drop exactly the entries that changed
            publish: entities.flatMap((w) =>
              changeMessage({ kind: 'workplace', id: w.id, companyId: w.companyId }),
            ),
          });
          if (failed !== CHANGED) return;
        }
        throw new StaleWriteError();
      },
      async getMany(ids) {
        const values = await kv.mget(ids.map((id) => entityKey('workplace', id)));
        return values.map((v) => parse<Workplace>(v));
      },
      async byExtension(companyId, extension) {
        const target = toCallTarget(await kv.getIndirect(extensionKey(companyId, extension), p));
        return target?.kind === 'workplace' ? target.workplace : undefined;
      },
      async byParallelNumber(number) {
        const rows = await kv.loadSet(parallelKey(number), `${p}workplace:`);
        return rows
          .map((r) => JSON.parse(r.value) as Workplace)
          .filter((w) => w.parallelRinging.numbers.includes(number));
      },
    },
    portals: portalRepo,

    numbers: {
      async resolve(number) {
        return parse<NumberTarget>(await kv.get(numberKey(number)));
      },
      async taken(numbers) {
        const values = await kv.mget(numbers.map(numberKey));
        return new Set(numbers.filter((_, i) => values[i] !== undefined));
      },
    },

    async lookupNumber(number) {
      return toCallTarget(await kv.getIndirect(numberKey(number), p));
    },
    async lookupExtension(companyId, extension) {
      return toCallTarget(await kv.getIndirect(extensionKey(companyId, extension), p));
    },
    async lookupBlockingContext({ companyId, groupId, blockingProfileId }) {
      const { values, refs } = await kv.getWithRefs(
        [entityKey('company', companyId), entityKey('group', groupId)],
        ['defaultBlockingProfileId', 'blockingProfileId'],
        `${p}blockingProfile:`,
        blockingProfileId !== undefined ? [blockingProfileId] : [],
      );
      const company = parse<Company>(values[0]);
      const group = parse<Group>(values[1]);
      const profiles = [...refs.values()]
        .map((v) => parse<BlockingProfile>(v))
        .filter((bp): bp is BlockingProfile => bp?.companyId === companyId);
      return { company, group: group?.companyId === companyId ? group : undefined, profiles };
    },

    tokens: {
      async create(token) {
        await write({
          guards: [
            { type: 'absent', key: tokenKey(token.hash), label: 'token' },
            { type: 'absent', key: tokenIdKey(token.id), label: 'id' },
          ],
          ops: [
            { op: 'set', key: tokenKey(token.hash), value: canonicalJson(token) },
            { op: 'set', key: tokenIdKey(token.id), value: token.hash },
            { op: 'sadd', key: tokensOfKey(token.companyId), member: token.hash },
          ],
          publish: changeMessage({ kind: 'token', id: token.id, companyId: token.companyId }),
        });
      },
      async byHash(hash) {
        return parse<ApiToken>(await kv.get(tokenKey(hash)));
      },
      async list(companyId) {
        const rows = await kv.loadSet(tokensOfKey(companyId), `${p}token:`);
        return rows.map((r) => JSON.parse(r.value) as ApiToken).filter((t) => t.companyId === companyId);
      },
      async delete(companyId, id) {
        const hash = await kv.get(tokenIdKey(id));
        if (hash === undefined) return;
        await write({
          guards: [
            {
              type: 'fieldEquals',
              key: tokenKey(hash),
              field: 'companyId',
              value: companyId,
              label: NOT_OURS,
            },
          ],
          ops: [
            { op: 'del', key: tokenKey(hash) },
            { op: 'del', key: tokenIdKey(id) },
            { op: 'srem', key: tokensOfKey(companyId), member: hash },
          ],
          publish: changeMessage({ kind: 'token', id, companyId }),
        });
      },
    },

    voicebox: {
      async add(message) {
        await write({
          guards: [],
          ops: [
            {
              op: 'hset',
              key: voiceboxKey(message.workplaceId),
              field: message.id,
              value: canonicalJson(message),
            },
          ],
        });
      },
      /** oldest first, the order the voicebox plays them */
      async list(workplaceId) {
        const values = await kv.hvals(voiceboxKey(workplaceId));
        return values
          .map((v) => JSON.parse(v) as VoiceboxMessage)
          .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
      },
      async get(workplaceId, id) {
        return parse<VoiceboxMessage>(await kv.hget(voiceboxKey(workplaceId), id));
      },
      async update(message) {
        await write({
          // an update never brings back a message deleted meanwhile
          guards: [
            {
              type: 'hashFieldExists',
              key: voiceboxKey(message.workplaceId),
              field: message.id,
              label: NOT_OURS,
            },
          ],
          ops: [
            {
              op: 'hset',
              key: voiceboxKey(message.workplaceId),
              field: message.id,
              value: canonicalJson(message),
            },
          ],
        });
      },
      async delete(workplaceId, id) {
        await write({ guards: [], ops: [{ op: 'hdel', key: voiceboxKey(workplaceId), field: id }] });
      },
    },

    pinFailures: {
      async get(workplaceId) {
        return Number((await kv.get(pinFailKey(workplaceId))) ?? 0);
      },
      increment: (workplaceId) => kv.incr(pinFailKey(workplaceId)),
      reset: (workplaceId) => kv.del(pinFailKey(workplaceId)),
    },

    liveCalls: {
      async put(call) {
        await write({
          guards: [],
          ops: [
            { op: 'set', key: liveKey(call.workplaceId), value: canonicalJson(call) },
            { op: 'sadd', key: liveByControllerKey(call.controllerId), member: call.workplaceId },
          ],
        });
      },
      async get(workplaceId) {
        return parse<LiveCall>(await kv.get(liveKey(workplaceId)));
      },
      async remove(workplaceId, bridgeId) {
        // compare-and-delete: a newer call of the workplace (other bridge) is kept
        await write({
          guards: [
            {
              type: 'fieldEquals',
              key: liveKey(workplaceId),
              field: 'bridgeId',
              value: bridgeId,
              label: NOT_OURS,
            },
          ],
          ops: [{ op: 'del', key: liveKey(workplaceId) }],
        });
      },
      async listByController(controllerId) {
        const setKey = liveByControllerKey(controllerId);
        const rows = await kv.loadSet(setKey, `${p}live:`);
        const calls = rows.map((r) => JSON.parse(r.value) as LiveCall);
        const owned = calls.filter((c) => c.controllerId === controllerId);
        const ownedIds = new Set(owned.map((c) => c.workplaceId));
        // members whose call ended or moved to another controller: tidy up (cold path, after restarts)
        const stale = rows.filter((r) => !ownedIds.has(r.member));
        if (stale.length > 0) {
          await write({
            guards: [],
            ops: stale.map((r) => ({ op: 'srem', key: setKey, member: r.member }) as WriteOp),
          });
        }
        return owned;
      },
    },

    callThroughs: {
      async admit(request, settle = []) {
        const { policy } = request;
        const result = await kv.callThroughs({
          ends: settle.map(settlement),
          admit: {
            keys: callThroughKeys(request.companyId, request.workplaceId, request.nowMs),
            callId: request.callId,
            nowMs: request.nowMs,
            nowIso: new Date(request.nowMs).toISOString(),
            leaseUntilMs: request.nowMs + request.leaseSeconds * 1000,
            country: request.country,
            ...(request.refusal ? { refusal: request.refusal } : {}),
            hourTtlSeconds: HOUR_TTL_SECONDS,
            dayTtlSeconds: DAY_TTL_SECONDS,
            limits: {
              wPerHour: policy.perWorkplace.perHour,
              wConcurrent: policy.perWorkplace.concurrent,
              wSeconds: policy.perWorkplace.minutesPerDay * 60,
              cPerHour: policy.perCompany.perHour,
              cConcurrent: policy.perCompany.concurrent,
              cSeconds: policy.perCompany.minutesPerDay * 60,
            },
            lockAfter: policy.lockAfterRefusals,
          },
        });
        if (!result) throw new Error('call-through admission returned no verdict');
        return result.kind === 'admitted' ? result : { ...result, reason: result.reason as RefusalReason };
      },
      async settle(ends) {
        if (ends.length === 0) return;
        await kv.callThroughs({ ends: ends.map(settlement) });
      },
      async usage(companyId, workplaceId, nowMs) {
        const c = await kv.callThroughUsage(callThroughKeys(companyId, workplaceId, nowMs), nowMs);
        return {
          usage: {
            workplace: { thisHour: c.wHour, active: c.wActive, secondsToday: c.wSeconds },
            company: { thisHour: c.cHour, active: c.cActive, secondsToday: c.cSeconds },
            refusalsToday: c.hits,
          },
          lock: parse<CallThroughLock>(c.lock),
        };
      },
      async lock(workplaceId) {
        return parse<CallThroughLock>(await kv.get(callThroughKeys('', workplaceId, 0).lock));
      },
      async unlock(workplaceId) {
        const keys = callThroughKeys('', workplaceId, Date.now());
        await write({
          guards: [],
          ops: [
            { op: 'del', key: keys.lock },
            { op: 'del', key: keys.hits },
          ],
        });
      },
    },

    async onChange(listener) {
      return kv.subscribe(changeChannel, (message) => {
        try {
          listener(JSON.parse(message) as ConfigChange);
        } catch (err) {
          logger?.error({ err }, 'config change listener failed');
        }
      });
    },
    async publishChange(change) {
      await kv.publish(changeChannel, JSON.stringify(change));
    },

    roundTrips: () => kv.roundTrips(),
    ping: () => kv.ping(),
    close: () => kv.close(),
  };
  return store;
}
