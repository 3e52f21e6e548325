/* eslint-disable @typescript-eslint/no-explicit-any -- interim test double, removed when src/store lands */
/**
 * INTERIM: a minimal in-memory Store so the API tests can run before src/store lands.
 * Used only when src/store/index.ts does not exist yet; delete once it does.
 */
import type { Store } from '../../../src/store/store.js';
import { ConflictError, StaleWriteError } from '../../../src/store/store.js';

type Entity = { id: string; companyId: string; updatedAt?: string };

export function createInterimStore(): Store {
  const companies = new Map<string, any>();
  const tables = new Map<string, Map<string, any>>();
  const table = (k: string) => tables.get(k) ?? tables.set(k, new Map()).get(k)!;
  const numbers = new Map<string, { kind: 'workplace' | 'portal'; id: string }>();
  const extensions = new Map<string, string>(); // companyId:ext → id
  const usernames = new Map<string, string>();
  const tokens = new Map<string, any>();
  const voicebox = new Map<string, any>();
  const pin = new Map<string, number>();
  const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

  function repo(kind: string) {
    const t = table(kind);
    return {
      async get(cid: string, id: string) {
        const e = t.get(id);
        return e && e.companyId === cid ? clone(e) : undefined;
      },
      async list(cid: string) {
        return [...t.values()].filter((e) => e.companyId === cid).map(clone);
      },
      async put(e: Entity, previous?: Entity) {
        const cur = t.get(e.id);
        if (previous && cur && cur.updatedAt !== previous.updatedAt) throw new StaleWriteError();
        t.set(e.id, clone(e));
      },
      async delete(e: Entity) {
        t.delete(e.id);
      },
    };
  }

  function claim(kind: 'workplace' | 'portal', e: any, dry = false) {
    const prev = table(kind).get(e.id);
    const n = numbers.get(e.number);
    if (n && n.id !== e.id) throw new ConflictError('number', `number ${e.number} is already taken`);
    const x = extensions.get(`${e.companyId}:${e.extension}`);
    if (x && x !== e.id) throw new ConflictError('extension', `extension ${e.extension} is already taken`);
    if (kind === 'workplace') {
      const u = usernames.get(e.username);
      if (u && u !== e.id) throw new ConflictError('username', `username ${e.username} is already taken`);
    }
    if (dry) return;
    if (prev) {
      numbers.delete(prev.number);
      extensions.delete(`${prev.companyId}:${prev.extension}`);
      if (kind === 'workplace') usernames.delete(prev.username);
    }
    numbers.set(e.number, { kind, id: e.id });
    extensions.set(`${e.companyId}:${e.extension}`, e.id);
    if (kind === 'workplace') usernames.set(e.username, e.id);
  }
  function release(kind: 'workplace' | 'portal', e: any) {
    numbers.delete(e.number);
    extensions.delete(`${e.companyId}:${e.extension}`);
    if (kind === 'workplace') usernames.delete(e.username);
  }
  const indexed = (kind: 'workplace' | 'portal') => {
    const base = repo(kind);
    return {
      ...base,
      async put(e: any, previous?: any) {
        const cur = table(kind).get(e.id);
        if (previous && cur && cur.updatedAt !== previous.updatedAt) throw new StaleWriteError();
        claim(kind, e);
        table(kind).set(e.id, clone(e));
      },
      async delete(e: any) {
        release(kind, e);
        table(kind).delete(e.id);
      },
      async getById(id: string) {
        return clone(table(kind).get(id));
      },
    };
  };
  const wp = indexed('workplace');

  const store: Store = {
    kind: 'memory',
    companies: {
      async get(id) {
        return clone(companies.get(id));
      },
      async list() {
        return [...companies.values()].map(clone);
      },
      async put(c) {
        companies.set(c.id, clone(c));
      },
      async delete(id) {
        companies.delete(id);
      },
    },
    groups: repo('group') as any,
    areas: repo('area') as any,
    blockingProfiles: repo('blockingProfile') as any,
    templates: repo('template') as any,
    workplaces: {
      ...(wp as any),
      async putMany(list: any[]) {
        const seen = new Set<string>();
        for (const e of list) {
          claim('workplace', e, true);
          for (const k of [`n:${e.number}`, `x:${e.companyId}:${e.extension}`, `u:${e.username}`]) {
            if (seen.has(k)) throw new ConflictError(k.split(':')[0]!, 'duplicate in batch');
            seen.add(k);
          }
        }
        for (const e of list) await wp.put(e);
      },
      async getMany(ids: string[]) {
        return ids.map((id) => clone(table('workplace').get(id)));
      },
      async byExtension(cid: string, ext: string) {
        const id = extensions.get(`${cid}:${ext}`);
        return id ? clone(table('workplace').get(id)) : undefined;
      },
      async byParallelNumber(n: string) {
        return [...table('workplace').values()]
          .filter((w) => w.parallelRinging.numbers.includes(n))
          .map(clone);
      },
    },
    portals: indexed('portal') as any,
    numbers: {
      async resolve(n) {
        return clone(numbers.get(n));
      },
      async taken(list) {
        return new Set(list.filter((n) => numbers.has(n)));
      },
    },
    tokens: {
      async create(t) {
        tokens.set(t.id, clone(t));
      },
      async byHash(h) {
        return clone([...tokens.values()].find((t) => t.hash === h));
      },
      async list(cid) {
        return [...tokens.values()].filter((t) => t.companyId === cid).map(clone);
      },
      async delete(_cid, id) {
        tokens.delete(id);
      },
    },
    voicebox: {
      async add(m) {
        voicebox.set(`${m.workplaceId}:${m.id}`, clone(m));
      },
      async list(wid) {
        return [...voicebox.values()].filter((m) => m.workplaceId === wid).map(clone);
      },
      async get(wid, id) {
        return clone(voicebox.get(`${wid}:${id}`));
      },
      async update(m) {
        voicebox.set(`${m.workplaceId}:${m.id}`, clone(m));
      },
      async delete(wid, id) {
        voicebox.delete(`${wid}:${id}`);
      },
    },
    pinFailures: {
      async get(w) {
        return pin.get(w) ?? 0;
      },
      async increment(w) {
        pin.set(w, (pin.get(w) ?? 0) + 1);
        return pin.get(w)!;
      },
      async reset(w) {
        pin.delete(w);
      },
    },
    liveCalls: {
      async put() {},
      async get() {
        return undefined;
      },
      async remove() {},
      async listByController() {
        return [];
      },
    },
    async onChange() {
      return async () => {};
    },
    async publishChange() {},
    roundTrips: () => 0,
    async ping() {
      return true;
    },
    async close() {},
  };
  return store;
}
