/**
 * One contract, two stores: every test runs against the in-memory store and against Redis
 * (a real redis-server from the global setup, unique key prefix per test).
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type {
  AccountLink,
  ApiToken,
  BlockingProfile,
  LiveCall,
  Template,
  UserAccount,
  VoiceboxMessage,
  WebSession,
} from '../../src/domain/model.js';
import { createClient } from 'redis';
import {
  CompanyGoneError,
  ConflictError,
  RangeOverlapError,
  SecretKeyError,
  StaleWriteError,
  callLookupOf,
  createMemoryStore,
  createRedisStore,
  createStore,
  type ConfigChange,
  type PbxStore,
} from '../../src/store/index.js';
import { DEFAULT_CALL_THROUGH_POLICY, type CallThroughPolicy } from '../../src/domain/fraud.js';
import type { CallThroughRequest } from '../../src/store/store.js';
import { group, portal, workplace } from './fixtures.js';

const redisUrl = inject('redisUrl');

interface Backend {
  name: 'memory' | 'redis';
  open(prefix: string, options?: { checkReferences?: boolean; secretKey?: Buffer }): Promise<PbxStore>;
}
// the per-entity rules below are tested on loose objects (a workplace without its company):
// referential integrity has its own block (store.integrity.test.ts)
const backends: Backend[] = [
  {
    name: 'memory',
    open: async (prefix, options) => createMemoryStore({ prefix, checkReferences: false, ...options }),
  },
  {
    name: 'redis',
    open: (prefix, options) =>
      createRedisStore({ url: redisUrl, prefix, checkReferences: false, ...options }),
  },
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

async function expectConflict(promise: Promise<unknown>, field: string) {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(ConflictError);
  expect((err as ConflictError).field).toBe(field);
}

/** Waits (without a clock) until `count` changes matching `match` have arrived. */
function collectChanges(store: PbxStore, match: (c: ConfigChange) => boolean, count: number) {
  const seen: ConfigChange[] = [];
  let done!: (changes: ConfigChange[]) => void;
  const all = new Promise<ConfigChange[]>((resolve) => (done = resolve));
  const ready = store.onChange((c) => {
    if (!match(c)) return;
    seen.push(c);
    if (seen.length === count) done(seen);
  });
  return { ready, all };
}

