/**
 * A whole telephony world for scenario tests, every part real and on loopback:
 * the ARI simulator (scaled time), a Redis store (own key prefix), the provisioning API over
 * HTTP with the real ARI device provisioner, the ARI client and the call controller.
 *
 *   const world = await startWorld({ timing: { confirmationMs: 300 } });
 *   const { company, admin } = await world.createCompany();
 *   const group = await world.createGroup(company.id, admin);
 *   const wp = await world.createWorkplace(company.id, admin, { groupId: group.id, number: '+4930123456' });
 *   const caller = await world.driver.placeCall({ from: '+4989111222', to: '+4930123456' });
 *   ...
 *   await world.close();
 *
 * Reusable by every call-flow test (portal included): pass `flows` to plug flows in.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { inject } from 'vitest';
import { createAriClient, type AriClient } from '../../src/ari/index.js';
import { buildApp } from '../../src/api/app.js';
import {
  startCallController,
  type CallController,
  type CallControllerDeps,
} from '../../src/calls/controller.js';
import type { Flows } from '../../src/calls/flows/context.js';
import { createAriRecordingFiles } from '../../src/calls/engine/recording-files.js';
import type { Timing } from '../../src/calls/engine/timing.js';
import { createTelemetry, type Telemetry } from '../../src/app/telemetry.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createAriProvisioner } from '../../src/devices/ari-provisioner.js';
import type { AnywherePortal, Company, Group, Workplace } from '../../src/domain/model.js';
import { createRedisStore, type PbxStore } from '../../src/store/index.js';
import {
  startAriSimulator,
  type AriSimulator,
  type ScenarioDriver,
  type SimChannel,
} from '../../tools/ari-sim/index.js';

export interface WorldOptions {
  /** controller timers (tests shorten the 10 s confirmation / menu timeouts) */
  timing?: Partial<Timing>;
  /** simulator time scale (default 0.02: a 20 s ring time lasts 0.4 s) */
  timeScale?: number;
  /** simulated media length per prompt in sim ms before scaling (default: the WAV length) */
  mediaDurationMs?: (media: string, lang?: string) => number;
  /** extra environment for loadConfig (e.g. VOICEBOX_ACCESS_NUMBER) */
  env?: Record<string, string>;
  flows?: Flows;
  /** LOG_LEVEL for the controller and API (default silent; 'debug' when debugging a test) */
  logLevel?: string;
  /** the Redis key prefix: another world's `storePrefix` makes two controllers share one store */
  storePrefix?: string;
  /** options of the call-through fraud guard (e.g. settleDelayMs) */
  callThroughGuard?: CallControllerDeps['callThroughGuard'];
}

export type WorkplaceView = Workplace & { devices: Array<Workplace['devices'][number]> };

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface World {
  sim: AriSimulator;
  driver: ScenarioDriver;
  ari: AriClient;
  store: PbxStore;
  /** the store's key prefix (pass it to another world to share the store) */
  storePrefix: string;
  app: FastifyInstance;
  /** base URL of the API, e.g. http://127.0.0.1:41234 */
  apiUrl: string;
  controller: CallController;
  config: Config;
  logger: Logger;
  /** the platform admin token (ADMIN_TOKEN) */
  adminToken: string;
  /** events, call records and metrics of this world */
  telemetry: Telemetry;
  /** JSON request to the API over HTTP; `token` defaults to the platform admin token */
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse<T>>;
  /** raw bytes (e.g. the voicebox WAV) */
  apiBytes(
    path: string,
    token: string,
  ): Promise<{ status: number; body: Buffer; contentType: string | null }>;
  createCompany(name?: string): Promise<{ company: Company; admin: string }>;
  createGroup(cid: string, admin: string, body?: Partial<Group> & Record<string, unknown>): Promise<Group>;
  /** defaults: a deskphone, German, voicebox on with PIN 4711 → override with `body` */
  createWorkplace(cid: string, admin: string, body: Record<string, unknown>): Promise<WorkplaceView>;
  createPortal(cid: string, admin: string, body: Record<string, unknown>): Promise<AnywherePortal>;
  /** an employee token bound to one workplace */
  employeeToken(cid: string, admin: string, workplaceId: string): Promise<string>;
  /** an internal call from one of the workplace's devices (Stasis args ['internal']) */
  callFromDevice(
    workplace: Pick<Workplace, 'extension' | 'devices'>,
    to: string,
    deviceIndex?: number,
  ): Promise<SimChannel>;
  /** device endpoint as dialled: DIAL_DEVICE with the device's SIP username */
  deviceEndpoint(sipUsername: string): string;
  /** external endpoint as dialled: DIAL_EXTERNAL with the E.164 number */
  externalEndpoint(e164: string): string;
  close(): Promise<void>;
}

/** Polls `check` until it holds (up to `timeoutMs` real time; no timing asserts). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An outside caller talking to the workplace's desk phone (its first device), the call registered. */
export async function answeredOnTheDesk(
  world: World,
  wp: Pick<WorkplaceView, 'id' | 'number' | 'devices'>,
  from: string,
): Promise<{ caller: SimChannel; deskLeg: SimChannel }> {
  const desk = world.deviceEndpoint(wp.devices[0]!.sipUsername);
  world.driver.setEndpointBehaviour(desk, { kind: 'answer', afterMs: 10 });
  const caller = await world.driver.placeCall({ from, to: wp.number });
  const deskLeg = await world.driver.waitForChannel(desk);
  await until(() => caller.bridgedWith().length > 0, 'bridge');
  await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'registered');
  return { caller, deskLeg };
}

let worldSeq = 0;

