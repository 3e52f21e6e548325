/**
 * The controller process under test: the real call controller (src/calls) with the real ARI
 * client and the Redis store, exactly as src/app/main.ts wires them, pinned to one core by the
 * orchestrator. It logs at LOG_LEVEL (default info, like production) to /dev/null, so the
 * cost of structured logging is part of the measurement.
 *
 * Extras for measuring, none on the call path unless a probe is switched on:
 *  - stats / gc: RSS, heap, CPU, the store's round-trip counter, live sessions;
 *  - a round-trip probe: for each new call, the store's round trips between the controller
 *    receiving StasisStart and sending its first command about that channel (run calls one
 *    at a time while it is on, so no other call's round trips interleave).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { createAriClient, type AriClient } from '../src/ari/index.js';
import type { CallController } from '../src/calls/controller.js';
import { startCallController } from '../src/calls/controller.js';
import type { Flows } from '../src/calls/flows/context.js';
import type { CallAri } from '../src/calls/engine/session.js';
import { loadConfig } from '../src/config.js';
import { createTelemetry } from '../src/app/telemetry.js';
import { createRedisStore, type PbxStore } from '../src/store/index.js';
import { cpuMs, serveIpc } from './common.js';
import { createProcessProbe } from './process-probe.js';

let ari: AriClient | undefined;
let store: PbxStore | undefined;
let controller: CallController | undefined;
let portalNote = '';
const processProbe = createProcessProbe();

interface Probe {
  atStasis: number;
  atFirstCommand?: number;
  firstCommand?: string;
  atBridged?: number;
}
let probing = false;
const probes = new Map<string, Probe>();

/** Watches every REST call of the resources a call flow uses: first command per call, REST latency. */
function instrument(client: AriClient): CallAri {
  const wrap = <T extends object>(resource: T, name: string): T =>
    new Proxy(resource, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (params?: Record<string, unknown>, ...rest: unknown[]) => {
          processProbe.command(
            (params?.channelId as string | undefined) ?? (params?.caller as string | undefined),
          );
          if (probing) onCommand(`${name}.${String(prop)}`, params);
          const issued = performance.now();
          const result = (value as (...a: unknown[]) => unknown).call(target, params, ...rest);
          if (result instanceof Promise) {
            const done = () => processProbe.restDone(performance.now() - issued);
            result.then(done, done);
          }
          return result;
        };
      },
    });
  return {
    app: client.app,
    channels: wrap(client.channels, 'channels'),
    bridges: wrap(client.bridges, 'bridges'),
    playbacks: wrap(client.playbacks, 'playbacks'),
    recordings: wrap(client.recordings, 'recordings'),
    applications: client.applications,
    asterisk: client.asterisk,
    events: client.events,
  };
}

function onCommand(command: string, params: Record<string, unknown> | undefined): void {
  const id = (params?.channelId as string | undefined) ?? (params?.caller as string | undefined);
  const probe = id ? probes.get(id) : undefined;
  if (probe && probe.atFirstCommand === undefined) {
    probe.atFirstCommand = store!.roundTrips();
    probe.firstCommand = command;
  }
  if (command === 'bridges.addChannel') {
    const channels = String(params?.channel ?? '').split(',');
    for (const c of channels) {
      const p = probes.get(c);
      if (p && p.atBridged === undefined) p.atBridged = store!.roundTrips();
    }
  }
}

async function loadPortalFlow(): Promise<Flows> {
  try {
    const mod = (await import('../src/calls/flows/portal/portal.js' as string)) as {
      portalFlow?: Flows['portal'];
    };
    if (typeof mod.portalFlow === 'function') return { portal: mod.portalFlow };
    portalNote = 'src/calls/flows/portal/portal.ts exports no portalFlow';
  } catch (err) {
    portalNote = `src/calls/flows/portal/portal.ts not loadable: ${(err as Error).message.split('\n')[0]}`;
  }
  return {};
}