describe.each(backends)('$name store', (backend) => {
  let prefix: string;
  let store: PbxStore;
  const opened: PbxStore[] = [];
  const open = async (p = prefix) => {
    const s = await backend.open(p);
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    prefix = `test-store-${randomUUID()}:`;
    store = await open();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('reports its kind and answers ping', async () => {
    expect(store.kind).toBe(backend.name);
    expect(await store.ping()).toBe(true);
  });

  it('rate limits: a fixed window per key, shared by every user of the store', async () => {
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(await store.rateLimits.hit('pin:w1', 3, 60_000));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false]);
    expect(verdicts[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(verdicts[3]!.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect((await store.rateLimits.hit('pin:w2', 3, 60_000)).allowed).toBe(true);
    // parallel hits are all counted
    const parallel = await Promise.all(
      Array.from({ length: 10 }, () => store.rateLimits.hit('pin:w3', 5, 60_000)),
    );
    expect(parallel.filter((v) => v.allowed)).toHaveLength(5);
  });

  it('usernamesTaken asks the username index only', async () => {
    const w = workplace('c1');
    await store.workplaces.put(w);
    const before = store.roundTrips();
    expect(await store.workplaces.usernamesTaken([w.username, 'free.name'])).toEqual(new Set([w.username]));
    expect(store.roundTrips() - before).toBe(1);
  });

  it('companies: put, get, list, delete', async () => {
    const company = { id: 'c1', name: 'ACME', mobileIntegration: false, createdAt: 't', updatedAt: 't' };
    await store.companies.put(company);
    await store.companies.put({ ...company, id: 'c2', name: 'Other' });
    expect(await store.companies.get('c1')).toEqual(company);
    expect((await store.companies.list()).map((c) => c.id).sort()).toEqual(['c1', 'c2']);
    await store.companies.put({ ...company, name: 'ACME GmbH' });
    expect((await store.companies.get('c1'))?.name).toBe('ACME GmbH');
    await store.companies.delete('c1');
    expect(await store.companies.get('c1')).toBeUndefined();
    expect((await store.companies.list()).map((c) => c.id)).toEqual(['c2']);
  });

  describe('company-scoped repositories', () => {
    const profile = (companyId: string): BlockingProfile => ({
      id: randomUUID(),
      companyId,
      name: 'no premium',
      incoming: [],
      outgoing: ['+49900'],
      forwarded: [],
      createdAt: 't',
      updatedAt: 't',
    });
    const template = (companyId: string): Template => ({
      id: randomUUID(),
      companyId,
      name: 'sales',
      devices: [{ type: 'deskphone' }],
      createdAt: 't',
      updatedAt: 't',
    });
    const area = (companyId: string) => ({
      id: randomUUID(),
      companyId,
      groupId: 'g1',
      name: 'floor 1',
      createdAt: 't',
      updatedAt: 't',
    });
    const cases = [
      { repo: 'groups', make: (c: string) => group(c) },
      { repo: 'areas', make: area },
      { repo: 'blockingProfiles', make: profile },
      { repo: 'templates', make: template },
    ] as const;

    it.each(cases)('$repo: CRUD scoped to the company', async ({ repo, make }) => {
      const r = store[repo] as unknown as PbxStore['groups'];
      const mine = make('c1') as never as ReturnType<typeof group>;
      const theirs = make('c2') as never as ReturnType<typeof group>;
      await r.put(mine);
      await r.put(theirs);
      expect(await r.get('c1', mine.id)).toEqual(mine);
      expect(await r.get('c1', theirs.id)).toBeUndefined();
      expect((await r.list('c1')).map((e) => e.id)).toEqual([mine.id]);
      // another company's delete of my id is a no-op
      await r.delete({ ...mine, companyId: 'c2' });
      expect(await r.get('c1', mine.id)).toEqual(mine);
      await r.delete(mine);
      expect(await r.get('c1', mine.id)).toBeUndefined();
      expect(await r.list('c1')).toEqual([]);
      expect(await r.list('c2')).toHaveLength(1);
    });

    it("put over another company's id is refused", async () => {
      const g = group('c1');
      await store.groups.put(g);
      await expectConflict(store.groups.put({ ...g, companyId: 'c2' }), 'id');
      expect(await store.groups.get('c1', g.id)).toEqual(g);
    });

    it('optimistic concurrency: put with a stale previous fails, with the current one succeeds', async () => {
      const g = group('c1');
      await store.groups.put(g);
      const read = (await store.groups.get('c1', g.id))!;
      const first = { ...read, name: 'first', updatedAt: 't2' };
      await store.groups.put(first, read);
      const err = await rejection(store.groups.put({ ...read, name: 'second' }, read));
      expect(err).toBeInstanceOf(StaleWriteError);
      expect((await store.groups.get('c1', g.id))?.name).toBe('first');
      // a previous whose keys come in another order is still the same object
      const reordered = Object.fromEntries(Object.entries(first).reverse()) as typeof first;
      await store.groups.put({ ...first, name: 'third' }, reordered);
      expect((await store.groups.get('c1', g.id))?.name).toBe('third');
    });

    it('concurrent updates from the same read: exactly one wins', async () => {
      const g = group('c1');
      await store.groups.put(g);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.groups.put({ ...g, name: `n${i}` }, g)),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StaleWriteError);
      }
    });
  });

  describe('workplaces and portals', () => {
    it('put indexes number, extension and username; lookups find it', async () => {
      const w = workplace('c1');
      await store.workplaces.put(w);
      expect(await store.workplaces.get('c1', w.id)).toEqual(w);
      expect(await store.workplaces.get('c2', w.id)).toBeUndefined();
      expect(await store.workplaces.getById(w.id)).toEqual(w);
      expect(await store.workplaces.getMany([w.id, 'missing'])).toEqual([w, undefined]);
      expect(await store.workplaces.byExtension('c1', w.extension)).toEqual(w);
      expect(await store.workplaces.byExtension('c2', w.extension)).toBeUndefined();
      expect(await store.numbers.resolve(w.number)).toEqual({ kind: 'workplace', id: w.id });
      expect(await store.numbers.resolve('+4999999')).toBeUndefined();
      expect(await store.numbers.taken([w.number, '+4999999'])).toEqual(new Set([w.number]));
      expect((await store.workplaces.list('c1')).map((x) => x.id)).toEqual([w.id]);
    });

    it.each([
      { field: 'number', clash: (w: ReturnType<typeof workplace>) => ({ number: w.number }) },
      { field: 'extension', clash: (w: ReturnType<typeof workplace>) => ({ extension: w.extension }) },
      { field: 'username', clash: (w: ReturnType<typeof workplace>) => ({ username: w.username }) },
    ])(
      'a taken $field is refused with ConflictError($field), nothing half-written',
      async ({ field, clash }) => {
        const w = workplace('c1');
        await store.workplaces.put(w);
        const other = workplace('c1', clash(w));
        const err = await rejection(store.workplaces.put(other));
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).field).toBe(field);
        expect((err as ConflictError).message).toContain(String(other[field as 'number']));
        expect(await store.workplaces.getById(other.id)).toBeUndefined();
        expect(await store.numbers.resolve(other.number)).toEqual(
          field === 'number' ? { kind: 'workplace', id: w.id } : undefined,
        );
        if (field !== 'extension')
          expect(await store.workplaces.byExtension('c1', other.extension)).toBeUndefined();
      },
    );

    it('different companies may share an extension, never a number or username', async () => {
      const a = workplace('c1', { extension: '200' });
      const b = workplace('c2', { extension: '200' });
      await store.workplaces.put(a);
      await store.workplaces.put(b);
      expect((await store.workplaces.byExtension('c1', '200'))?.id).toBe(a.id);
      expect((await store.workplaces.byExtension('c2', '200'))?.id).toBe(b.id);
      await expectConflict(store.workplaces.put(workplace('c2', { number: a.number })), 'number');
      await expectConflict(store.workplaces.put(workplace('c2', { username: a.username })), 'username');
    });

    it('portals share the number space and the company extension space with workplaces', async () => {
      const w = workplace('c1');
      await store.workplaces.put(w);
      await expectConflict(store.portals.put(portal('c1', { number: w.number })), 'number');
      await expectConflict(store.portals.put(portal('c1', { extension: w.extension })), 'extension');
      const p = portal('c1');
      await store.portals.put(p);
      expect(await store.portals.getById(p.id)).toEqual(p);
      expect(await store.portals.get('c2', p.id)).toBeUndefined();
      expect(await store.numbers.resolve(p.number)).toEqual({ kind: 'portal', id: p.id });
      await expectConflict(store.workplaces.put(workplace('c1', { extension: p.extension })), 'extension');
      expect(await store.workplaces.byExtension('c1', p.extension)).toBeUndefined();
      await store.portals.delete(p);
      expect(await store.numbers.resolve(p.number)).toBeUndefined();
      await store.workplaces.put(workplace('c1', { number: p.number, extension: p.extension }));
    });

    it('an update releases the old number, extension and username', async () => {
      const w = workplace('c1');
      await store.workplaces.put(w);
      const moved = { ...w, number: '+4930999001', extension: '777', username: 'renamed' };
      await store.workplaces.put(moved, w);
      expect(await store.numbers.resolve(w.number)).toBeUndefined();
      expect(await store.numbers.resolve(moved.number)).toEqual({ kind: 'workplace', id: w.id });
      expect(await store.workplaces.byExtension('c1', w.extension)).toBeUndefined();
      expect((await store.workplaces.byExtension('c1', '777'))?.id).toBe(w.id);
      // the released values are free for someone else
      await store.workplaces.put(
        workplace('c1', { number: w.number, extension: w.extension, username: w.username }),
      );
      // re-putting the same workplace unchanged keeps its own claims
      await store.workplaces.put({ ...moved, firstName: 'E.' }, moved);
    });

    it('non-ASCII names round-trip and still compare equal for optimistic updates', async () => {
      const w = workplace('c1', { firstName: 'Jürgen 😀', lastName: 'Größe "quoted" \\ \u2028' });
      await store.workplaces.put(w);
      const read = (await store.workplaces.getById(w.id))!;
      expect(read).toEqual(w);
      await store.workplaces.put({ ...read, firstName: 'Jörg' }, read);
      expect((await store.workplaces.getById(w.id))?.firstName).toBe('Jörg');
    });

    it('a refused update leaves the stored workplace and its indexes untouched', async () => {
      const a = workplace('c1');
      const b = workplace('c1');
      await store.workplaces.put(a);
      await store.workplaces.put(b);
      await expectConflict(
        store.workplaces.put({ ...b, number: '+4930555', extension: a.extension }, b),
        'extension',
      );
      expect(await store.workplaces.getById(b.id)).toEqual(b);
      expect(await store.numbers.resolve('+4930555')).toBeUndefined();
      expect(await store.numbers.resolve(b.number)).toEqual({ kind: 'workplace', id: b.id });
    });

    it('delete releases every index, even when the caller holds a stale copy', async () => {
      const w = workplace('c1', {
        parallelRinging: { enabled: true, numbers: ['+491701111'], answerConfirmation: false },
      });
      await store.workplaces.put(w);
      const moved = { ...w, number: '+4930999002' };
      await store.workplaces.put(moved, w);
      await store.workplaces.delete(w); // stale copy with the old number
      expect(await store.workplaces.getById(w.id)).toBeUndefined();
      expect(await store.numbers.resolve(moved.number)).toBeUndefined();
      expect(await store.workplaces.byExtension('c1', w.extension)).toBeUndefined();
      expect(await store.workplaces.byParallelNumber('+491701111')).toEqual([]);
      expect(await store.workplaces.list('c1')).toEqual([]);
      await store.workplaces.put(workplace('c1', { username: w.username }));
    });

    it('another company cannot delete a workplace', async () => {
      const w = workplace('c1');
      await store.workplaces.put(w);
      await store.workplaces.delete({ ...w, companyId: 'c2' });
      expect(await store.workplaces.getById(w.id)).toEqual(w);
      expect(await store.numbers.resolve(w.number)).toEqual({ kind: 'workplace', id: w.id });
    });

    it('byParallelNumber follows the parallel-ringing list across updates', async () => {
      const pr = (numbers: string[]) => ({ enabled: true, numbers, answerConfirmation: true });
      const a = workplace('c1', { parallelRinging: pr(['+491701', '+491702']) });
      const b = workplace('c2', { parallelRinging: pr(['+491701']) });
      await store.workplaces.put(a);
      await store.workplaces.put(b);
      expect((await store.workplaces.byParallelNumber('+491701')).map((w) => w.id).sort()).toEqual(
        [a.id, b.id].sort(),
      );
      await store.workplaces.put({ ...a, parallelRinging: pr(['+491703']) }, a);
      expect((await store.workplaces.byParallelNumber('+491701')).map((w) => w.id)).toEqual([b.id]);
      expect(await store.workplaces.byParallelNumber('+491702')).toEqual([]);
      expect((await store.workplaces.byParallelNumber('+491703')).map((w) => w.id)).toEqual([a.id]);
    });

    it('50 concurrent creates racing for one number: exactly one wins, the rest ConflictError(number)', async () => {
      const contenders = Array.from({ length: 50 }, () => workplace('c1', { number: '+4930777777' }));
      const results = await Promise.allSettled(contenders.map((w) => store.workplaces.put(w)));
      const winners = contenders.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(ConflictError);
          expect((r.reason as ConflictError).field).toBe('number');
        }
      }
      expect(await store.numbers.resolve('+4930777777')).toEqual({ kind: 'workplace', id: winners[0]!.id });
      expect(await store.workplaces.list('c1')).toHaveLength(1);
    });

    it('50 concurrent creates racing for one extension: one per company wins', async () => {
      const contenders = ['c1', 'c2'].flatMap((c) =>
        Array.from({ length: 25 }, () => workplace(c, { extension: '555' })),
      );
      const results = await Promise.allSettled(contenders.map((w) => store.workplaces.put(w)));
      const winners = contenders.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners.map((w) => w.companyId).sort()).toEqual(['c1', 'c2']);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as ConflictError).field).toBe('extension');
      }
    });

    it('putMany writes all or nothing', async () => {
      const existing = workplace('c1');
      await store.workplaces.put(existing);
      const batch = [workplace('c1'), workplace('c1'), workplace('c1', { number: existing.number })];
      await expectConflict(store.workplaces.putMany(batch), 'number');
      for (const w of batch.slice(0, 2)) {
        expect(await store.workplaces.getById(w.id)).toBeUndefined();
        expect(await store.numbers.resolve(w.number)).toBeUndefined();
        expect(await store.workplaces.byExtension('c1', w.extension)).toBeUndefined();
      }
      const dup = workplace('c1');
      await expectConflict(
        store.workplaces.putMany([dup, workplace('c1', { extension: dup.extension })]),
        'extension',
      );
      expect(await store.workplaces.getById(dup.id)).toBeUndefined();

      const good = [workplace('c1'), workplace('c1'), workplace('c1')];
      const goodIds = new Set(good.map((w) => w.id));
      const { ready, all } = collectChanges(store, (c) => goodIds.has(c.id), 3);
      await ready;
      await store.workplaces.putMany(good);
      expect((await all).map((c) => c.id)).toEqual(good.map((w) => w.id));
      expect(await store.workplaces.getMany(good.map((w) => w.id))).toEqual(good);
      expect(await store.workplaces.list('c1')).toHaveLength(4);
    });
  });

  it('call lookup: a dialled number resolves with its entity in ONE round trip', async () => {
    const w = workplace('c1');
    const p = portal('c1');
    await store.workplaces.put(w);
    await store.portals.put(p);
    let before = store.roundTrips();
    expect(await store.lookupNumber(w.number)).toEqual({ kind: 'workplace', id: w.id, workplace: w });
    expect(store.roundTrips() - before).toBe(1);
    before = store.roundTrips();
    expect(await store.lookupNumber(p.number)).toEqual({ kind: 'portal', id: p.id, portal: p });
    expect(await store.lookupExtension('c1', w.extension)).toEqual({
      kind: 'workplace',
      id: w.id,
      workplace: w,
    });
    expect(await store.lookupNumber('+4900000')).toBeUndefined();
    expect(await store.lookupExtension('c2', w.extension)).toBeUndefined();
    expect(store.roundTrips() - before).toBe(4);
    before = store.roundTrips();
    await store.numbers.resolve(w.number);
    expect(store.roundTrips() - before).toBe(1);
    // the adapter over a plain Store gives the same answers
    const plain = { ...store } as Partial<PbxStore>;
    delete plain.lookupNumber;
    delete plain.lookupExtension;
    const adapted = callLookupOf(plain as PbxStore);
    expect(await adapted.lookupNumber(p.number)).toEqual({ kind: 'portal', id: p.id, portal: p });
    expect(await adapted.lookupExtension('c1', p.extension)).toEqual({ kind: 'portal', id: p.id, portal: p });
    expect(callLookupOf(store)).toBe(store);
  });

  it('call lookup: the blocking context (group, company, the profiles they point to) in ONE round trip', async () => {
    const profile = (companyId: string, id: string) => ({
      id,
      companyId,
      name: id,
      incoming: ['+4989'],
      outgoing: [],
      forwarded: [],
      createdAt: 't',
      updatedAt: 't',
    });
    for (const id of ['bp-default', 'bp-group', 'bp-own'])
      await store.blockingProfiles.put(profile('c1', id));
    await store.blockingProfiles.put(profile('c2', 'bp-foreign'));
    const company = { id: 'c1', name: 'ACME', mobileIntegration: false, createdAt: 't', updatedAt: 't' };
    await store.companies.put({ ...company, defaultBlockingProfileId: 'bp-default' });
    const g = group('c1', { blockingProfileId: 'bp-group' });
    await store.groups.put(g);

    let before = store.roundTrips();
    const context = await store.lookupBlockingContext({
      companyId: 'c1',
      groupId: g.id,
      blockingProfileId: 'bp-own',
    });
    expect(store.roundTrips() - before).toBe(1);
    expect(context.company?.defaultBlockingProfileId).toBe('bp-default');
    expect(context.group).toEqual(g);
    expect(context.profiles.map((bp) => bp.id).sort()).toEqual(['bp-default', 'bp-group', 'bp-own']);

    // ids that do not exist, or belong to another company, bring nothing
    before = store.roundTrips();
    const other = await store.lookupBlockingContext({
      companyId: 'c1',
      groupId: 'nope',
      blockingProfileId: 'bp-foreign',
    });
    expect(store.roundTrips() - before).toBe(1);
    expect(other.group).toBeUndefined();
    expect(other.profiles.map((bp) => bp.id)).toEqual(['bp-default']);
    const foreignGroup = await store.lookupBlockingContext({ companyId: 'c2', groupId: g.id });
    expect(foreignGroup.group).toBeUndefined();
    expect(foreignGroup.company).toBeUndefined();

    // the adapter over a plain Store gives the same answer
    const plain = { ...store } as Partial<PbxStore>;
    delete plain.lookupBlockingContext;
    const adapted = await callLookupOf(plain as PbxStore).lookupBlockingContext({
      companyId: 'c1',
      groupId: g.id,
      blockingProfileId: 'bp-own',
    });
    expect(adapted.profiles.map((bp) => bp.id).sort()).toEqual(['bp-default', 'bp-group', 'bp-own']);
    expect(adapted.group).toEqual(g);
  });

  it('tokens: found by hash, listed per company, deleted only by their company', async () => {
    const token = (companyId: string): ApiToken => ({
      id: randomUUID(),
      companyId,
      role: 'admin',
      hash: randomUUID().replace(/-/g, ''),
      createdAt: 't',
    });
    const a = token('c1');
    const b = token('c2');
    await store.tokens.create(a);
    await store.tokens.create(b);
    expect(await store.tokens.byHash(a.hash)).toEqual(a);
    expect(await store.tokens.byHash('nope')).toBeUndefined();
    expect(await store.tokens.list('c1')).toEqual([a]);
    await expectConflict(store.tokens.create({ ...token('c1'), hash: a.hash }), 'token');
    await store.tokens.delete('c2', a.id);
    expect(await store.tokens.byHash(a.hash)).toEqual(a);
    await store.tokens.delete('c1', a.id);
    expect(await store.tokens.byHash(a.hash)).toBeUndefined();
    expect(await store.tokens.list('c1')).toEqual([]);
    expect(await store.tokens.list('c2')).toEqual([b]);
  });

  it('voicebox messages: add, list oldest first, get, update, delete', async () => {
    const msg = (id: string, receivedAt: string): VoiceboxMessage => ({
      id,
      companyId: 'c1',
      workplaceId: 'w1',
      callerNumber: '+4930123',
      receivedAt,
      durationSeconds: 12,
      recordingName: `vb-${id}`,
      status: 'new',
    });
    await store.voicebox.add(msg('m2', '2026-01-02T00:00:00Z'));
    await store.voicebox.add(msg('m1', '2026-01-01T00:00:00Z'));
    expect((await store.voicebox.list('w1')).map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(await store.voicebox.list('w2')).toEqual([]);
    await store.voicebox.update({ ...msg('m1', '2026-01-01T00:00:00Z'), status: 'heard' });
    expect((await store.voicebox.get('w1', 'm1'))?.status).toBe('heard');
    await store.voicebox.delete('w1', 'm1');
    expect(await store.voicebox.get('w1', 'm1')).toBeUndefined();
    await store.voicebox.update({ ...msg('m1', '2026-01-01T00:00:00Z'), status: 'saved' });
    expect(await store.voicebox.get('w1', 'm1')).toBeUndefined();
    expect((await store.voicebox.list('w1')).map((m) => m.id)).toEqual(['m2']);
  });

  it('pinFailures: concurrent increments all count, one round trip each, reset clears', async () => {
    expect(await store.pinFailures.get('w1')).toBe(0);
    const before = store.roundTrips();
    const counts = await Promise.all(Array.from({ length: 20 }, () => store.pinFailures.increment('w1')));
    expect(store.roundTrips() - before).toBe(20);
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await store.pinFailures.get('w1')).toBe(20);
    expect(await store.pinFailures.get('w2')).toBe(0);
    await store.pinFailures.reset('w1');
    expect(await store.pinFailures.get('w1')).toBe(0);
  });

  describe('accounts (web sign-in)', () => {
    const acct = (over: Partial<UserAccount> = {}): UserAccount => ({
      id: 'a1',
      companyId: 'c1',
      role: 'admin',
      username: 'chef.admin',
      email: 'chef@example.com',
      createdAt: 't',
      updatedAt: 't',
      ...over,
    });

    it('username and e-mail are unique sign-in names across companies; a change frees the old ones', async () => {
      const a = acct();
      await store.accounts.put(a);
      expect(await store.accounts.byLogin('chef.admin')).toEqual(a);
      expect(await store.accounts.byLogin('chef@example.com')).toEqual(a);
      await expectConflict(
        store.accounts.put(acct({ id: 'a2', companyId: 'c2', email: undefined })),
        'username',
      );
      await expectConflict(store.accounts.put(acct({ id: 'a2', username: 'other.one' })), 'email');
      const renamed = acct({ email: 'new@example.com', passwordHash: 'h' });
      await store.accounts.put(renamed, a);
      expect(await store.accounts.byLogin('chef@example.com')).toBeUndefined();
      expect(await store.accounts.byLogin('new@example.com')).toEqual(renamed);
      // a write based on a stale read is refused
      expect(await rejection(store.accounts.put(acct({ passwordHash: 'x' }), a))).toBeInstanceOf(
        StaleWriteError,
      );
      expect(await store.accounts.get('c2', 'a1')).toBeUndefined();
      expect((await store.accounts.list('c1')).map((x) => x.id)).toEqual(['a1']);
    });

    it('sessions expire on read and go with their account', async () => {
      const a = acct();
      await store.accounts.put(a);
      const session = (hash: string, expiresAt: string): WebSession => ({
        hash,
        accountId: 'a1',
        companyId: 'c1',
        csrf: 'x',
        createdAt: 't',
        expiresAt,
      });
      await store.accounts.createSession(session('s1', '2030-01-01T00:00:00.000Z'));
      await store.accounts.createSession(session('s2', '2020-01-01T00:00:00.000Z'));
      const now = Date.parse('2026-01-01T00:00:00.000Z');
      expect(await store.accounts.session('s1', now)).toMatchObject({ hash: 's1' });
      expect(await store.accounts.session('s2', now)).toBeUndefined();
      await store.accounts.deleteSessionsOf('a1');
      expect(await store.accounts.session('s1', now)).toBeUndefined();
      await store.accounts.createSession(session('s3', '2030-01-01T00:00:00.000Z'));
      await store.accounts.delete(a);
      expect(await store.accounts.session('s3', now)).toBeUndefined();
      expect(await store.accounts.byLogin('chef.admin')).toBeUndefined();
      expect(await store.accounts.list('c1')).toEqual([]);
    });

    it('a one-time link is taken exactly once, even by concurrent requests', async () => {
      const link: AccountLink = {
        hash: 'l1',
        accountId: 'a1',
        companyId: 'c1',
        purpose: 'invite',
        expiresAt: '2030-01-01T00:00:00.000Z',
      };
      await store.accounts.createLink(link);
      const now = Date.parse('2026-01-01T00:00:00.000Z');
      const taken = await Promise.all(Array.from({ length: 5 }, () => store.accounts.takeLink('l1', now)));
      expect(taken.filter(Boolean)).toEqual([link]);
      await store.accounts.createLink({ ...link, hash: 'l2', expiresAt: '2020-01-01T00:00:00.000Z' });
      expect(await store.accounts.takeLink('l2', now)).toBeUndefined();
      await store.accounts.createLink({ ...link, hash: 'l3' });
      await store.accounts.deleteLinksOf('a1');
      expect(await store.accounts.takeLink('l3', now)).toBeUndefined();
    });
  });

  describe('callThroughs (fraud guard counters)', () => {
    // 09:15 UTC of the real day the suite runs on: Redis expires keys by its own clock, so the
    // tests' instant must be the real day (a fixed calendar date passed only in the week it was
    // written). The memory store reads the request's time alone.
    const today = new Date();
    const T0 = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 9, 15);
    const policy = (over: Partial<CallThroughPolicy> = {}): CallThroughPolicy => ({
      ...DEFAULT_CALL_THROUGH_POLICY,
      perWorkplace: { perHour: 100, concurrent: 100, minutesPerDay: 1000 },
      perCompany: { perHour: 100, concurrent: 100, minutesPerDay: 1000 },
      ...over,
    });
    let seq = 0;
    const req = (over: Partial<CallThroughRequest> = {}): CallThroughRequest => ({
      callId: `call-${++seq}`,
      companyId: 'c1',
      workplaceId: 'w1',
      nowMs: T0,
      country: '49',
      policy: policy(),
      leaseSeconds: 3600,
      ...over,
    });

    it('parallel admissions never exceed the concurrency limit; one round trip each', async () => {
      const p = policy({
        perWorkplace: { perHour: 100, concurrent: 3, minutesPerDay: 1000 },
        lockAfterRefusals: 0,
      });
      const before = store.roundTrips();
      const verdicts = await Promise.all(
        Array.from({ length: 10 }, () => store.callThroughs.admit(req({ policy: p }))),
      );
      expect(store.roundTrips() - before).toBe(10);
      expect(verdicts.filter((v) => v.kind === 'admitted')).toHaveLength(3);
      const refused = verdicts.filter((v) => v.kind === 'refused');
      expect(refused.map((v) => v.kind === 'refused' && v.reason)).toEqual(
        Array(7).fill('workplace-concurrent'),
      );
      // each refusal counted once, in order
      expect(
        refused.map((v) => v.kind === 'refused' && v.refusalsToday).sort((a, b) => Number(a) - Number(b)),
      ).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });

    it('two store instances (two controllers) share the counters', async () => {
      const other = await open();
      const p = policy({
        perCompany: { perHour: 3, concurrent: 100, minutesPerDay: 1000 },
        lockAfterRefusals: 0,
      });
      const verdicts = await Promise.all([
        store.callThroughs.admit(req({ policy: p, workplaceId: 'w1' })),
        other.callThroughs.admit(req({ policy: p, workplaceId: 'w2' })),
        store.callThroughs.admit(req({ policy: p, workplaceId: 'w3' })),
        other.callThroughs.admit(req({ policy: p, workplaceId: 'w4' })),
      ]);
      if (backend.name === 'redis') {
        expect(verdicts.filter((v) => v.kind === 'admitted')).toHaveLength(3);
        expect(verdicts.find((v) => v.kind === 'refused')).toMatchObject({ reason: 'company-per-hour' });
      }
      // the next hour starts afresh
      expect(await store.callThroughs.admit(req({ policy: p, nowMs: T0 + 3_600_000 }))).toMatchObject({
        kind: 'admitted',
      });
    });

    it('settling frees the slot and adds talk time; minutes per day are enforced; settle rides along with admit', async () => {
      const p = policy({ perWorkplace: { perHour: 100, concurrent: 1, minutesPerDay: 2 } });
      const first = req({ policy: p });
      expect(await store.callThroughs.admit(first)).toEqual({
        kind: 'admitted',
        newCountry: true,
        secondsLeft: 120,
      });
      expect(await store.callThroughs.admit(req({ policy: p }))).toMatchObject({
        reason: 'workplace-concurrent',
      });
      const end = { callId: first.callId, companyId: 'c1', workplaceId: 'w1', startedAtMs: T0, seconds: 90 };
      const before = store.roundTrips();
      const second = req({ policy: p, country: '43' });
      // the settlement counts before the admission: 30 of the 120 seconds are left
      expect(await store.callThroughs.admit(second, [end])).toEqual({
        kind: 'admitted',
        newCountry: true,
        secondsLeft: 30,
      });
      expect(store.roundTrips() - before).toBe(1);
      await store.callThroughs.settle([{ ...end, callId: second.callId, seconds: 30 }], T0);
      const status = await store.callThroughs.usage('c1', 'w1', T0);
      expect(status.usage).toEqual({
        workplace: { thisHour: 2, active: 0, secondsToday: 120 },
        company: { thisHour: 2, active: 0, secondsToday: 120 },
        refusalsToday: 1,
      });
      expect(await store.callThroughs.admit(req({ policy: p }))).toMatchObject({
        reason: 'workplace-minutes',
      });
      // another workplace of the company still may; the next day starts afresh
      expect(await store.callThroughs.admit(req({ policy: p, workplaceId: 'w2', country: '43' }))).toEqual({
        kind: 'admitted',
        newCountry: false,
        secondsLeft: 120,
      });
      expect(await store.callThroughs.admit(req({ policy: p, nowMs: T0 + 86_400_000 }))).toMatchObject({
        kind: 'admitted',
      });
    });

    it('a lease that is never settled (controller died) frees its slot when it runs out', async () => {
      const p = policy({ perWorkplace: { perHour: 100, concurrent: 1, minutesPerDay: 1000 } });
      expect(await store.callThroughs.admit(req({ policy: p, leaseSeconds: 60 }))).toMatchObject({
        kind: 'admitted',
      });
      expect(await store.callThroughs.admit(req({ policy: p, nowMs: T0 + 30_000 }))).toMatchObject({
        kind: 'refused',
      });
      expect(await store.callThroughs.admit(req({ policy: p, nowMs: T0 + 61_000 }))).toMatchObject({
        kind: 'admitted',
      });
    });

    it('refusals lock the workplace after the threshold until unlocked; class refusals count too', async () => {
      const p = policy({
        perWorkplace: { perHour: 1, concurrent: 100, minutesPerDay: 1000 },
        lockAfterRefusals: 3,
      });
      expect(await store.callThroughs.admit(req({ policy: p }))).toMatchObject({ kind: 'admitted' });
      expect(await store.callThroughs.admit(req({ policy: p }))).toMatchObject({
        reason: 'workplace-per-hour',
        lockedNow: false,
      });
      expect(await store.callThroughs.admit(req({ policy: p, refusal: 'premium-rate' }))).toMatchObject({
        reason: 'premium-rate',
        refusalsToday: 2,
        lockedNow: false,
      });
      expect(await store.callThroughs.admit(req({ policy: p }))).toMatchObject({
        refusalsToday: 3,
        lockedNow: true,
      });
      expect(await store.callThroughs.lock('w1')).toMatchObject({
        reason: 'workplace-per-hour',
        refusals: 3,
      });
      expect(await store.callThroughs.lock('w2')).toBeUndefined();
      // locked: refused whatever the counters say (the next hour too), nothing more counted
      expect(await store.callThroughs.admit(req({ policy: p, nowMs: T0 + 3_600_000 }))).toEqual({
        kind: 'refused',
        reason: 'locked',
        refusalsToday: 0,
        lockedNow: false,
      });
      await store.callThroughs.unlock('w1', T0);
      expect(await store.callThroughs.lock('w1')).toBeUndefined();
      expect(await store.callThroughs.admit(req({ policy: p, nowMs: T0 + 3_600_000 }))).toMatchObject({
        kind: 'admitted',
      });
      expect((await store.callThroughs.usage('c1', 'w1', T0)).usage.refusalsToday).toBe(0);
    });
  });

  it('liveCalls: remove is compare-and-delete on the call (bridge and remote channel); listed per controller', async () => {
    const call = (
      workplaceId: string,
      bridgeId: string,
      controllerId = 'ctl-a',
      remote = `r-${bridgeId}`,
    ): LiveCall => ({
      workplaceId,
      bridgeId,
      remoteChannelId: remote,
      deviceChannelId: `d-${bridgeId}`,
      controllerId,
      startedAt: 't',
    });
    await store.liveCalls.put(call('w1', 'b1'));
    await store.liveCalls.put(call('w1', 'b2')); // a newer call replaces the first
    await store.liveCalls.remove(call('w1', 'b1')); // the old call ending must not remove the new one
    expect(await store.liveCalls.get('w1')).toEqual(call('w1', 'b2'));
    // bridges are reused: the old call's late removal names the bridge the new call has now
    await store.liveCalls.put(call('w1', 'b2', 'ctl-a', 'r-newer'));
    await store.liveCalls.remove(call('w1', 'b2'));
    expect(await store.liveCalls.get('w1')).toEqual(call('w1', 'b2', 'ctl-a', 'r-newer'));
    await store.liveCalls.put(call('w1', 'b2'));
    await store.liveCalls.put(call('w2', 'b3'));
    await store.liveCalls.put(call('w3', 'b4', 'ctl-b'));
    expect((await store.liveCalls.listByController('ctl-a')).map((c) => c.workplaceId).sort()).toEqual([
      'w1',
      'w2',
    ]);
    await store.liveCalls.remove(call('w1', 'b2'));
    expect(await store.liveCalls.get('w1')).toBeUndefined();
    // w2's call moves to another controller
    await store.liveCalls.put(call('w2', 'b5', 'ctl-b'));
    expect(await store.liveCalls.listByController('ctl-a')).toEqual([]);
    expect((await store.liveCalls.listByController('ctl-b')).map((c) => c.workplaceId).sort()).toEqual([
      'w2',
      'w3',
    ]);
    await store.liveCalls.remove(call('nobody', 'bx'));
  });

  it('every mutation announces a ConfigChange; unsubscribe stops delivery', async () => {
    const w = workplace('c1');
    const g = group('c1');
    const { ready, all } = collectChanges(store, () => true, 4);
    const unsubscribe = await ready;
    await store.groups.put(g);
    await store.workplaces.put(w);
    await store.workplaces.delete(w);
    await store.publishChange({ kind: 'company', id: 'c1' });
    expect(await all).toEqual([
      { kind: 'group', id: g.id, companyId: 'c1' },
      { kind: 'workplace', id: w.id, companyId: 'c1' },
      { kind: 'workplace', id: w.id, companyId: 'c1' },
      { kind: 'company', id: 'c1' },
    ]);
    await unsubscribe();
  });

  it('a throwing listener does not break the writer or other listeners', async () => {
    await store.onChange(() => {
      throw new Error('listener bug');
    });
    const { ready, all } = collectChanges(store, (c) => c.kind === 'group', 1);
    await ready;
    await store.groups.put(group('c1'));
    expect(await all).toHaveLength(1);
  });

  if (backend.name === 'redis') {
    it('a second store instance (another controller) receives the changes over pub/sub', async () => {
      const other = await open();
      const w = workplace('c1');
      const { ready, all } = collectChanges(other, (c) => c.id === w.id, 1);
      await ready;
      await store.workplaces.put(w);
      expect(await all).toEqual([{ kind: 'workplace', id: w.id, companyId: 'c1' }]);
    });

    it('configuration survives a restart of the controller (close and reopen)', async () => {
      const w = workplace('c1');
      await store.workplaces.put(w);
      await store.tokens.create({ id: 't1', companyId: 'c1', role: 'admin', hash: 'h1', createdAt: 't' });
      await store.close();
      const reopened = await open();
      expect(await reopened.workplaces.getById(w.id)).toEqual(w);
      expect(await reopened.lookupNumber(w.number)).toEqual({ kind: 'workplace', id: w.id, workplace: w });
      expect((await reopened.tokens.byHash('h1'))?.id).toBe('t1');
      await expectConflict(reopened.workplaces.put(workplace('c1', { number: w.number })), 'number');
    });

    it('keeps key prefixes apart', async () => {
      const other = await open(`test-store-${randomUUID()}:`);
      const w = workplace('c1');
      await store.workplaces.put(w);
      expect(await other.workplaces.getById(w.id)).toBeUndefined();
      await other.workplaces.put({ ...w });
    });
  }
});

