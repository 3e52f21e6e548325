/**
 * The environment every call scenario runs in, whatever answers ARI: the controller under test
 * (provisioning API + call controller, in this process, Stasis application `e2epbx`, a real
 * Redis store) and the outside world (callers, desk phones, mobiles) played by the suite's own
 * application `e2eworld` through Local channels into asterisk/extensions-e2e.conf.
 *
 * The same scenario definitions (scenarios.ts) run on a real Asterisk 22 (test/e2e) and on the
 * ARI simulator started with that dialplan (test/calls/scenarios.sim.test.ts): anything that
 * differs between the two is a bug in the simulator or in the controller.
 */
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import { buildApp } from '../../src/api/app.js';
import { portalFlow } from '../../src/calls/flows/portal/portal.js';
import { startCallController, type CallController } from '../../src/calls/controller.js';
import { createAriRecordingFiles } from '../../src/calls/engine/recording-files.js';
import type { Timing } from '../../src/calls/engine/timing.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createAriProvisioner } from '../../src/devices/ari-provisioner.js';
import { createTelemetry, type Telemetry } from '../../src/app/telemetry.js';
import { createRedisStore, type PbxStore } from '../../src/store/index.js';
import type { AriTarget } from '../e2e/target.js';
import { OutsideWorld, PbxObserver, type Caller } from '../e2e/world.js';

export const PBX_APP = 'e2epbx';
export const WORLD_APP = 'e2eworld';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Controller timers for scenarios: short enough for a suite, long enough for a real Asterisk. */
export const SCENARIO_TIMING: Partial<Timing> = {
  confirmationMs: 4000,
  menuTimeoutMs: 4000,
  firstDigitTimeoutMs: 4000,
  interDigitTimeoutMs: 2500,
};

export interface WorkplaceView {
  id: string;
  status: string;
  statusReason?: string;
  number: string;
  extension: string;
  devices: Array<{ sipUsername: string }>;
}

export interface ScenarioEnv {
  target: AriTarget;
  pbxAri: AriClient;
  worldAri: AriClient;
  world: OutsideWorld;
  observer: PbxObserver;
  store: PbxStore;
  controller: CallController;
  /**
   * every REST request the controller made, as `bridges.addChannel` (counted on its own ARI
   * surface: not the observer's, the provisioner's or the telemetry's requests)
   */
  controllerRequests: string[];
  config: Config;
  /** events, call lists and metrics, wired as src/app/main.ts wires them */
  telemetry: Telemetry;
  /** base URL of the API (http://127.0.0.1:port) */
  apiUrl: string;
  cid: string;
  adminToken: string;
  /** the platform admin's token (other companies: tenant isolation scenarios) */
  platformToken: string;
  groupId: string;
  /** a number in this run's group range; 2xxx workplaces, 5xxx portals */
  number(n: number): string;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  /** status and body, for requests expected to fail */
  request(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: unknown }>;
  createWorkplace(extra?: Record<string, unknown>): Promise<WorkplaceView>;
  createPortal(extra: Record<string, unknown>): Promise<{ id: string; number: string }>;
  /** an outside caller reaches the workplace and its desk phone answers */
  establishDeskCall(
    wp: WorkplaceView,
    from: string,
  ): Promise<{ caller: Caller; callerPbx: string; deskPbx: string }>;
  /** the channel id of the caller's half in the controller's application */
  pbxChannelOf(caller: Caller): Promise<string>;
  /** the controller's side (the ;1 it created) of the leg that rang a desk phone or a number */
  pbxLegOf(kind: 'device' | 'pstn', target: string): Promise<string>;
  /** waits until the controller has started playing `sound:pbx/<prompt>` to the channel */
  untilPlaying(channelId: string, prompt: string, ms?: number): Promise<void>;
  /** waits until the prompt has played to its end on the channel (the caller heard it all) */
  untilHeard(channelId: string, prompt: string, ms?: number): Promise<void>;
  /** waits until the two channels share a bridge */
  untilBridged(a: string, b: string, what: string): Promise<void>;
  /** moves the clock the controller decides opening hours by (undefined: the real clock) */
  setClock(ms: number | undefined): void;
  close(): Promise<void>;
}

