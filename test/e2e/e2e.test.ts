/**
 * End-to-end: the controller under test (API + call controller, in this process) against an
 * Asterisk reached over ARI — a real one (ARI_URL, or a container when a Docker engine exists)
 * or the standalone ARI simulator. Calls are driven without SIP phones through Local channels
 * into asterisk/extensions-e2e.conf; the outside world is our own Stasis app `e2eworld`.
 * Skipped, with the reason printed, when no Asterisk is reachable.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import { isNotFound } from '../../src/ari/contract.js';
import { buildApp } from '../../src/api/app.js';
import { portalFlow } from '../../src/calls/portal.js';
import { startCallController } from '../../src/calls/controller.js';
import { loadConfig } from '../../src/config.js';
import { createAriProvisioner } from '../../src/devices/ari-provisioner.js';
import { createTelemetry, type Telemetry } from '../../src/events/telemetry.js';
import type { PbxEvent } from '../../src/events/model.js';
import { WebSocket } from 'ws';
import { createMemoryStoreForTests } from '../devices/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { resolveTarget, type AriTarget } from './target.js';
import { OutsideWorld, PbxObserver, type Caller } from './world.js';

const target = await resolveTarget();
if (target.kind === 'skip') {
  console.warn(`\n[e2e] SKIPPED — ${target.reason}\n`);
} else {
  console.info(`[e2e] running against ${target.source}`);
}

const PBX_APP = 'e2epbx';
const WORLD_APP = 'e2eworld';
const ADMIN_TOKEN = 'e2e-platform-admin-token-0123456789';
/** each run uses its own numbers, so a shared Asterisk keeps runs apart */
const RUN = String((Date.now() % 90) + 10);
const GROUP_FIRST = `+4930${RUN}0000`;
const GROUP_LAST = `+4930${RUN}9999`;
/** the last four digits (the default extension) do not depend on RUN: 2xxx workplaces, 5xxx portals */
const number = (n: number) => `+4930${RUN}${String(n).padStart(4, '0')}`;