describe('createStore', () => {
  function capture() {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    return { logger: pino(stream), lines };
  }

  it('without REDIS_URL: the memory store, with a warning that nothing is persisted', async () => {
    const { logger, lines } = capture();
    const store = await createStore({}, logger);
    expect(store.kind).toBe('memory');
    expect(lines.join('')).toMatch(/NOTHING is persisted/);
    await store.close();
  });

  it('with REDIS_URL: the Redis store', async () => {
    const { logger } = capture();
    const store = await createStore({ REDIS_URL: redisUrl }, logger);
    expect(store.kind).toBe('redis');
    expect(await store.ping()).toBe(true);
    await store.close();
  });

  it('an unreachable Redis does not crash the process: ping reports false', async () => {
    const { logger, lines } = capture();
    const store = await createRedisStore({ url: redisUrl, prefix: `test-store-${randomUUID()}:`, logger });
    await store.close();
    expect(await store.ping()).toBe(false);
    expect(lines.join('')).not.toMatch(/password/i);
  });
});

/**
 * Referential integrity and the group invariants, checked inside the atomic write: parallel
 * writers (Promise.all against the real Redis, several trials) never leave an orphan, two
 * groups with overlapping ranges, or a company with zero or two default groups.
 */
describe.each(backends)('$name store: integrity under concurrency', (backend) => {
  let store: PbxStore;
  const TRIALS = 5;
  const company = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    name: id,
    mobileIntegration: false,
    createdAt: 't',
    updatedAt: 't',
    ...extra,
  });
  const profile = (companyId: string, id = randomUUID()): BlockingProfile => ({
    id,
    companyId,
    name: 'p',
    incoming: [],
    outgoing: [],
    forwarded: [],
    createdAt: 't',
    updatedAt: 't',
  });
  const range = (first: string, last: string) => [{ first, last }];

  beforeEach(async () => {
    store = await backend.open(`test-integrity-${randomUUID()}:`, { checkReferences: true });
  });
  afterEach(async () => store.close());

  let seq = 0;
  /** a workplace of group g with a number inside its first range */
  const member = (g: { id: string; companyId: string; numberRanges: Array<{ first: string }> }, extra = {}) =>
    workplace(g.companyId, {
      groupId: g.id,
      number: `${g.numberRanges[0]!.first.slice(0, -2)}${String(seq++ % 100).padStart(2, '0')}`,
      ...extra,
    });

  async function newCompany() {
    const c = company(`c-${randomUUID()}`);
    await store.companies.put(c);
    return c;
  }

  it('writes under a missing or deleted company are refused; a deleted company stays deleted', async () => {
    await expectError(store.groups.put(group('nobody')), CompanyGoneError);
    const c = await newCompany();
    const g = await store.groups.put(group(c.id));
    await store.companies.delete(c.id);
    expect(await store.companies.isDeleting(c.id)).toBe(true);
    await expectError(store.workplaces.put(member(g)), CompanyGoneError);
    await expectError(store.blockingProfiles.put(profile(c.id)), CompanyGoneError);
    await expectError(store.companies.put(c), CompanyGoneError);
    await store.groups.delete(g);
    await store.companies.finishDelete(c.id);
    expect(await store.companies.isDeleting(c.id)).toBe(false);
  });

  it('a workplace must name an existing group, area and profile of its own company', async () => {
    const c = await newCompany();
    const other = await newCompany();
    const g = await store.groups.put(group(c.id));
    const foreign = await store.groups.put(group(other.id));
    await expectConflict(store.workplaces.put(workplace(c.id, { groupId: 'missing' })), 'groupId');
    await expectConflict(store.workplaces.put(workplace(c.id, { groupId: foreign.id })), 'groupId');
    await expectConflict(store.workplaces.put(member(g, { blockingProfileId: 'x' })), 'blockingProfileId');
    // a number outside the group's ranges
    await expectConflict(
      store.workplaces.put(workplace(c.id, { groupId: g.id, number: '+4999999999' })),
      'number',
    );
    const w = member(g);
    await store.workplaces.put(w);
    expect(await store.workplaces.get(c.id, w.id)).toEqual(w);
    // and the group's ranges cannot shrink away from it
    await expectConflict(store.groups.put({ ...g, numberRanges: [] }, g), 'numberRanges');
  });

  it('a referenced group, area or profile cannot be deleted; once released it can', async () => {
    const c = await newCompany();
    const bp = profile(c.id);
    await store.blockingProfiles.put(bp);
    const g = await store.groups.put(group(c.id, { blockingProfileId: bp.id }));
    const w = member(g);
    await store.workplaces.put(w);
    await expectConflict(store.groups.delete(g), 'id');
    await expectConflict(store.blockingProfiles.delete(bp), 'id');
    await store.workplaces.delete(w);
    await expectConflict(store.blockingProfiles.delete(bp), 'id'); // the group still names it
    const { blockingProfileId: _bp, ...plain } = g;
    await store.groups.put({ ...plain }, g);
    await store.blockingProfiles.delete(bp);
    await store.groups.delete((await store.groups.get(c.id, g.id))!);
    expect(await store.groups.list(c.id)).toEqual([]);
  });

  it('group delete racing workplace creates in it: never a workplace in a deleted group', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await newCompany();
      await store.groups.put(group(c.id)); // the default, so the raced group may be deleted
      const g = await store.groups.put(group(c.id, { isDefault: false }));
      const creates = Array.from({ length: 10 }, () =>
        store.workplaces.put(workplace(c.id, { groupId: g.id })),
      );
      const results = await Promise.allSettled([store.groups.delete(g), ...creates]);
      const groupGone = (await store.groups.get(c.id, g.id)) === undefined;
      const inGroup = (await store.workplaces.list(c.id)).filter((w) => w.groupId === g.id);
      if (groupGone) expect(inGroup, `trial ${trial}`).toEqual([]);
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(groupGone ? 1 + 0 : inGroup.length);
    }
  });

  it('group ranges shrinking racing workplace creates in the removed part: never a number outside its group', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await newCompany();
      const g = await store.groups.put(group(c.id));
      const first = g.numberRanges[0]!.first;
      const lower = { first, last: `${first.slice(0, -2)}49` };
      const creates = Array.from({ length: 10 }, (_, i) =>
        store.workplaces.put(workplace(c.id, { groupId: g.id, number: `${first.slice(0, -2)}${50 + i}` })),
      );
      await Promise.allSettled([store.groups.put({ ...g, numberRanges: [lower] }, g), ...creates]);
      const stored = (await store.groups.get(c.id, g.id))!;
      for (const w of await store.workplaces.list(c.id)) {
        expect(
          stored.numberRanges.some((r) => r.first <= w.number && w.number <= r.last),
          `trial ${trial}: ${w.number} outside ${JSON.stringify(stored.numberRanges)}`,
        ).toBe(true);
      }
    }
  });

  it('profile delete racing a company default naming it: never a dangling default', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await newCompany();
      const bp = profile(c.id);
      await store.blockingProfiles.put(bp);
      await Promise.allSettled([
        store.blockingProfiles.delete(bp),
        store.companies.put({ ...c, defaultBlockingProfileId: bp.id }, c),
      ]);
      const stored = (await store.companies.get(c.id))!;
      const profileLeft = await store.blockingProfiles.get(c.id, bp.id);
      if (stored.defaultBlockingProfileId !== undefined) expect(profileLeft, `trial ${trial}`).toBeDefined();
    }
  });

  it('company put with a stale previous is refused (compare-and-set)', async () => {
    const c = await newCompany();
    await store.companies.put({ ...c, name: 'first' }, c);
    await expectError(store.companies.put({ ...c, name: 'second' }, c), StaleWriteError);
    expect((await store.companies.get(c.id))?.name).toBe('first');
  });

  it('10 parallel groups of one range, in one or several companies: exactly one wins', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const companies = await Promise.all(Array.from({ length: 4 }, () => newCompany()));
      const first = `+4950${String(trial).padStart(2, '0')}000000`;
      const last = `+4950${String(trial).padStart(2, '0')}000099`;
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.groups.put(
            group(companies[i % 4]!.id, { numberRanges: range(first, last), isDefault: false }),
          ),
        ),
      );
      expect(
        results.filter((r) => r.status === 'fulfilled'),
        `trial ${trial}`,
      ).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RangeOverlapError);
      const all = (await Promise.all(companies.map((c) => store.groups.list(c.id)))).flat();
      expect(all).toHaveLength(1);
    }
  });

  it('ranges: partial overlaps are found whatever the number of groups; own ranges and freed ranges are reusable', async () => {
    const c = await newCompany();
    const groups = [];
    for (let i = 0; i < 30; i++) {
      const base = `+4960${String(i).padStart(4, '0')}`;
      groups.push(
        await store.groups.put(
          group(c.id, { numberRanges: range(`${base}000`, `${base}099`), isDefault: false }),
        ),
      );
    }
    const err = await rejection(
      store.groups.put(
        group(c.id, {
          numberRanges: [...range('+49700000000', '+49700000001'), ...range('+49600010050', '+49600010150')],
        }),
      ),
    );
    expect(err).toBeInstanceOf(RangeOverlapError);
    expect((err as RangeOverlapError).indexes).toEqual([1]);
    // spanning several stored ranges
    await expectError(
      store.groups.put(group(c.id, { numberRanges: range('+49600000500', '+49600020500') })),
      RangeOverlapError,
    );
    // other lengths never overlap
    await store.groups.put(group(c.id, { numberRanges: range('+496000100500', '+496000100599') }));
    // a group may move inside its own range
    const g = groups[5]!;
    const moved = await store.groups.put({ ...g, numberRanges: range('+49600005050', '+49600005199') }, g);
    await expectError(
      store.groups.put(group(c.id, { numberRanges: range('+49600005150', '+49600005150') })),
      RangeOverlapError,
    );
    // the freed part and a deleted group's range can be taken
    await store.groups.put(group(c.id, { numberRanges: range('+49600005000', '+49600005049') }));
    await store.groups.delete(groups[7]!);
    await store.groups.put(group(c.id, { numberRanges: range('+49600007000', '+49600007099') }));
    expect(moved.numberRanges).toEqual(range('+49600005050', '+49600005199'));
  });

  it('isDefault: parallel creates asking to be the default leave exactly one default; a refused one stores nothing', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await newCompany();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => store.groups.put(group(c.id, { isDefault: true }))),
      );
      const stored = await store.groups.list(c.id);
      expect(
        stored.filter((g) => g.isDefault),
        `trial ${trial}`,
      ).toHaveLength(1);
      expect(stored).toHaveLength(results.filter((r) => r.status === 'fulfilled').length);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StaleWriteError);
    }
  });

  it('isDefault: parallel first groups (none asking) — exactly one becomes the default', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await newCompany();
      await Promise.allSettled(
        Array.from({ length: 10 }, () => store.groups.put(group(c.id, { isDefault: false }))),
      );
      const stored = await store.groups.list(c.id);
      expect(stored.length).toBeGreaterThan(0);
      expect(
        stored.filter((g) => g.isDefault),
        `trial ${trial}`,
      ).toHaveLength(1);
    }
  });

  it('isDefault: parallel switches of the default to different groups leave exactly one', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await newCompany();
      const groups: Awaited<ReturnType<PbxStore['groups']['put']>>[] = [];
      for (let i = 0; i < 8; i++) groups.push(await store.groups.put(group(c.id, { isDefault: false })));
      await Promise.allSettled(groups.map((g) => store.groups.put({ ...g, isDefault: true, name: 'x' }, g)));
      expect(
        (await store.groups.list(c.id)).filter((g) => g.isDefault),
        `trial ${trial}`,
      ).toHaveLength(1);
    }
  });

  it('the default group goes only with the last group; deleting it racing a create keeps one default', async () => {
    const c = await newCompany();
    const first = await store.groups.put(group(c.id));
    const second = await store.groups.put(group(c.id, { isDefault: false }));
    expect(first.isDefault).toBe(true);
    expect(second.isDefault).toBe(false);
    await expectConflict(store.groups.delete(first), 'isDefault');
    for (let trial = 0; trial < TRIALS; trial++) {
      const c2 = await newCompany();
      const only = await store.groups.put(group(c2.id));
      await Promise.allSettled([
        store.groups.delete(only),
        store.groups.put(group(c2.id, { isDefault: false })),
      ]);
      const left = await store.groups.list(c2.id);
      if (left.length > 0)
        expect(
          left.filter((g) => g.isDefault),
          `trial ${trial}`,
        ).toHaveLength(1);
    }
  });
});

