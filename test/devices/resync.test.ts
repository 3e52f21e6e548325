/**
 * resyncDevices at controller start: every workplace of every company pushed again, status
 * following the outcome — with the in-memory store and the ARI simulator.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import { createAriProvisioner } from '../../src/devices/ari-provisioner.js';
import type { DeviceProvisioner } from '../../src/devices/contract.js';
import { resyncDevices } from '../../src/devices/resync.js';
import type { Company } from '../../src/domain/model.js';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { workplaceFixture } from './fixtures.js';
import { createMemoryStoreForTests } from './memory-store.js';

const logger = pino({ level: 'silent' });
let sim: AriSimulator;
let ari: AriClient;

beforeAll(async () => {
  sim = await startAriSimulator({ timeScale: 0.02 });
  ari = createAriClient({ url: sim.url, username: 'ari', password: 'ari', app: 'resync-test', logger });
});
afterAll(async () => {
  await ari?.close();
  await sim?.close();
});

const now = '2026-11-25T07:00:00.000Z';
const company = (id: string): Company => ({
  id,
  name: id,
  mobileIntegration: false,
  createdAt: now,
  updatedAt: now,
});
const device = (sipUsername: string) => ({
  id: sipUsername,
  type: 'deskphone' as const,
  sipUsername,
  sipPassword: `pw-${sipUsername}-0123`,
  createdAt: now,
});

describe('resyncDevices', () => {
  it('pushes every workplace of every company and marks them active', async () => {
    const store = await createMemoryStoreForTests('resync:');
    await store.companies.put(company('c-a'));
    await store.companies.put(company('c-b'));
    const workplaces = [
      workplaceFixture({
        id: 'wp-a1',
        companyId: 'c-a',
        username: 'usera1',
        number: '+4930100001',
        extension: '0001',
        devices: [device('rs-a1')],
      }),
      workplaceFixture({
        id: 'wp-a2',
        companyId: 'c-a',
        username: 'usera2',
        number: '+4930100002',
        extension: '0002',
        status: 'failed',
        statusReason: 'old',
        devices: [device('rs-a2')],
      }),
      workplaceFixture({
        id: 'wp-b1',
        companyId: 'c-b',
        username: 'userb1',
        number: '+4930100003',
        extension: '0003',
        devices: [device('rs-b1'), device('rs-b2')],
      }),
    ];
    for (const wp of workplaces) await store.workplaces.put(wp);

    const summary = await resyncDevices(store, createAriProvisioner(ari, { logger }), logger);

    expect(summary).toEqual({ workplaces: 3, ok: 3, failed: [] });
    for (const id of ['rs-a1', 'rs-a2', 'rs-b1', 'rs-b2'])
      expect(sim.driver.dynamicConfig().get(`res_pjsip/endpoint/${id}`), id).toBeDefined();
    for (const wp of workplaces) {
      const stored = await store.workplaces.get(wp.companyId, wp.id);
      expect(stored?.status, wp.id).toBe('active');
      expect(stored?.statusReason).toBeUndefined();
    }
    await store.close();
  });

  it('marks a workplace failed with the reason when its push fails, and goes on with the others', async () => {
    const store = await createMemoryStoreForTests('resync:');
    await store.companies.put(company('c-x'));
    const good = workplaceFixture({
      id: 'wp-good',
      companyId: 'c-x',
      username: 'usergood',
      number: '+4930200001',
      extension: '0001',
      devices: [device('rs-good')],
    });
    const bad = workplaceFixture({
      id: 'wp-bad',
      companyId: 'c-x',
      username: 'userbad',
      number: '+4930200002',
      extension: '0002',
      status: 'active',
      devices: [device('rs-bad')],
    });
    await store.workplaces.put(good);
    await store.workplaces.put(bad);
    const real = createAriProvisioner(ari, { logger });
    const provisioner: DeviceProvisioner = {
      sync: (wp, prev) =>
        wp.id === 'wp-bad'
          ? Promise.resolve({
              ok: false,
              reason: 'device rs-bad (deskphone): push of PJSIP auth failed: timeout',
            })
          : real.sync(wp, prev),
      remove: (wp) => real.remove(wp),
    };

    const summary = await resyncDevices(store, provisioner, logger);

    expect(summary.ok).toBe(1);
    expect(summary.failed).toEqual([
      { workplaceId: 'wp-bad', reason: 'device rs-bad (deskphone): push of PJSIP auth failed: timeout' },
    ]);
    expect(await store.workplaces.get('c-x', 'wp-bad')).toMatchObject({
      status: 'failed',
      statusReason: expect.stringContaining('rs-bad'),
    });
    expect((await store.workplaces.get('c-x', 'wp-good'))?.status).toBe('active');
    await store.close();
  });
});
