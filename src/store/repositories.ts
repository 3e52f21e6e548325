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
 *   pvbrec:<controllerId>     hash message id → VoiceboxMessage JSON of recordings in progress
 *   pct:<…>                   call-through fraud guard counters (see callThroughKeys)
 *   pacct:, psess:, plink:    web app accounts, sessions, one-time links (see accounts.ts)
 *   pchanged                  pub/sub channel of ConfigChange JSON
 *   prefs:<kind>:<id>         set of "<kind>:<id>" of the objects naming a group, area or blocking profile
 *   pcompany-deleting:<id>    tombstone of a deleted company whose objects may not all be removed yet
 *   pdefault-group:<cid>      id of the company's default group
 *   pranges                   range index: every group's number ranges, sorted by first number
 *   pranges-built             the range index holds every group (built once from older data)
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
import { createMailOutboxRepo, enqueueMailOps } from './mail-outbox.js';
import type { CallTarget, PbxStore } from './call-lookup.js';
import { dayBucket, hourBucket, type RefusalReason } from '../domain/fraud.js';
import { sipPasswordCipher } from './sip-secrets.js';
import {
  canonicalJson,
  rangeMember,
  type AtomicWrite,
  type CallThroughEnd,
  type CallThroughKeys,
  type Guard,
  type Kv,
  type WriteOp,
} from './kv.js';
import {
  CompanyGoneError,
  type CallThroughLock,
  type CallThroughSettlement,
  ConflictError,
  RangeOverlapError,
  StaleWriteError,
  type CompanyScopedRepo,
  type ConfigChange,
  type EntityKind,
  type RecordingInProgress,
} from './store.js';

/** guard label: the entity itself changed between our read and our write */
const CHANGED = '#changed';
/** guard label: the object belongs to another company (or is gone) — the write is a no-op */
const NOT_OURS = '#not-ours';
/** call-through counter windows live a little longer than the window itself */
const HOUR_TTL_SECONDS = 2 * 3600;
const DAY_TTL_SECONDS = 2 * 86_400;
/** guard label: the company was deleted */
const COMPANY_GONE = '#company-gone';
/** guard label prefix: a referenced object is gone ("#missing:groupId") */
const MISSING = '#missing:';
/** guard label prefix: the object to delete is still referenced ("#in-use:group") */
const IN_USE = '#in-use:';
/** guard label: the default group cannot go while the company has other groups */
const DEFAULT_IN_USE = '#default-in-use';
/** guard label: the number is not (any more) inside its group's ranges */
const OUTSIDE_GROUP = '#outside-group';
/** guard label: new group ranges would leave a workplace's or portal's number outside */
const RANGES_IN_USE = '#ranges-in-use';
/** guard label prefix: ranges overlap the range index ("#ranges:0,2") */
const RANGES = '#ranges:';
/** guard label: the range index is not built yet */
const NO_RANGE_INDEX = '#no-range-index';
/** guard label: something else than the entity itself changed (pointer, other group): re-read and retry */
const RETRY = '#retry';
/** a write without `previous` re-reads and retries this often when it keeps racing */
const MAX_ATTEMPTS = 8;
/** group writes also race on the company's default pointer: more contenders (isDefault bursts) */
const GROUP_ATTEMPTS = 24;

/** What names what: kind → [field, referenced kind]. Only these four kinds can be referenced. */
type ReferencedKind = 'group' | 'area' | 'blockingProfile' | 'schedule';
const REFERENCES: Partial<Record<EntityKind, ReadonlyArray<readonly [string, ReferencedKind]>>> = {
  company: [['defaultBlockingProfileId', 'blockingProfile']],
  group: [['blockingProfileId', 'blockingProfile']],
  area: [['groupId', 'group']],
  template: [
    ['groupId', 'group'],
    ['areaId', 'area'],
    ['blockingProfileId', 'blockingProfile'],
  ],
  workplace: [
    ['groupId', 'group'],
    ['areaId', 'area'],
    ['blockingProfileId', 'blockingProfile'],
    ['scheduleId', 'schedule'],
  ],
  portal: [
    ['groupId', 'group'],
    ['areaId', 'area'],
    ['blockingProfileId', 'blockingProfile'],
  ],
};
const REFERENCED = new Set<EntityKind>(['group', 'area', 'blockingProfile', 'schedule']);