async function expectError(promise: Promise<unknown>, type: new (...args: never[]) => Error) {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(type);
}

/** SIP passwords encrypted at rest with SECRET_KEY; plain values from before stay readable. */
describe.each(backends)('$name store: SIP passwords at rest', (backend) => {
  const key = Buffer.alloc(32, 7);
  const device = (id: string, sipPassword: string) => ({
    id,
    type: 'deskphone' as const,
    sipUsername: `sip-${id}`,
    sipPassword,
    createdAt: 't',
  });

  it('round-trips encrypted; compare-and-set still works on the decrypted object', async () => {
    const store = await backend.open(`test-sip-${randomUUID()}:`, { secretKey: key });
    try {
      const w = workplace('c1', { devices: [device('d1', 'S3cret-pass-1'), device('d2', 'S3cret-pass-2')] });
      await store.workplaces.put(w);
      expect(await store.workplaces.get('c1', w.id)).toEqual(w);
      expect(await store.lookupNumber(w.number)).toMatchObject({ workplace: w });
      const next = { ...w, firstName: 'Changed' };
      await store.workplaces.put(next, w);
      await expectError(store.workplaces.put({ ...w, firstName: 'Stale' }, w), StaleWriteError);
      expect((await store.workplaces.getById(w.id))?.devices[1]?.sipPassword).toBe('S3cret-pass-2');
    } finally {
      await store.close();
    }
  });
});