let runSeq = 0;

export async function startScenarioEnv(
  target: AriTarget,
  opts: { env?: Record<string, string>; timing?: Partial<Timing>; logLevel?: string } = {},
): Promise<ScenarioEnv> {
  const run = `${String((Date.now() % 90) + 10)}${++runSeq}`;
  const adminTokenPlatform = `e2e-platform-admin-token-${run}-0123456789`;
  const logger = pino({ level: opts.logLevel ?? process.env.E2E_LOG_LEVEL ?? 'silent' });
  const ariOpts = { url: target.url, username: target.username, password: target.password, logger };
  const pbxAri = createAriClient({ ...ariOpts, app: PBX_APP });
  const worldAri = createAriClient({ ...ariOpts, app: WORLD_APP });
  const world = new OutsideWorld(worldAri);
  const observer = new PbxObserver(pbxAri);
  await worldAri.connect();

  const config = loadConfig({
    ARI_URL: target.url,
    ARI_USERNAME: target.username,
    ARI_PASSWORD: target.password,
    ARI_APP: PBX_APP,
    ADMIN_TOKEN: adminTokenPlatform,
    COUNTRY_CODE: '49',
    DIAL_DEVICE: 'Local/{endpoint}@e2e-devices',
    DIAL_EXTERNAL: 'Local/{number}@e2e-pstn',
    LOG_LEVEL: 'silent',
    CONTROLLER_ID: `e2e-${run}-${process.pid}`,
    REDIS_URL: target.redisUrl,
    ...opts.env,
  });
  const prefix = `e2e-${run}-${process.pid}:`;
  const store = await createRedisStore({ url: target.redisUrl, prefix, logger });
  const telemetry = await createTelemetry({ config, logger, store, prefix, defaultMetrics: false });
  const controllerRequests: string[] = [];
  let clockMs: number | undefined;
  telemetry.watchAri(pbxAri);
  const provisioner = createAriProvisioner(pbxAri, { logger });
  const controller = await startCallController({
    ari: countingRequests(pbxAri, controllerRequests),
    store,
    config,
    logger,
    timing: { ...SCENARIO_TIMING, ...opts.timing },
    flows: { portal: portalFlow },
    events: telemetry.calls,
    clock: () => clockMs ?? Date.now(),
  });
  telemetry.watchController(controller);
  await pbxAri.connect();
  const app = await buildApp({
    store,
    config,
    logger,
    provisioner,
    recordings: createAriRecordingFiles(pbxAri),
    telemetry: telemetry.backend,
    metrics: telemetry.metrics,
    callThroughUsage: controller.context.callThroughGuard,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  async function request(method: string, path: string, body?: unknown, token?: string) {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token ?? env.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }
  async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const res = await request(method, path, body, token);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  }

  const createdWorkplaces: string[] = [];
  let seq = 0;
  const number = (n: number) => `+4930${run.padStart(3, '0')}${String(n).padStart(4, '0')}`;

  const env: ScenarioEnv = {
    target,
    pbxAri,
    worldAri,
    world,
    observer,
    store,
    controller,
    controllerRequests,
    config,
    telemetry,
    apiUrl: baseUrl,
    cid: '',
    adminToken: adminTokenPlatform,
    platformToken: adminTokenPlatform,
    groupId: '',
    number,
    api,
    request,
    async createWorkplace(extra = {}) {
      seq++;
      const wp = await api<WorkplaceView>('POST', `/v1/companies/${env.cid}/workplaces`, {
        firstName: 'Erika',
        lastName: `Test${seq}`,
        email: `erika${seq}@example.com`,
        username: `e2e${run}user${seq}`,
        groupId: env.groupId,
        number: number(2000 + seq),
        language: 'de',
        timezone: 'Europe/Berlin',
        devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
        ...extra,
      });
      createdWorkplaces.push(wp.id);
      return wp;
    },
    async createPortal(extra) {
      seq++;
      return api('POST', `/v1/companies/${env.cid}/anywhere-portals`, {
        groupId: env.groupId,
        displayFirstName: 'Anywhere',
        displayLastName: `Portal${seq}`,
        number: number(5000 + seq),
        timezone: 'Europe/Berlin',
        level: 'company',
        ...extra,
      });
    },
    async establishDeskCall(wp, from) {
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
    },
    pbxChannelOf(caller) {
      return observer.until(
        () => observer.channelId(caller.pbxName),
        `the call of ${caller.name} reached the controller`,
      );
    },
    pbxLegOf(kind, target) {
      const prefix = `Local/${target}@${kind === 'device' ? 'e2e-devices' : 'e2e-pstn'}-`;
      return observer.until(
        () => observer.channelIdsByPrefix(prefix).find((id) => id !== undefined),
        `the controller's leg to ${target}`,
      );
    },
    async untilPlaying(channelId, prompt, ms) {
      const media = `sound:pbx/${prompt}`;
      await observer.until(() => (observer.heard(channelId).includes(media) ? true : undefined), prompt, ms);
    },
    async untilHeard(channelId, prompt, ms) {
      await observer.untilHeard(channelId, `sound:pbx/${prompt}`, ms);
    },
    async untilBridged(a, b, what) {
      await observer.until(
        async () => ((await observer.bridgedWith(a)).includes(b) ? true : undefined),
        what,
      );
    },
    setClock(ms) {
      clockMs = ms;
    },
    async close() {
      // a real Asterisk keeps pushed devices in astdb: remove every one this run created
      for (const wid of createdWorkplaces) {
        await api('DELETE', `/v1/companies/${env.cid}/workplaces/${wid}`).catch(() => undefined);
      }
      await controller.stop().catch(() => undefined);
      await app.close().catch(() => undefined);
      await telemetry.close().catch(() => undefined);
      await worldAri.close().catch(() => undefined);
      await pbxAri.close().catch(() => undefined);
      await store.close().catch(() => undefined);
    },
  };

  const company = await api<{ id: string }>(
    'POST',
    '/v1/companies',
    { name: `E2E ${run}` },
    adminTokenPlatform,
  );
  env.cid = company.id;
  env.adminToken = (
    await api<{ token: string }>(
      'POST',
      `/v1/companies/${env.cid}/tokens`,
      { role: 'admin' },
      adminTokenPlatform,
    )
  ).token;
  env.groupId = (
    await api<{ id: string }>('POST', `/v1/companies/${env.cid}/groups`, {
      name: 'Berlin',
      timezone: 'Europe/Berlin',
      numberRanges: [{ first: number(0), last: number(9999) }],
    })
  ).id;
  return env;
}

/** The client with every REST request through it logged as `<resource>.<operation>`. */
function countingRequests(ari: AriClient, log: string[]): AriClient {
  const resources = new Set(['channels', 'bridges', 'playbacks', 'recordings', 'applications', 'asterisk']);
  return new Proxy(ari, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !resources.has(prop)) return value;
      return new Proxy(value as object, {
        get(ops, op) {
          const fn = Reflect.get(ops, op) as unknown;
          if (typeof fn !== 'function' || typeof op !== 'string') return fn;
          return (...args: unknown[]) => {
            log.push(`${prop}.${op}`);
            return (fn as (...a: unknown[]) => unknown).apply(ops, args);
          };
        },
      });
    },
  });
}

/** Prompt ids (sound:pbx/<id>) present in every language directory of sounds/. */
export function promptsInAllLanguages(): { languages: string[]; missing: (id: string) => string[] } {
  const dir = join(repoRoot, 'sounds');
  const languages = readdirSync(dir).filter((f) => !f.includes('.'));
  const files = new Map(
    languages.map((lang) => [
      lang,
      new Set(readdirSync(join(dir, lang, 'pbx')).map((f) => f.replace(/\.[^.]+$/, ''))),
    ]),
  );
  return { languages, missing: (id) => languages.filter((lang) => !files.get(lang)!.has(id)) };
}