/** A fresh store for one test file: real Redis with its own key prefix. */
export async function createTestStore(
  url: string = inject('redisUrl'),
  prefix = `test-calls-${randomUUID()}:`,
): Promise<PbxStore> {
  return createRedisStore({ url, prefix });
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const sim = await startAriSimulator({
    timeScale: opts.timeScale ?? 0.02,
    ...(opts.mediaDurationMs ? { mediaDurationMs: opts.mediaDurationMs } : {}),
  });
  const adminToken = randomBytes(24).toString('hex');
  const controllerId = `test-${process.pid}-${++worldSeq}-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    ARI_URL: sim.url,
    ARI_USERNAME: 'ari',
    ARI_PASSWORD: 'ari',
    ADMIN_TOKEN: adminToken,
    CONTROLLER_ID: controllerId,
    LOG_LEVEL: (opts.logLevel ?? 'silent') as string,
    ...opts.env,
  });
  const logger = pino({ level: config.LOG_LEVEL });
  const prefix = opts.storePrefix ?? `test-calls-${randomUUID()}:`;
  const store = await createTestStore(config.REDIS_URL!, prefix);
  const telemetry = await createTelemetry({ config, logger, store, prefix, defaultMetrics: false });
  const ari = createAriClient({
    url: config.ARI_URL,
    username: 'ari',
    password: 'ari',
    app: config.ARI_APP,
    logger,
  });
  telemetry.watchAri(ari);
  const controller = await startCallController({
    ari,
    store,
    config,
    logger,
    timing: opts.timing,
    flows: opts.flows,
    ...(opts.callThroughGuard ? { callThroughGuard: opts.callThroughGuard } : {}),
    events: telemetry.calls,
  });
  telemetry.watchController(controller);
  await ari.connect();
  const provisioner = createAriProvisioner(ari, { logger });
  const app = await buildApp({
    store,
    config,
    logger,
    provisioner,
    recordings: createAriRecordingFiles(ari),
    telemetry: telemetry.backend,
    metrics: telemetry.metrics,
    callThroughUsage: controller.context.callThroughGuard,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  async function api<T>(
    method: string,
    path: string,
    body?: unknown,
    token = adminToken,
  ): Promise<ApiResponse<T>> {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async function ok<T>(
    method: string,
    path: string,
    body: unknown,
    token: string,
    expected: number,
  ): Promise<T> {
    const res = await api<T>(method, path, body, token);
    if (res.status !== expected) {
      throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  const world: World = {
    sim,
    driver: sim.driver,
    ari,
    store,
    storePrefix: prefix,
    app,
    apiUrl,
    controller,
    config,
    logger,
    adminToken,
    telemetry,
    api,
    async apiBytes(path, token) {
      const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return {
        status: res.status,
        body: Buffer.from(await res.arrayBuffer()),
        contentType: res.headers.get('content-type'),
      };
    },
    async createCompany(name = 'Muster GmbH') {
      const company = await ok<Company>('POST', '/v1/companies', { name }, adminToken, 201);
      const { token } = await ok<{ token: string }>(
        'POST',
        `/v1/companies/${company.id}/tokens`,
        { role: 'admin' },
        adminToken,
        201,
      );
      return { company, admin: token };
    },
    async createGroup(cid, admin, body = {}) {
      return ok<Group>(
        'POST',
        `/v1/companies/${cid}/groups`,
        {
          name: 'Berlin',
          timezone: 'Europe/Berlin',
          numberRanges: [{ first: '+4930123400', last: '+4930123499' }],
          ...body,
        },
        admin,
        201,
      );
    },
    async createWorkplace(cid, admin, body) {
      const n = randomUUID()
        .slice(0, 6)
        .replace(/[^a-z0-9]/g, 'x');
      return ok<WorkplaceView>(
        'POST',
        `/v1/companies/${cid}/workplaces`,
        {
          firstName: 'Erika',
          lastName: 'Mustermann',
          email: `erika.${n}@example.com`,
          username: `erika${n}`,
          language: 'de',
          timezone: 'Europe/Berlin',
          devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
          voicebox: { enabled: true, pin: '4711' },
          ...body,
        },
        admin,
        201,
      );
    },
    async createPortal(cid, admin, body) {
      return ok<AnywherePortal>(
        'POST',
        `/v1/companies/${cid}/anywhere-portals`,
        {
          displayFirstName: 'Anywhere',
          displayLastName: 'Berlin',
          timezone: 'Europe/Berlin',
          level: 'company',
          silentMode: false,
          pinRequired: true,
          ...body,
        },
        admin,
        201,
      );
    },
    async employeeToken(cid, admin, workplaceId) {
      const { token } = await ok<{ token: string }>(
        'POST',
        `/v1/companies/${cid}/tokens`,
        { role: 'employee', workplaceId },
        admin,
        201,
      );
      return token;
    },
    callFromDevice(workplace, to, deviceIndex = 0) {
      const device = workplace.devices[deviceIndex];
      if (!device) throw new Error(`the workplace has no device ${deviceIndex}`);
      return sim.driver.placeCall({
        from: workplace.extension,
        to,
        args: ['internal'],
        name: `PJSIP/${device.sipUsername}`,
      });
    },
    deviceEndpoint(sipUsername) {
      return config.DIAL_DEVICE.split('{endpoint}').join(sipUsername);
    },
    externalEndpoint(e164) {
      return config.DIAL_EXTERNAL.split('{number}').join(e164);
    },
    async close() {
      await controller.stop().catch(() => {});
      await app.close().catch(() => {});
      await ari.close().catch(() => {});
      await telemetry.close().catch(() => {});
      await store.close().catch(() => {});
      await sim.close();
    },
  };
  return world;
}