describe('SIP passwords at rest in Redis', () => {
  const key = Buffer.alloc(32, 9);
  const device = (id: string, sipPassword: string) => ({
    id,
    type: 'mobile' as const,
    sipUsername: `sip-${id}`,
    sipPassword,
    createdAt: 't',
  });

  it('are not in Redis in clear; plain values from before are read and encrypted on the next write; no key or another key is refused loudly', async () => {
    const prefix = `test-sip-raw-${randomUUID()}:`;
    const plain = await createRedisStore({ url: redisUrl, prefix, checkReferences: false });
    const sealed = await createRedisStore({ url: redisUrl, prefix, checkReferences: false, secretKey: key });
    const wrong = await createRedisStore({
      url: redisUrl,
      prefix,
      checkReferences: false,
      secretKey: Buffer.alloc(32, 1),
    });
    const raw = createClient({ url: redisUrl });
    await raw.connect();
    try {
      const legacy = workplace('c1', { devices: [device('d1', 'Legacy-Pass-123')] });
      await plain.workplaces.put(legacy);
      expect(await raw.get(`${prefix}workplace:${legacy.id}`)).toContain('Legacy-Pass-123');
      // read with the key, updated with compare-and-set, stored encrypted
      expect(await sealed.workplaces.get('c1', legacy.id)).toEqual(legacy);
      await sealed.workplaces.put({ ...legacy, lastName: 'Neu' }, legacy);
      const stored = (await raw.get(`${prefix}workplace:${legacy.id}`))!;
      expect(stored).not.toContain('Legacy-Pass-123');
      expect(stored).toContain('enc:v1:');
      expect((await sealed.workplaces.get('c1', legacy.id))?.devices[0]?.sipPassword).toBe('Legacy-Pass-123');
      await expectError(plain.workplaces.get('c1', legacy.id), SecretKeyError);
      await expectError(wrong.workplaces.get('c1', legacy.id), SecretKeyError);
    } finally {
      await raw.close();
      await Promise.all([plain.close(), sealed.close(), wrong.close()]);
    }
  });

  it('createStore says loudly when SECRET_KEY is unset, and refuses a malformed key', async () => {
    const lines: string[] = [];
    const logger = pino(
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const store = await createStore({}, logger);
    expect(lines.join('')).toMatch(/SECRET_KEY is not set: SIP passwords are stored in CLEAR/);
    await store.close();
    await expectError(createStore({ SECRET_KEY: 'short' }, logger), SecretKeyError);
    lines.length = 0;
    const keyed = await createStore({ SECRET_KEY: key.toString('base64') }, logger);
    expect(lines.join('')).not.toMatch(/SECRET_KEY/);
    await keyed.close();
  });
});

describe('data from before the range index and the default pointer (Redis)', () => {
  it('the first group write builds the index from the stored groups; a legacy default stays the default', async () => {
    const prefix = `test-legacy-${randomUUID()}:`;
    const store = await createRedisStore({ url: redisUrl, prefix });
    const raw = createClient({ url: redisUrl });
    await raw.connect();
    try {
      const c = { id: 'c-legacy', name: 'L', mobileIntegration: false, createdAt: 't', updatedAt: 't' };
      await store.companies.put(c);
      const old = await store.groups.put(
        group(c.id, { numberRanges: [{ first: '+4980000000', last: '+4980000099' }] }),
      );
      // as an older version left it: no index, no pointer
      await raw.del([`${prefix}ranges`, `${prefix}ranges-built`, `${prefix}default-group:${c.id}`]);
      const err = await rejection(
        store.groups.put(group(c.id, { numberRanges: [{ first: '+4980000050', last: '+4980000150' }] })),
      );
      expect(err).toBeInstanceOf(RangeOverlapError);
      const next = await store.groups.put(
        group(c.id, { isDefault: false, numberRanges: [{ first: '+4980000100', last: '+4980000199' }] }),
      );
      expect(next.isDefault).toBe(false);
      expect((await store.groups.get(c.id, old.id))?.isDefault).toBe(true);
      expect(await raw.get(`${prefix}default-group:${c.id}`)).toBe(old.id);
    } finally {
      await raw.close();
      await store.close();
    }
  });
});
