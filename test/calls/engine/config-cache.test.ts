/**
 * The config cache: a warm call decision costs no store round trip, and every change the
 * store announces (API edits) is seen by the next lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigCache } from '../../../src/calls/engine/config-cache.js';
import type { BlockingProfile, Company, Group, Workplace } from '../../../src/domain/model.js';
import type { PbxStore, Store } from '../../../src/store/index.js';
import { createTestStore, until } from '../../support/world.js';

const NOW = '2026-11-25T07:00:00.000Z';
let raw: PbxStore;
let store: Store;
let cache: ConfigCache;
/** store reads the cache made, by method */
const reads: string[] = [];

function counting(target: Store): Store {
  const wrapRepo = (name: string, repo: object) =>
    new Proxy(repo, {
      get(obj, prop, receiver) {
        const v = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (['get', 'getById', 'resolve', 'byExtension'].includes(String(prop)))
            reads.push(`${name}.${String(prop)}`);
          return (v as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const v = Reflect.get(obj, prop, receiver) as unknown;
      if (v && typeof v === 'object' && typeof prop === 'string') return wrapRepo(prop, v);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(obj) : v;
    },
  });
}

const company: Company = { id: 'cc1', name: 'C', mobileIntegration: false, createdAt: NOW, updatedAt: NOW };
const group: Group = {
  id: 'cg1',
  companyId: 'cc1',
  name: 'G',
  timezone: 'Europe/Berlin',
  numberRanges: [{ first: '+4930555000', last: '+4930555099' }],
  isDefault: true,
  createdAt: NOW,
  updatedAt: NOW,
};
const profile: BlockingProfile = {
  id: 'cbp1',
  companyId: 'cc1',
  name: 'p',
  incoming: ['+4989'],
  outgoing: [],
  forwarded: [],
  createdAt: NOW,
  updatedAt: NOW,
};
const workplace: Workplace = {
  id: 'cw1',
  companyId: 'cc1',
  groupId: 'cg1',
  firstName: 'A',
  lastName: 'B',
  email: 'a@example.com',
  username: 'cache.user1',
  number: '+4930555001',
  extension: '5001',
  language: 'de',
  timezone: 'Europe/Berlin',
  status: 'active',
  callerIdPresentation: 'number',
  devices: [],
  parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
  forwarding: {
    always: { enabled: false },
    busy: { enabled: false },
    noAnswer: { enabled: false, ringSeconds: 20 },
    unreachable: { enabled: false },
  },
  voicebox: { enabled: true },
  createdAt: NOW,
  updatedAt: NOW,
};

beforeAll(async () => {
  raw = await createTestStore();
  await raw.companies.put(company);
  await raw.groups.put(group);
  await raw.blockingProfiles.put(profile);
  await raw.workplaces.put(workplace);
  store = counting(raw);
  cache = new ConfigCache(store);
  await cache.start();
});

afterAll(async () => {
  await cache?.stop();
  await store?.close();
});

describe('ConfigCache', () => {
  it('serves a warm number lookup and blocking resolution without store reads', async () => {
    const first = await cache.resolveNumber(workplace.number);
    expect(first).toMatchObject({ kind: 'workplace', workplace: { id: 'cw1' } });
    expect(await cache.blockingFor(workplace)).toBeUndefined();
    expect(await cache.resolveExtension('cc1', '5001')).toMatchObject({ workplace: { id: 'cw1' } });
    reads.length = 0;
    const trips = raw.roundTrips();
    expect(await cache.resolveNumber(workplace.number)).toEqual(first);
    expect(await cache.blockingFor(workplace)).toBeUndefined();
    expect(await cache.resolveExtension('cc1', '5001')).toMatchObject({ workplace: { id: 'cw1' } });
    expect(reads).toEqual([]);
    expect(raw.roundTrips() - trips).toBe(0);
  });

  it('a cold number or extension lookup is one round trip and warms the workplace by id', async () => {
    const cold = new ConfigCache(raw);
    let trips = raw.roundTrips();
    expect(await cold.resolveNumber(workplace.number)).toMatchObject({ workplace: { id: 'cw1' } });
    expect(raw.roundTrips() - trips).toBe(1);
    trips = raw.roundTrips();
    expect(await cold.workplace('cw1')).toMatchObject({ id: 'cw1' });
    expect(raw.roundTrips() - trips).toBe(0);
    trips = raw.roundTrips();
    expect(await cold.resolveExtension('cc1', '5001')).toMatchObject({ workplace: { id: 'cw1' } });
    expect(raw.roundTrips() - trips).toBe(1);
  });

  it('a fully cold call decision (number + blocking) takes two round trips, a warm one none', async () => {
    const cold = new ConfigCache(raw);
    const trips = raw.roundTrips();
    const target = await cold.resolveNumber(workplace.number);
    if (target?.kind !== 'workplace') throw new Error('not a workplace');
    await cold.blockingFor(target.workplace);
    expect(raw.roundTrips() - trips).toBe(2);
    const warm = raw.roundTrips();
    await cold.blockingFor(target.workplace);
    expect(raw.roundTrips() - warm).toBe(0);
  });

  it('unknown numbers are answered as undefined', async () => {
    expect(await cache.resolveNumber('+4930555098')).toBeUndefined();
  });

  it('a workplace change is seen by the next lookup', async () => {
    const next: Workplace = {
      ...workplace,
      blockingProfileId: 'cbp1',
      updatedAt: '2026-11-25T07:01:00.000Z',
    };
    await store.workplaces.put(next, workplace);
    await until(async () => {
      const target = await cache.resolveNumber(workplace.number);
      return target?.kind === 'workplace' && target.workplace.blockingProfileId === 'cbp1';
    }, 'the change to reach the cache');
    const target = await cache.resolveNumber(workplace.number);
    if (target?.kind !== 'workplace') throw new Error('not a workplace');
    expect((await cache.blockingFor(target.workplace))?.incoming).toEqual(['+4989']);
  });

  it('a company default profile change is seen by the next lookup', async () => {
    const other: BlockingProfile = { ...profile, id: 'cbp2', incoming: ['+4940'] };
    await store.blockingProfiles.put(other);
    await store.companies.put({
      ...company,
      defaultBlockingProfileId: 'cbp2',
      updatedAt: '2026-11-25T07:02:00.000Z',
    });
    const owner = { companyId: 'cc1', groupId: 'cg1' };
    await until(async () => (await cache.blockingFor(owner))?.id === 'cbp2', 'company default');
    expect((await cache.blockingFor(owner))?.incoming).toEqual(['+4940']);
  });
});