describe.skipIf(target.kind === 'skip')('e2e', () => {
  const t = target as AriTarget;
  const logger = pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' });
  let pbxAri: AriClient;
  let worldAri: AriClient;
  let store: Store;
  let world: OutsideWorld;
  let observer: PbxObserver;
  let stopController: (() => Promise<void>) | undefined;
  let closeApi: (() => Promise<void>) | undefined;
  let baseUrl = '';
  let cid = '';
  let adminToken = '';
  let groupId = '';
  let telemetry: Telemetry | undefined;
  const createdWorkplaces: string[] = [];

  async function api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token = adminToken,
  ): Promise<T> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  interface WorkplaceView {
    id: string;
    status: string;
    statusReason?: string;
    number: string;
    devices: Array<{ sipUsername: string }>;
  }

  let seq = 0;
  async function createWorkplace(extra: Record<string, unknown> = {}): Promise<WorkplaceView> {
    seq++;
    const wp = await api<WorkplaceView>('POST', `/v1/companies/${cid}/workplaces`, {
      firstName: 'Erika',
      lastName: `Test${seq}`,
      email: `erika${seq}@example.com`,
      username: `e2e${RUN}user${seq}`,
      groupId,
      number: number(2000 + seq),
      language: 'de',
      timezone: 'Europe/Berlin',
      devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
      ...extra,
    });
    createdWorkplaces.push(wp.id);
    return wp;
  }

  async function createPortal(extra: Record<string, unknown>): Promise<{ id: string; number: string }> {
    seq++;
    return api('POST', `/v1/companies/${cid}/anywhere-portals`, {
      groupId,
      displayFirstName: 'Anywhere',
      displayLastName: `Portal${seq}`,
      number: number(5000 + seq),
      timezone: 'Europe/Berlin',
      level: 'company',
      ...extra,
    });
  }

  /** an outside caller reaches the workplace and its desk phone answers */
  async function establishDeskCall(
    wp: WorkplaceView,
    from: string,
  ): Promise<{ caller: Caller; callerPbx: string; deskPbx: string }> {
    const sip = wp.devices[0]!.sipUsername;
    world.setBehaviour('device', sip, { kind: 'answer', afterMs: 200 });
    const caller = await world.call(from, wp.number);
    const { callerPbx, deskPbx } = await observer.until(async () => {
      const callerPbx = observer.channelId(caller.pbxName);
      if (!callerPbx) return undefined;
      const peers = await observer.bridgedWith(callerPbx);
      const deskPbx = observer
        .channelIdsByPrefix(`Local/${sip}@e2e-devices`)
        .find((id) => peers.includes(id));
      return deskPbx ? { callerPbx, deskPbx } : undefined;
    }, 'the caller bridged with the desk phone');
    return { caller, callerPbx, deskPbx };
  }

  beforeAll(async () => {
    const ariOpts = { url: t.url, username: t.username, password: t.password, logger };
    pbxAri = createAriClient({ ...ariOpts, app: PBX_APP });
    worldAri = createAriClient({ ...ariOpts, app: WORLD_APP });
    world = new OutsideWorld(worldAri);
    observer = new PbxObserver(pbxAri);
    await worldAri.connect();

    const config = loadConfig({
      ARI_URL: t.url,
      ARI_USERNAME: t.username,
      ARI_PASSWORD: t.password,
      ARI_APP: PBX_APP,
      ADMIN_TOKEN,
      COUNTRY_CODE: '49',
      DIAL_DEVICE: 'Local/{endpoint}@e2e-devices',
      DIAL_EXTERNAL: 'Local/{number}@e2e-pstn',
      LOG_LEVEL: 'silent',
      CONTROLLER_ID: `e2e-${RUN}`,
    });
    store = await createMemoryStoreForTests(`e2e${RUN}:`);
    const provisioner = createAriProvisioner(pbxAri, { logger });
    telemetry = await createTelemetry({ config, logger, store, defaultMetrics: false });
    telemetry.watchAri(pbxAri);
    const controller = await startCallController({
      ari: pbxAri,
      store,
      config,
      logger,
      flows: { portal: portalFlow },
      events: telemetry.calls,
    });
    telemetry.watchController(controller);
    stopController = () => controller.stop();
    await pbxAri.connect();
    const app = await buildApp({ store, config, logger, provisioner, telemetry: telemetry.backend });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    closeApi = () => app.close();

    const company = await api<{ id: string }>('POST', '/v1/companies', { name: `E2E ${RUN}` }, ADMIN_TOKEN);
    cid = company.id;
    adminToken = (
      await api<{ token: string }>('POST', `/v1/companies/${cid}/tokens`, { role: 'admin' }, ADMIN_TOKEN)
    ).token;
    const group = await api<{ id: string }>('POST', `/v1/companies/${cid}/groups`, {
      name: 'Berlin',
      timezone: 'Europe/Berlin',
      numberRanges: [{ first: GROUP_FIRST, last: GROUP_LAST }],
    });
    groupId = group.id;
  });

  afterAll(async () => {
    // a real Asterisk keeps pushed devices in astdb: remove every one this run created
    for (const wid of createdWorkplaces) {
      await api('DELETE', `/v1/companies/${cid}/workplaces/${wid}`).catch(() => undefined);
    }
    await stopController?.();
    await closeApi?.();
    await telemetry?.close();
    await worldAri?.close();
    await pbxAri?.close();
    await t.close();
  });

  it('Asterisk runs the modules the service needs', async () => {
    const modules = (await pbxAri.asterisk.listModules()) as unknown as Array<{
      name: string;
      status: string;
    }>;
    const running = new Set(
      modules.filter((m) => /running/i.test(m.status)).map((m) => m.name.replace(/\.so$/, '')),
    );
    const missing = [
      'res_ari',
      'res_stasis',
      'app_stasis',
      'res_pjsip',
      'chan_pjsip',
      'res_sorcery_astdb',
      'res_stasis_recording',
      'res_stasis_playback',
      // res_http_websocket needs no listing: the event socket this suite runs on proves it
    ].filter((m) => !running.has(m));
    expect(missing).toEqual([]);
  });

  it('a workplace created through the API has its device pushed into Asterisk, and removed with it', async () => {
    const wp = await createWorkplace();
    expect(wp.status, wp.statusReason).toBe('active');
    const sip = wp.devices[0]!.sipUsername;
    const endpoint = Object.fromEntries(
      (
        (await pbxAri.asterisk.getObject({
          configClass: 'res_pjsip',
          objectType: 'endpoint',
          id: sip,
        })) as Array<{ attribute: string; value: string }>
      ).map((f) => [f.attribute, f.value]),
    );
    expect(endpoint).toMatchObject({ context: 'from-devices', aors: sip, auth: sip, language: 'de' });
    const aor = Object.fromEntries(
      (
        (await pbxAri.asterisk.getObject({ configClass: 'res_pjsip', objectType: 'aor', id: sip })) as Array<{
          attribute: string;
          value: string;
        }>
      ).map((f) => [f.attribute, f.value]),
    );
    expect(aor.max_contacts).toBe('1');
    // and chan_pjsip knows it as an endpoint (offline: no phone registered)
    const state = (await pbxAri.endpoints.get({ tech: 'PJSIP', resource: sip })) as unknown as {
      state: string;
    };
    expect(state.state).toBe('offline');

    await api('DELETE', `/v1/companies/${cid}/workplaces/${wp.id}`);
    createdWorkplaces.splice(createdWorkplaces.indexOf(wp.id), 1);
    const gone = await pbxAri.asterisk
      .getObject({ configClass: 'res_pjsip', objectType: 'endpoint', id: sip })
      .then(
        () => false,
        (err: unknown) => isNotFound(err),
      );
    expect(gone).toBe(true);
    const endpointGone = await pbxAri.endpoints.get({ tech: 'PJSIP', resource: sip }).then(
      () => false,
      (err: unknown) => isNotFound(err),
    );
    expect(endpointGone).toBe(true);
  });

  it('a call to a workplace is answered on its desk phone; hanging up ends the desk leg', async () => {
    const wp = await createWorkplace();
    // an admin watches the company's events over a real WebSocket (token as subprotocol)
    const events: PbxEvent[] = [];
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/companies/${cid}/events`, [
      'pbx.events.v1',
      `bearer.${adminToken}`,
    ]);
    ws.on('message', (m) => {
      const e = JSON.parse(String(m)) as PbxEvent;
      if (typeof e.id === 'string') events.push(e);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const { caller } = await establishDeskCall(wp, '+491511000001');
    await caller.waitUp();
    const deskLeg = await world.waitForLeg('device', wp.devices[0]!.sipUsername);
    await caller.hangup();
    await deskLeg.ended;
    expect(deskLeg.isEnded()).toBe(true);
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'call.ended'); i++)
      await new Promise((r) => setTimeout(r, 25));
    ws.close();
    const ofWorkplace = events.filter((e) => e.workplaceId === wp.id && e.type.startsWith('call.'));
    expect(ofWorkplace.map((e) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(ofWorkplace[2]).toMatchObject({ outcome: 'answered', direction: 'inbound' });
    const list = await api<{ items: Array<{ outcome: string; answeredBy?: { kind: string } }> }>(
      'GET',
      `/v1/companies/${cid}/workplaces/${wp.id}/calls`,
    );
    expect(list.items[0]).toMatchObject({ outcome: 'answered', answeredBy: { kind: 'device' } });
  });

  it('no answer → voicebox: greeting, beep, the caller speaks and hangs up, the message is kept as a WAV', async () => {
    const wp = await createWorkplace({
      forwarding: {
        always: { enabled: false },
        busy: { enabled: true, target: 'voicebox' },
        noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 5 },
        unreachable: { enabled: true, target: 'voicebox' },
      },
      voicebox: { enabled: true, pin: '4711' },
    });
    world.setBehaviour('device', wp.devices[0]!.sipUsername, { kind: 'ring' });
    const caller = await world.call('+491511000002', wp.number);
    const callerPbx = await observer.until(
      () => observer.channelId(caller.pbxName),
      'the call reached the controller',
    );
    await observer.until(
      () => (observer.heard(callerPbx).includes('sound:pbx/beep') ? true : undefined),
      'the beep',
      40_000,
    );
    expect(observer.heard(callerPbx)).toContain('sound:pbx/vb-unavailable-number');
    await caller.waitUp();
    await caller.speak();
    await new Promise((r) => setTimeout(r, 1500));
    await caller.hangup();

    const messages = await observer.until(async () => {
      const list = await store.voicebox.list(wp.id);
      return list.length > 0 ? list : undefined;
    }, 'the voicebox message');
    expect(messages[0]!.callerNumber).toBe('+491511000002');
    const wav = (await pbxAri.recordings.getStoredFile({
      recordingName: messages[0]!.recordingName,
    })) as unknown as Buffer;
    expect(Buffer.from(wav).subarray(0, 4).toString('ascii')).toBe('RIFF');
  });

  it('Anywhere portal with PIN: *11 pulls the running desk call to the mobile', async () => {
    const mobile = '+491701000003';
    const wp = await createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await createPortal({ silentMode: false, pinRequired: true });
    world.setBehaviour('pstn', mobile, { kind: 'ring' });
    const { callerPbx } = await establishDeskCall(wp, '+491511000003');
    const deskLeg = await world.waitForLeg('device', wp.devices[0]!.sipUsername);

    const mobileCall = await world.call(mobile, portal.number);
    const mobilePbx = await observer.until(() => observer.channelId(mobileCall.pbxName), 'the portal call');
    await observer.until(
      () => (observer.heard(mobilePbx).includes('sound:pbx/enter-pin') ? true : undefined),
      'enter-pin',
    );
    await mobileCall.waitUp();
    await mobileCall.press('4711#');
    await observer.until(
      () => (observer.heard(mobilePbx).includes('sound:pbx/portal-welcome') ? true : undefined),
      'the portal menu',
    );
    await mobileCall.press('*11');

    await observer.until(
      async () => ((await observer.bridgedWith(callerPbx)).includes(mobilePbx) ? true : undefined),
      'the caller bridged with the mobile',
    );
    await deskLeg.ended;
    await mobileCall.hangup();
  });

  it('silent mode: no prompt at all, *11 pulls at once', async () => {
    const mobile = '+491701000004';
    const wp = await createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await createPortal({ silentMode: true, pinRequired: false });
    world.setBehaviour('pstn', mobile, { kind: 'ring' });
    const { callerPbx } = await establishDeskCall(wp, '+491511000004');
    const deskLeg = await world.waitForLeg('device', wp.devices[0]!.sipUsername);

    const mobileCall = await world.call(mobile, portal.number);
    const mobilePbx = await observer.until(() => observer.channelId(mobileCall.pbxName), 'the portal call');
    await mobileCall.waitUp();
    await mobileCall.press('*11');
    await observer.until(
      async () => ((await observer.bridgedWith(callerPbx)).includes(mobilePbx) ? true : undefined),
      'the caller bridged with the mobile',
    );
    await deskLeg.ended;
    expect(observer.heard(mobilePbx)).toEqual([]);
    await mobileCall.hangup();
  });

  it('call-through to a blocked number is refused and never dialled', async () => {
    const mobile = '+491701000005';
    const profile = await api<{ id: string }>('POST', `/v1/companies/${cid}/blocking-profiles`, {
      name: 'no premium',
      incoming: [],
      outgoing: ['+49900'],
      forwarded: ['+49900'],
    });
    await createWorkplace({
      blockingProfileId: profile.id,
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await createPortal({ silentMode: false, pinRequired: true });

    const mobileCall = await world.call(mobile, portal.number);
    const mobilePbx = await observer.until(() => observer.channelId(mobileCall.pbxName), 'the portal call');
    await observer.until(
      () => (observer.heard(mobilePbx).includes('sound:pbx/enter-pin') ? true : undefined),
      'enter-pin',
    );
    await mobileCall.waitUp();
    await mobileCall.press('4711#');
    await observer.until(
      () => (observer.heard(mobilePbx).includes('sound:pbx/portal-welcome') ? true : undefined),
      'the portal menu',
    );
    await mobileCall.press('0900123456#');
    await observer.until(
      () => (observer.heard(mobilePbx).includes('sound:pbx/number-blocked') ? true : undefined),
      'number-blocked',
    );
    expect(world.allLegs().filter((l) => l.kind === 'pstn' && l.target.includes('900123456'))).toEqual([]);
    await mobileCall.hangup();
  });
});