async function start(args: {
  ariUrl: string;
  redisUrl: string;
  prefix: string;
  logLevel?: string;
  /** keep-alive connections of the ARI REST pool (the client's default when unset) */
  ariConnections?: number;
  /** a real Asterisk (the asterisk section): its credentials, app and dial templates */
  ariUsername?: string;
  ariPassword?: string;
  ariApp?: string;
  dialDevice?: string;
  dialExternal?: string;
  /** events, call records and metrics wired as in src/app/main.ts */
  telemetry?: boolean;
}) {
  const config = loadConfig({
    REDIS_URL: args.redisUrl,
    ARI_URL: args.ariUrl,
    ARI_USERNAME: args.ariUsername ?? 'ari',
    ARI_PASSWORD: args.ariPassword ?? 'ari',
    ARI_APP: args.ariApp,
    DIAL_DEVICE: args.dialDevice,
    DIAL_EXTERNAL: args.dialExternal,
    ADMIN_TOKEN: randomUUID(),
    CONTROLLER_ID: `bench-${process.pid}`,
    LOG_LEVEL: args.logLevel ?? 'info',
    // admission limits and shedding to measure under overload (ADMISSION_MAX_SETUPS=… SHED_…=… npm run bench)
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('ADMISSION_') || k.startsWith('SHED_')),
    ),
  });
  const logger = pino({ level: config.LOG_LEVEL }, pino.destination({ dest: '/dev/null', sync: false }));
  store = await createRedisStore({ url: args.redisUrl, prefix: args.prefix, logger });
  ari = createAriClient({
    url: config.ARI_URL,
    username: config.ARI_USERNAME ?? 'ari',
    password: config.ARI_PASSWORD ?? 'ari',
    app: config.ARI_APP,
    logger,
    ...(args.ariConnections ? { connections: args.ariConnections } : {}),
  });
  // registered before the controller's handler, so it runs first for every StasisStart
  ari.events.on('StasisStart', (event) => {
    const e = event as unknown as { args?: string[]; channel: { id: string } };
    if (e.args?.[0] === 'inbound') processProbe.stasis(e.channel.id);
    if (!probing) return;
    if (e.args?.[0] === 'inbound') probes.set(e.channel.id, { atStasis: store!.roundTrips() });
  });
  const flows = await loadPortalFlow();
  const telemetry = args.telemetry
    ? await createTelemetry({ config, logger, store, prefix: args.prefix })
    : undefined;
  telemetry?.watchAri(ari);
  controller = await startCallController({
    ari: instrument(ari),
    store,
    config,
    logger,
    flows,
    ...(telemetry ? { events: telemetry.calls } : {}),
  });
  if (telemetry) telemetry.watchController(controller);
  startAdmissionTrace();
  await ari.connect();
  return { portal: flows.portal ? 'loaded' : portalNote };
}

/**
 * every 100 ms: [ms since start, dialplan share %, set-ups in flight, REST latency EWMA ms,
 * and what the last shedding decision saw: calls reached, refused by the controller, set-up p90 ms]
 */
type TracePoint = [number, number, number, number, number, number, number];
let trace: TracePoint[] = [];
function startAdmissionTrace(): void {
  const t0 = performance.now();
  setInterval(() => {
    if (!controller) return;
    const a = controller.admission();
    const s = controller.shedding();
    trace.push([
      Math.round(performance.now() - t0),
      s.percent,
      a.setupsInFlight,
      a.restLatencyMs,
      s.last.reached,
      s.last.refused,
      s.last.setupP90Ms,
    ]);
    if (trace.length > 600) trace.shift();
  }, 100).unref();
}

function stats(args?: { reset?: boolean }) {
  const m = process.memoryUsage();
  return {
    process: processProbe.snapshot(args?.reset ?? false),
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    cpuMs: cpuMs(),
    roundTrips: store?.roundTrips() ?? 0,
    sessions: controller?.router.sessions.size ?? 0,
    // what the controller still tracks: all three return to 0 once every call has ended
    routedIds: (ari?.events as { routedIdCount?: () => number } | undefined)?.routedIdCount?.() ?? -1,
    liveCalls: controller?.context.live.size ?? -1,
    ariMetrics: ari?.metrics,
  };
}

serveIpc({
  ready: () => true,
  start,
  stats,
  gc() {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) for (let i = 0; i < 3; i++) gc();
    return stats();
  },
  /** drops every cached entry a decision needs, so the next call decides cold */
  invalidate(args: { changes: Array<{ kind: string; id: string }> }) {
    for (const change of args.changes)
      controller!.context.cache.invalidate(
        change as Parameters<CallController['context']['cache']['invalidate']>[0],
      );
    return true;
  },
  /** a V8 heap snapshot (for hunting growth found by the soak); returns its file name */
  heapSnapshot(args: { dir: string; label: string }) {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    return writeHeapSnapshot(join(args.dir, `controller-${args.label}.heapsnapshot`));
  },
  /** admission control's counters and the dialplan gate's share (issue 12) */
  admission(args?: { trace?: boolean }) {
    if (!controller) return {};
    const out = {
      ...controller.admission(),
      shedding: controller.shedding(),
      trace: args?.trace ? trace : [],
    };
    if (args?.trace) trace = [];
    return out;
  },
  probe(args: { on: boolean }) {
    probing = args.on;
    const out = [...probes.values()];
    probes.clear();
    return out;
  },
  async stop() {
    await controller?.stop();
    await ari?.close();
    await store?.close();
    return true;
  },
});