export interface KvStoreOptions {
  /**
   * Referential integrity inside every write (see Store). On by default; low-level tests that
   * store loose objects (a workplace without its company) turn it off.
   */
  checkReferences?: boolean;
  /** SECRET_KEY: SIP passwords are stored encrypted with it (sip-secrets.ts); unset → in clear */
  secretKey?: Buffer;
}

type Scoped = { id: string; companyId: string };
type IndexedKind = 'workplace' | 'portal';

function parse<T>(json: string | undefined): T | undefined {
  return json === undefined ? undefined : (JSON.parse(json) as T);
}

export function createKvStore(
  kv: Kv,
  prefix: string,
  logger?: pino.Logger,
  options: KvStoreOptions = {},
): PbxStore {
  const p = prefix;
  const checkReferences = options.checkReferences ?? true;
  const sip = sipPasswordCipher(options.secretKey);
  /** An entity as the callers see it: SIP passwords of workplaces decrypted. */
  function decode<T>(kind: EntityKind, json: string): T {
    const value = JSON.parse(json) as T;
    return kind === 'workplace' ? (sip.open(value as Workplace) as T) : value;
  }
  const decodeOpt = <T>(kind: EntityKind, json: string | undefined): T | undefined =>
    json === undefined ? undefined : decode<T>(kind, json);
  /** An entity as stored: SIP passwords of workplaces encrypted (when a key is configured). */
  const storedJson = (kind: EntityKind, entity: object) =>
    canonicalJson(kind === 'workplace' ? sip.seal(entity as Workplace) : entity);
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
  const recordingKey = (controllerId: string) => `${p}vbrec:${controllerId}`;
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
  const refsKey = (kind: ReferencedKind, id: string) => `${p}refs:${kind}:${id}`;
  const deletingKey = (companyId: string) => `${p}company-deleting:${companyId}`;
  const defaultGroupKey = (companyId: string) => `${p}default-group:${companyId}`;
  const rangeIndexKey = `${p}ranges`;
  const rangeIndexBuiltKey = `${p}ranges-built`;

  const changeMessage = (change: ConfigChange) => [
    { channel: changeChannel, message: JSON.stringify(change) },
  ];

  async function write(atomicWrite: AtomicWrite): Promise<string | undefined> {
    const failed = await kv.atomic(atomicWrite);
    if (failed === undefined || failed === CHANGED || failed === NOT_OURS || failed === RETRY) return failed;
    if (failed === NO_RANGE_INDEX) return failed;
    if (failed === COMPANY_GONE) {
      const companyGuard = atomicWrite.guards.find((g) => g.label === COMPANY_GONE);
      throw new CompanyGoneError(companyGuard?.key.slice(`${p}company:`.length) ?? '');
    }
    if (failed === DEFAULT_IN_USE) {
      throw new ConflictError(
        'isDefault',
        'make another group the default before deleting the default group',
      );
    }
    if (failed === OUTSIDE_GROUP) {
      throw new ConflictError(
        'number',
        'the number is not inside the ranges of its group (changed meanwhile)',
      );
    }
    if (failed === RANGES_IN_USE) {
      throw new ConflictError('numberRanges', 'the new ranges would leave numbers in use outside them');
    }
    if (failed.startsWith(MISSING)) {
      const field = failed.slice(MISSING.length);
      throw new ConflictError(field, `${field}: the object it names was deleted meanwhile`);
    }
    if (failed.startsWith(IN_USE)) {
      const kind = failed.slice(IN_USE.length);
      throw new ConflictError(
        'id',
        `the ${kind === 'blockingProfile' ? 'blocking profile' : kind} is still in use`,
      );
    }
    if (failed.startsWith(RANGES)) {
      throw new RangeOverlapError(failed.slice(RANGES.length).split(',').map(Number));
    }
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
    kind?: EntityKind,
  ): Promise<void> {
    // a stored form that differs from the caller's (encrypted SIP passwords, or plain ones from
    // before the key) is compared decoded, and the guard then holds the stored string
    const compareDecoded = kind === 'workplace' && options.secretKey !== undefined;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      let baseJson: string | undefined;
      if (previous === undefined) baseJson = await kv.get(key);
      else if (!compareDecoded) baseJson = canonicalJson(previous);
      else {
        baseJson = await kv.get(key);
        if (baseJson === undefined || canonicalJson(decode(kind, baseJson)) !== canonicalJson(previous)) {
          throw new StaleWriteError();
        }
      }
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

  const companyOf = (kind: EntityKind, entity: { id: string; companyId?: string }) =>
    kind === 'company' ? entity.id : entity.companyId!;

  /** The company must still exist (it is checked in the write: a concurrent delete wins cleanly). */
  const companyGuards = (companyId: string): Guard[] =>
    checkReferences ? [{ type: 'exists', key: entityKey('company', companyId), label: COMPANY_GONE }] : [];

  /**
   * Guards and ops that keep the reference sets of `entity` (written over `base`): a newly named
   * group, area or blocking profile must exist in the same company at the moment of the write;
   * the entity is added to the reference set of everything it names and removed from what it
   * no longer names. Unchanged references are not re-checked, so an object that points at
   * something deleted by older code can still be edited (and fixed).
   */
  function referenceWrite(
    kind: EntityKind,
    entity: { id: string; companyId?: string },
    base: { id: string; companyId?: string } | undefined,
  ): { guards: Guard[]; ops: WriteOp[] } {
    const guards: Guard[] = [];
    const ops: WriteOp[] = [];
    const me = `${kind}:${entity.id}`;
    const companyId = companyOf(kind, entity);
    for (const [field, refKind] of REFERENCES[kind] ?? []) {
      const next = (entity as Record<string, unknown>)[field] as string | undefined;
      const prev = base ? ((base as Record<string, unknown>)[field] as string | undefined) : undefined;
      if (prev !== undefined && prev !== next)
        ops.push({ op: 'srem', key: refsKey(refKind, prev), member: me });
      if (next === undefined) continue;
      if (checkReferences && next !== prev) {
        guards.push({
          type: 'fieldEquals',
          key: entityKey(refKind, next),
          field: 'companyId',
          value: companyId,
          label: MISSING + field,
        });
      }
      ops.push({ op: 'sadd', key: refsKey(refKind, next), member: me });
    }
    return { guards, ops };
  }

  /** Ops that drop a deleted entity from the reference sets of what it named. */
  function referenceRelease(kind: EntityKind, stored: { id: string } | undefined): WriteOp[] {
    if (!stored) return [];
    return (REFERENCES[kind] ?? []).flatMap(([field, refKind]) => {
      const id = (stored as Record<string, unknown>)[field];
      return typeof id === 'string'
        ? [{ op: 'srem', key: refsKey(refKind, id), member: `${kind}:${stored.id}` } as WriteOp]
        : [];
    });
  }

  /** A group, area or blocking profile is deleted only while nothing names it. */
  function notReferencedGuards(kind: EntityKind, id: string): Guard[] {
    if (!checkReferences || !REFERENCED.has(kind)) return [];
    return [{ type: 'setEmpty', key: refsKey(kind as ReferencedKind, id), label: IN_USE + kind }];
  }

  function scopedRepo<T extends Scoped>(
    kind: Exclude<EntityKind, 'company' | 'token'>,
  ): CompanyScopedRepo<T> {
    return {
      async get(companyId, id) {
        const entity = decodeOpt<T>(kind, await kv.get(entityKey(kind, id)));
        return entity?.companyId === companyId ? entity : undefined;
      },
      async list(companyId) {
        const rows = await kv.loadSet(membersKey(kind, companyId), `${p}${kind}:`);
        return rows.map((r) => decode<T>(kind, r.value)).filter((e) => e.companyId === companyId);
      },
      async put(entity, previous) {
        const key = entityKey(kind, entity.id);
        await casLoop(key, previous, async (baseJson) => {
          assertSameCompany(entity, baseJson, kind);
          const refs = referenceWrite(kind, entity, parse<T>(baseJson));
          return write({
            guards: [unchangedGuard(key, baseJson), ...companyGuards(entity.companyId), ...refs.guards],
            ops: [
              { op: 'set', key, value: canonicalJson(entity) },
              { op: 'sadd', key: membersKey(kind, entity.companyId), member: entity.id },
              ...refs.ops,
            ],
            publish: changeMessage({ kind, id: entity.id, companyId: entity.companyId }),
          });
        });
      },
      async delete(entity) {
        const key = entityKey(kind, entity.id);
        // release the references of what is STORED (the caller's copy may be stale)
        await casLoop(key, undefined, async (storedJson) => {
          const stored = parse<T>(storedJson);
          if (!stored || stored.companyId !== entity.companyId) return undefined;
          return write({
            guards: [unchangedGuard(key, storedJson), ...notReferencedGuards(kind, entity.id)],
            ops: [
              { op: 'del', key },
              { op: 'srem', key: membersKey(kind, entity.companyId), member: entity.id },
              ...referenceRelease(kind, stored),
            ],
            publish: changeMessage({ kind, id: entity.id, companyId: entity.companyId }),
          });
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
    const refs = referenceWrite(kind, entity, base);
    guards.push(...companyGuards(entity.companyId), ...refs.guards);
    // the number lies in its group's ranges as they are at this write (a racing group PATCH
    // that shrinks them either sees this number or makes this write fail)
    if (checkReferences && (!base || base.number !== entity.number || base.groupId !== entity.groupId)) {
      guards.push({
        type: 'numberInRanges',
        key: entityKey('group', entity.groupId),
        number: entity.number,
        label: OUTSIDE_GROUP,
      });
    }
    ops.push(
      ...refs.ops,
      { op: 'set', key, value: storedJson(kind, entity) },
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
        return decodeOpt<T>(kind, await kv.get(entityKey(kind, id)));
      },
      async put(entity: T, previous?: T): Promise<void> {
        const key = entityKey(kind, entity.id);
        await casLoop(
          key,
          previous,
          (baseJson) =>
            write({
              ...indexedWrite(kind, entity, baseJson),
              publish: changeMessage({ kind, id: entity.id, companyId: entity.companyId }),
            }),
          kind,
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
          ops.push(...referenceRelease(kind, stored));
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

  // ---- groups: the global range index and the company's one default group

  const digits = (e164: string) => e164.replace(/^\+/, '');
  const rangeOps = (group: Group | undefined, op: 'zadd' | 'zrem'): WriteOp[] =>
    (group?.numberRanges ?? []).map((r) => {
      const { member, score } = rangeMember(digits(r.first), digits(r.last), group!.id);
      return op === 'zadd' ? { op, key: rangeIndexKey, score, member } : { op, key: rangeIndexKey, member };
    });

  /**
   * Fills the range index from the groups stored before it existed (once per store: the write
   * is guarded by the absence of the built flag, and every group write requires the flag).
   */
  async function buildRangeIndex(): Promise<void> {
    const ops: WriteOp[] = [];
    for (const company of await store.companies.list()) {
      for (const group of await store.groups.list(company.id)) ops.push(...rangeOps(group, 'zadd'));
    }
    await write({
      guards: [{ type: 'absent', key: rangeIndexBuiltKey, label: RETRY }],
      ops: [...ops, { op: 'set', key: rangeIndexBuiltKey, value: '1' }],
    });
    logger?.info({ ranges: ops.length }, 'number range index built');
  }

  function groupRepo(): PbxStore['groups'] {
    const base = scopedRepo<Group>('group');
    return {
      get: base.get,
      list: base.list,
      async put(entity, previous) {
        const key = entityKey('group', entity.id);
        const pointerKey = defaultGroupKey(entity.companyId);
        for (let attempt = 0; attempt < GROUP_ATTEMPTS; attempt++) {
          const [storedJson, pointer] = await kv.mget([key, pointerKey]);
          const baseJson = previous !== undefined ? canonicalJson(previous) : storedJson;
          if (previous !== undefined && storedJson !== baseJson) throw new StaleWriteError();
          assertSameCompany(entity, baseJson, 'group');
          const baseGroup = parse<Group>(baseJson);

          // the company's default now: the pointer; for data from before the pointer, the flag
          let current = pointer;
          if (current === undefined) {
            current = (await base.list(entity.companyId)).find((g) => g.isDefault)?.id;
          }
          // exactly one default: asked for, the first group, or staying the default
          const isDefault = entity.isDefault || current === undefined || current === entity.id;
          const next: Group = { ...entity, isDefault };
          const guards: Guard[] = [
            unchangedGuard(key, baseJson),
            pointer === undefined
              ? { type: 'absent', key: pointerKey, label: RETRY }
              : { type: 'equals', key: pointerKey, value: pointer, label: RETRY },
            ...companyGuards(entity.companyId),
          ];
          const ops: WriteOp[] = [];
          if (isDefault && current !== undefined && current !== entity.id) {
            // the old default stops being it in the same write
            const oldKey = entityKey('group', current);
            const oldJson = await kv.get(oldKey);
            const old = parse<Group>(oldJson);
            if (old && old.companyId === entity.companyId) {
              guards.push({ type: 'equals', key: oldKey, value: oldJson!, label: RETRY });
              ops.push({ op: 'set', key: oldKey, value: canonicalJson({ ...old, isDefault: false }) });
            }
          }
          if (isDefault && pointer !== entity.id) ops.push({ op: 'set', key: pointerKey, value: entity.id });
          if (!isDefault && pointer === undefined && current !== undefined) {
            ops.push({ op: 'set', key: pointerKey, value: current });
          }
          const refs = referenceWrite('group', next, baseGroup);
          guards.push(...refs.guards);
          const rangesChanged =
            canonicalJson(baseGroup?.numberRanges ?? []) !== canonicalJson(next.numberRanges);
          if (rangesChanged) {
            guards.push({ type: 'exists', key: rangeIndexBuiltKey, label: NO_RANGE_INDEX });
            guards.push({
              type: 'rangesFree',
              key: rangeIndexKey,
              owner: next.id,
              ranges: next.numberRanges.map((r) => ({ first: digits(r.first), last: digits(r.last) })),
              label: RANGES,
            });
            ops.push(...rangeOps(baseGroup, 'zrem'), ...rangeOps(next, 'zadd'));
            if (checkReferences && baseGroup) {
              guards.push({
                type: 'referrersInRanges',
                key: refsKey('group', next.id),
                valuePrefix: p,
                ranges: next.numberRanges,
                label: RANGES_IN_USE,
              });
            }
          }
          ops.push(
            { op: 'set', key, value: canonicalJson(next) },
            { op: 'sadd', key: membersKey('group', next.companyId), member: next.id },
            ...refs.ops,
          );
          const failed = await write({
            guards,
            ops,
            publish: [
              ...changeMessage({ kind: 'group', id: next.id, companyId: next.companyId }),
              ...(isDefault && current !== undefined && current !== next.id
                ? changeMessage({ kind: 'group', id: current, companyId: next.companyId })
                : []),
            ],
          });
          if (failed === undefined) return next;
          if (failed === NO_RANGE_INDEX) {
            await buildRangeIndex();
            continue;
          }
          if (failed === CHANGED && previous !== undefined) throw new StaleWriteError();
        }
        throw new StaleWriteError();
      },
      async delete(entity) {
        const key = entityKey('group', entity.id);
        const pointerKey = defaultGroupKey(entity.companyId);
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const [storedJson, pointer] = await kv.mget([key, pointerKey]);
          const stored = parse<Group>(storedJson);
          if (!stored || stored.companyId !== entity.companyId) return;
          const isDefault = pointer !== undefined ? pointer === stored.id : stored.isDefault;
          const guards: Guard[] = [
            unchangedGuard(key, storedJson),
            pointer === undefined
              ? { type: 'absent', key: pointerKey, label: RETRY }
              : { type: 'equals', key: pointerKey, value: pointer, label: RETRY },
            ...notReferencedGuards('group', stored.id),
          ];
          // a delete while the index is being built could leave the group's ranges in it
          if (stored.numberRanges.length > 0) {
            guards.push({ type: 'exists', key: rangeIndexBuiltKey, label: NO_RANGE_INDEX });
          }
          const ops: WriteOp[] = [
            { op: 'del', key },
            { op: 'srem', key: membersKey('group', stored.companyId), member: stored.id },
            ...rangeOps(stored, 'zrem'),
            ...referenceRelease('group', stored),
          ];
          if (isDefault) {
            // the default goes only with the company's last group: never a company without one
            if (checkReferences) {
              guards.push({
                type: 'setSizeAtMost',
                key: membersKey('group', stored.companyId),
                max: 1,
                label: DEFAULT_IN_USE,
              });
            }
            ops.push({ op: 'del', key: pointerKey });
          }
          const failed = await write({
            guards,
            ops,
            publish: changeMessage({ kind: 'group', id: stored.id, companyId: stored.companyId }),
          });
          if (failed === NO_RANGE_INDEX) await buildRangeIndex();
          else if (failed !== CHANGED && failed !== RETRY) return;
        }
        throw new StaleWriteError();
      },
    };
  }

  function toCallTarget(reply: [string, string | undefined] | undefined): CallTarget | undefined {
    if (!reply || reply[1] === undefined) return undefined;
    const target = JSON.parse(reply[0]) as NumberTarget;
    return target.kind === 'workplace'
      ? { kind: 'workplace', id: target.id, workplace: decode<Workplace>('workplace', reply[1]) }
      : { kind: 'portal', id: target.id, portal: JSON.parse(reply[1]) as AnywherePortal };
  }

  const store: PbxStore = {
    kind: kv.kind,

    accounts: createAccountsRepo(kv, p, write, changeMessage),
    mailOutbox: createMailOutboxRepo(kv, p, write),

    companies: {
      async get(id) {
        return parse<Company>(await kv.get(entityKey('company', id)));
      },
      async list() {
        const rows = await kv.loadSet(companiesKey, `${p}company:`);
        return rows.map((r) => JSON.parse(r.value) as Company);
      },
      async put(company, previous) {
        const key = entityKey('company', company.id);
        await casLoop(key, previous, async (baseJson) => {
          const refs = referenceWrite('company', company, parse<Company>(baseJson));
          return write({
            guards: [
              unchangedGuard(key, baseJson),
              // a deleted company's id is never brought back by a late write
              ...(checkReferences
                ? [{ type: 'absent', key: deletingKey(company.id), label: COMPANY_GONE } as Guard]
                : []),
              ...refs.guards,
            ],
            ops: [
              { op: 'set', key, value: canonicalJson(company) },
              { op: 'sadd', key: companiesKey, member: company.id },
              ...refs.ops,
            ],
            publish: changeMessage({ kind: 'company', id: company.id, companyId: company.id }),
          });
        });
      },
      async delete(id) {
        const key = entityKey('company', id);
        await casLoop(key, undefined, async (storedJson) => {
          if (storedJson === undefined) return undefined;
          return write({
            guards: [unchangedGuard(key, storedJson)],
            ops: [
              { op: 'del', key },
              { op: 'srem', key: companiesKey, member: id },
              // every write under the company checks that it exists: from here on none succeeds,
              // and the tombstone lets an interrupted cascade be resumed
              { op: 'set', key: deletingKey(id), value: '1' },
              ...referenceRelease('company', parse<Company>(storedJson)),
            ],
            publish: changeMessage({ kind: 'company', id, companyId: id }),
          });
        });
      },
      async isDeleting(id) {
        return (await kv.get(deletingKey(id))) !== undefined;
      },
      async finishDelete(id) {
        await write({
          guards: [],
          ops: [
            { op: 'del', key: deletingKey(id) },
            { op: 'del', key: defaultGroupKey(id) },
          ],
        });
      },
    },
    groups: groupRepo(),
    areas: scopedRepo('area'),
    blockingProfiles: scopedRepo('blockingProfile'),
    schedules: scopedRepo('schedule'),
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
        return values.map((v) => decodeOpt<Workplace>('workplace', v));
      },
      async byExtension(companyId, extension) {
        const target = toCallTarget(await kv.getIndirect(extensionKey(companyId, extension), p));
        return target?.kind === 'workplace' ? target.workplace : undefined;
      },
      async usernamesTaken(usernames) {
        const values = await kv.mget(usernames.map(usernameKey));
        return new Set(usernames.filter((_, i) => values[i] !== undefined));
      },
      async byParallelNumber(number) {
        const rows = await kv.loadSet(parallelKey(number), `${p}workplace:`);
        return rows
          .map((r) => decode<Workplace>('workplace', r.value))
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
            ...companyGuards(token.companyId),
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
            // the mail job in the same step: a stored message is a message that will be mailed
            // (the sender decides then whether the workplace wants mail at all)
            ...enqueueMailOps(
              p,
              message.workplaceId,
              message.id,
              Date.parse(message.receivedAt) || Date.now(),
            ),
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

    rateLimits: {
      async hit(key, max, windowMs) {
        const { count, remainingMs } = await kv.incrWindow(`${p}rate:${key}`, windowMs);
        return { allowed: count <= max, retryAfterMs: count <= max ? 0 : remainingMs };
      },
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
      async remove({ workplaceId, bridgeId, remoteChannelId }) {
        // compare-and-delete: a newer call of the workplace (other call, maybe the same reused
        // bridge; or the same call moved to another bridge) is kept
        await write({
          guards: [
            {
              type: 'fieldEquals',
              key: liveKey(workplaceId),
              field: 'bridgeId',
              value: bridgeId,
              label: NOT_OURS,
            },
            {
              type: 'fieldEquals',
              key: liveKey(workplaceId),
              field: 'remoteChannelId',
              value: remoteChannelId,
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

    recordingsInProgress: {
      async put(controllerId, record) {
        await write({
          guards: [],
          ops: [
            {
              op: 'hset',
              key: recordingKey(controllerId),
              field: record.message.id,
              value: canonicalJson(record),
            },
          ],
        });
      },
      async remove(controllerId, messageId) {
        await write({ guards: [], ops: [{ op: 'hdel', key: recordingKey(controllerId), field: messageId }] });
      },
      async list(controllerId) {
        return (await kv.hvals(recordingKey(controllerId))).map((v) => JSON.parse(v) as RecordingInProgress);
      },
    },

    callThroughs: {
      async admit(request, settle = []) {
        const { policy } = request;
        const result = await kv.callThroughs({
          ends: settle.map(settlement),
          nowMs: request.nowMs,
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
      async settle(ends, nowMs = Date.now()) {
        if (ends.length === 0) return;
        await kv.callThroughs({ ends: ends.map(settlement), nowMs });
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
      async unlock(workplaceId, nowMs = Date.now()) {
        // the refusals of the day the unlock happens on are cleared (the request's own time)
        const keys = callThroughKeys('', workplaceId, nowMs);
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
