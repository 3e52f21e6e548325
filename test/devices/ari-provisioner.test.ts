/**
 * The provisioner against the ARI simulator (real HTTP, the dynamic-config behaviour of
 * Asterisk 22's push-config-device trace), through the real ARI client.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import { createAriProvisioner, type DynamicConfigAri } from '../../src/devices/ari-provisioner.js';
import type { Device } from '../../src/domain/model.js';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { workplaceFixture } from './fixtures.js';

const logger = pino({ level: 'silent' });
let sim: AriSimulator;
let ari: AriClient;

beforeAll(async () => {
  sim = await startAriSimulator({ timeScale: 0.02 });
  ari = createAriClient({ url: sim.url, username: 'ari', password: 'ari', app: 'provisioner-test', logger });
});
afterAll(async () => {
  await ari?.close();
  await sim?.close();
});

let seq = 0;
/** unique SIP usernames per test: the simulator's dynamic config outlives a test */
let prefix = '';
beforeEach(() => {
  prefix = `t${++seq}`;
});

function device(n: number, password = `S3cret-pass-${n}`): Device {
  return {
    id: `d-${n}`,
    type: 'deskphone',
    sipUsername: `${prefix}-dev-${n}`,
    sipPassword: password,
    createdAt: '2026-11-25T07:00:00.000Z',
  };
}

const object = (type: string, id: string) => sim.driver.dynamicConfig().get(`res_pjsip/${type}/${id}`);

describe('createAriProvisioner', () => {
  it('pushes auth, aor and endpoint of every device with the right attributes', async () => {
    const provisioner = createAriProvisioner(ari, { logger });
    const wp = workplaceFixture({ devices: [device(1), device(2)] });
    expect(await provisioner.sync(wp)).toEqual({ ok: true });
    for (const d of wp.devices) {
      expect(object('auth', d.sipUsername)).toMatchObject({
        auth_type: 'userpass',
        username: d.sipUsername,
        password: d.sipPassword,
      });
      expect(object('aor', d.sipUsername)).toMatchObject({ max_contacts: '1' });
      expect(object('aor', d.sipUsername)!.remove_existing).toMatch(/^(yes|true)$/);
      expect(object('endpoint', d.sipUsername)).toMatchObject({
        context: 'from-devices',
        auth: d.sipUsername,
        aors: d.sipUsername,
        callerid: '"Erika Mustermann" <3456>',
        language: 'de',
      });
    }
  });

  it('uses the configured device context', async () => {
    const provisioner = createAriProvisioner(ari, { logger, context: 'lab-phones' });
    const wp = workplaceFixture({ devices: [device(1)] });
    expect(await provisioner.sync(wp)).toEqual({ ok: true });
    expect(object('endpoint', wp.devices[0]!.sipUsername)?.context).toBe('lab-phones');
  });

  it('re-pushes regenerated credentials', async () => {
    const provisioner = createAriProvisioner(ari, { logger });
    const before = workplaceFixture({ devices: [device(1, 'Old-password-1')] });
    await provisioner.sync(before);
    const after = workplaceFixture({ devices: [device(1, 'New-password-2')] });
    expect(await provisioner.sync(after, before)).toEqual({ ok: true });
    expect(object('auth', after.devices[0]!.sipUsername)?.password).toBe('New-password-2');
  });

  it('removes the devices that are gone, keeps the others', async () => {
    const provisioner = createAriProvisioner(ari, { logger });
    const before = workplaceFixture({ devices: [device(1), device(2)] });
    await provisioner.sync(before);
    const after = workplaceFixture({ devices: [device(1)] });
    expect(await provisioner.sync(after, before)).toEqual({ ok: true });
    const gone = before.devices[1]!.sipUsername;
    for (const type of ['endpoint', 'aor', 'auth']) expect(object(type, gone), type).toBeUndefined();
    expect(object('endpoint', after.devices[0]!.sipUsername)).toBeDefined();
  });

  it('remove() deletes every device; removing again is fine (404)', async () => {
    const provisioner = createAriProvisioner(ari, { logger });
    const wp = workplaceFixture({ devices: [device(1), device(2)] });
    await provisioner.sync(wp);
    await provisioner.remove(wp);
    for (const d of wp.devices)
      for (const type of ['endpoint', 'aor', 'auth']) expect(object(type, d.sipUsername)).toBeUndefined();
    await expect(provisioner.remove(wp)).resolves.toBeUndefined();
  });

  it('a push Asterisk refuses → ok:false naming device and object, nothing half-created left behind', async () => {
    // the real client, with one invalid attribute slipped into endpoint pushes: Asterisk (the
    // simulator) answers 400 "failed field value validation" as in push-config-device.jsonl
    const refusing: DynamicConfigAri = {
      asterisk: {
        updateObject: (p) =>
          ari.asterisk.updateObject(
            p.objectType === 'endpoint'
              ? { ...p, fields: [...(p.fields ?? []), { attribute: 'no_such_option', value: 'x' }] }
              : p,
          ),
        deleteObject: (p) => ari.asterisk.deleteObject(p),
      },
    };
    const provisioner = createAriProvisioner(refusing, { logger });
    const wp = workplaceFixture({ devices: [device(1)] });
    const result = await provisioner.sync(wp);
    expect(result.ok).toBe(false);
    const reason = (result as { reason: string }).reason;
    expect(reason).toContain(`device ${wp.devices[0]!.sipUsername} (deskphone)`);
    expect(reason).toContain('endpoint');
    expect(reason).toContain('400');
    expect(reason).not.toContain(wp.devices[0]!.sipPassword);
    for (const type of ['endpoint', 'aor', 'auth'])
      expect(object(type, wp.devices[0]!.sipUsername), type).toBeUndefined();
  });

  describe('an Asterisk that does not answer', () => {
    let silent: Server;
    let silentAri: AriClient;
    beforeAll(async () => {
      silent = createServer(() => {
        /* never answers */
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as AddressInfo).port;
      silentAri = createAriClient({
        url: `http://127.0.0.1:${port}`,
        username: 'ari',
        password: 'ari',
        app: 'x',
        logger,
        requestTimeoutMs: 200,
      });
    });
    afterAll(async () => {
      await silentAri.close();
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    });

    it('times out into ok:false with the reason', async () => {
      const provisioner = createAriProvisioner(silentAri, { logger });
      const wp = workplaceFixture({ devices: [device(1)] });
      const result = await provisioner.sync(wp);
      expect(result.ok).toBe(false);
      expect((result as { reason: string }).reason).toMatch(
        new RegExp(`device ${wp.devices[0]!.sipUsername} .*auth.*`),
      );
    });

    it('remove() rejects naming the device instead of pretending it is gone', async () => {
      const provisioner = createAriProvisioner(silentAri, { logger });
      const wp = workplaceFixture({ devices: [device(1)] });
      await expect(provisioner.remove(wp)).rejects.toThrow(wp.devices[0]!.sipUsername);
    });
  });
});
