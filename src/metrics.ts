/**
 * Prometheus metrics (prom-client), one registry per process (per app in tests).
 *
 * Hot-path cost is a counter increment or a histogram observation; labels are operation and
 * route names, never ids. Counters kept elsewhere (ARI events, reconnects, store round trips)
 * are read at scrape time. `/metrics` is served on the API port only with METRICS_TOKEN (as
 * a bearer token), or without a token on the separate METRICS_LISTEN address; neither set:
 * no metrics route at all.
 */
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallOutcome } from './events/model.js';

/**
 * The counters the call side's event bus (calls/reporting/call-events.ts) feeds; they are
 * defined here, with the metrics that implement them, so the calls side looks down to them.
 * All optional.
 */
export interface CallMetricsSink {
  setupSeconds?(seconds: number): void;
  /** outcome 'portal': a portal call that got in; 'other': no workplace's call (voicebox retrieval, *11 from a desk, unknown number) */
  callEnded?(kind: 'inbound' | 'internal', outcome: CallOutcome | 'portal' | 'other'): void;
  pinFailure?(where: 'voicebox' | 'portal'): void;
  pinLockout?(where: 'voicebox' | 'portal'): void;
  refused?(reason: 'blocked' | 'portal'): void;
}

export interface PbxMetrics extends CallMetricsSink {
  readonly registry: Registry;
  readonly ariRest: Histogram<'operation'>;
  readonly storeOps: Histogram<'operation'>;
  readonly api: Histogram<'method' | 'route' | 'status'>;
  readonly slowEventClients: Counter;
  /** a call-through fraud-guard alert (src/calls/flows/portal/fraud-guard.ts), by kind */
  callThroughAlert(kind: string): void;
  /** a workplace's call-through locked by the guard, or the lock lifted by an admin */
  callThroughLock(change: 'locked' | 'lifted'): void;
  /** an emergency call (110/112) Asterisk dialled by itself, counted when the controller reads its record */
  emergencyCall(number: string, answered: boolean): void;
  /** a voicebox mail sent, retried, skipped (mail off, message gone) or given up (src/mail) */
  voiceboxMail(outcome: 'sent' | 'retry' | 'skipped' | 'given-up'): void;
  /** values read at scrape time */
  watch(sources: MetricSources): void;
}

export interface MetricSources {
  activeCalls?: () => number;
  ariEvents?: () => number;
  ariReconnects?: () => number;
  storeRoundTrips?: () => number;
  telemetryRoundTrips?: () => number;
  telemetryWriteErrors?: () => number;
  eventSockets?: () => number;
  /** admission control and the dialplan gate (src/calls/overload/admission.ts, shedding.ts) */
  admission?: () => {
    admitted: number;
    refused: number;
    setupsInFlight: number;
    shedPercent: number;
    shedLimit: number;
    shedEstimated: number;
  };
  /** the controller's bridge pool (src/calls/connected/bridge-pool.ts) */
  bridgePool?: () => { idle: number; created: number; reused: number };
}

/** A counter fed from a running total kept elsewhere. */
function totalCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now === undefined) return;
      if (now > last) this.inc(now - last);
      last = Math.max(last, now);
    },
  });
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): PbxMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pbx_' });
  const sources: MetricSources = {};
  const reg = [registry];

  const calls = new Counter({
    name: 'pbx_calls_total',
    help: 'calls routed, by kind (inbound: trunk, internal: device) and outcome',
    labelNames: ['kind', 'outcome'],
    registers: reg,
  });
  const setup = new Histogram({
    name: 'pbx_call_setup_seconds',
    help: "time from StasisStart to the flow's first action (ring, forward, voicebox, dial out, refuse)",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: reg,
  });
  const pinFailures = new Counter({
    name: 'pbx_pin_failures_total',
    help: 'wrong PIN entries',
    labelNames: ['where'],
    registers: reg,
  });
  const pinLockouts = new Counter({
    name: 'pbx_pin_lockouts_total',
    help: 'PINs locked after too many wrong entries',
    labelNames: ['where'],
    registers: reg,
  });
  const refused = new Counter({
    name: 'pbx_refused_calls_total',
    help: 'calls refused: blocked by a blocking profile, or not let into an Anywhere portal',
    labelNames: ['reason'],
    registers: reg,
  });
  const emergencyCalls = new Counter({
    name: 'pbx_emergency_calls_total',
    help: 'emergency calls (110/112) from devices, by number and whether the emergency centre answered',
    labelNames: ['number', 'answered'],
    registers: reg,
  });
  const callThroughAlerts = new Counter({
    name: 'pbx_callthrough_alerts_total',
    help: 'call-through fraud-guard alerts by kind (new-country, limit, destination-refused, locked)',
    labelNames: ['kind'],
    registers: reg,
  });
  // a counter, not a gauge of locked workplaces: that number lives in Redis (one read per
  // workplace), and locks / lifts rate() well enough to alert on
  const callThroughLocks = new Counter({
    name: 'pbx_callthrough_lock_changes_total',
    help: "workplaces' call-through locked by the fraud guard (change=locked) or lifted by an admin (change=lifted)",
    labelNames: ['change'],
    registers: reg,
  });
  const ariRest = new Histogram({
    name: 'pbx_ari_rest_seconds',
    help: 'ARI REST request latency by operation',
    labelNames: ['operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: reg,
  });
  const storeOps = new Histogram({
    name: 'pbx_store_seconds',
    help: 'store operation latency (each is one Redis round trip or a few) by operation',
    labelNames: ['operation'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
    registers: reg,
  });
  const api = new Histogram({
    name: 'pbx_api_request_seconds',
    help: 'API request latency by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: reg,
  });
  const slowEventClients = new Counter({
    name: 'pbx_event_socket_slow_closes_total',
    help: 'event-stream clients disconnected for reading too slowly (close code 4008)',
    registers: reg,
  });
  new Gauge({
    name: 'pbx_active_calls',
    help: 'calls being handled by this controller now',
    registers: reg,
    collect() {
      const v = sources.activeCalls?.();
      if (v !== undefined) this.set(v);
    },
  });
  new Gauge({
    name: 'pbx_event_sockets',
    help: 'event-stream WebSockets open on this instance',
    registers: reg,
    collect() {
      const v = sources.eventSockets?.();
      if (v !== undefined) this.set(v);
    },
  });
  totalCounter(
    registry,
    'pbx_calls_admitted_total',
    'new calls admission control let in',
    () => sources.admission?.().admitted,
  );
  totalCounter(
    registry,
    'pbx_calls_refused_overload_total',
    "new calls the controller refused for overload (cause 34), beyond its set-up capacity or in a flood beyond the dialplan gate's limit",
    () => sources.admission?.().refused,
  );
  totalCounter(
    registry,
    'pbx_trunk_calls_shed_estimated_total',
    'new trunk calls the dialplan refused (cause 34) before they reached the controller, estimated from the share it shed and the calls that passed',
    () => sources.admission?.().shedEstimated,
  );
  const admissionGauge = (
    name: string,
    help: string,
    read: (a: NonNullable<ReturnType<NonNullable<MetricSources['admission']>>>) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers: reg,
      collect() {
        const a = sources.admission?.();
        if (a) this.set(read(a));
      },
    });
  admissionGauge(
    'pbx_call_setups_in_flight',
    'calls between StasisStart and the end of their set-up',
    (a) => a.setupsInFlight,
  );
  admissionGauge(
    'pbx_trunk_shed_percent',
    'share of new trunk calls the dialplan refuses (cause 34) before they reach the controller',
    (a) => a.shedPercent,
  );
  admissionGauge(
    'pbx_trunk_admit_limit_per_second',
    'trunk calls per second the dialplan gate lets through to the controller',
    (a) => a.shedLimit,
  );
  new Gauge({
    name: 'pbx_bridge_pool_idle',
    help: 'idle mixing bridges kept for the next calls (BRIDGE_POOL_MAX at most)',
    registers: reg,
    collect() {
      const v = sources.bridgePool?.();
      if (v !== undefined) this.set(v.idle);
    },
  });
  totalCounter(
    registry,
    'pbx_bridges_created_total',
    'mixing bridges created for calls',
    () => sources.bridgePool?.().created,
  );
  totalCounter(
    registry,
    'pbx_bridges_reused_total',
    'calls bridged in an idle bridge of the pool (no create, no destroy)',
    () => sources.bridgePool?.().reused,
  );
  totalCounter(registry, 'pbx_ari_events_total', 'ARI events received (rate() gives events per second)', () =>
    sources.ariEvents?.(),
  );
  totalCounter(registry, 'pbx_ari_reconnects_total', 'ARI event-socket reconnects', () =>
    sources.ariReconnects?.(),
  );
  totalCounter(registry, 'pbx_store_round_trips_total', 'round trips to the configuration store', () =>
    sources.storeRoundTrips?.(),
  );
  totalCounter(
    registry,
    'pbx_telemetry_round_trips_total',
    'round trips for events and call records (batched: one per tick at most for writes)',
    () => sources.telemetryRoundTrips?.(),
  );
  totalCounter(registry, 'pbx_telemetry_write_errors_total', 'event / call-record batches that failed', () =>
    sources.telemetryWriteErrors?.(),
  );

  const voiceboxMails = new Counter({
    name: 'pbx_voicebox_mails_total',
    help: 'voicebox messages by e-mail: sent, retry (a failed attempt), skipped (mail off, message gone), given-up',
    labelNames: ['outcome'],
    registers: reg,
  });

  return {
    registry,
    ariRest,
    storeOps,
    api,
    slowEventClients,
    watch(more) {
      Object.assign(sources, more);
    },
    setupSeconds: (s) => setup.observe(s),
    callEnded: (kind, outcome) => calls.inc({ kind, outcome }),
    pinFailure: (where) => pinFailures.inc({ where }),
    pinLockout: (where) => pinLockouts.inc({ where }),
    refused: (reason) => refused.inc({ reason }),
    callThroughAlert: (kind) => callThroughAlerts.inc({ kind }),
    emergencyCall: (number, answered) => emergencyCalls.inc({ number, answered: answered ? 'yes' : 'no' }),
    callThroughLock: (change) => callThroughLocks.inc({ change }),
    voiceboxMail: (outcome) => voiceboxMails.inc({ outcome }),
  };
}

type AsyncFn = (...args: unknown[]) => Promise<unknown>;

function timed(fn: AsyncFn, self: unknown, observe: (seconds: number) => void): AsyncFn {
  return function (...args: unknown[]) {
    const t0 = performance.now();
    const done = () => observe((performance.now() - t0) / 1000);
    const p = fn.apply(self, args);
    p.then(done, done);
    return p;
  };
}

/** Times every method of the given resource groups in place (ARI: channels.answer, ...). */
export function instrumentMethods(
  groups: Record<string, unknown>,
  names: readonly string[],
  histogram: Histogram<'operation'>,
): void {
  for (const group of names) {
    const obj = groups[group] as Record<string, unknown> | undefined;
    if (!obj || typeof obj !== 'object') continue;
    for (const [name, fn] of Object.entries(obj)) {
      if (typeof fn !== 'function') continue;
      const child = histogram.labels({ operation: `${group}.${name}` });
      obj[name] = timed(fn as AsyncFn, obj, (s) => child.observe(s));
    }
  }
}

export const ARI_RESOURCES = [
  'asterisk',
  'endpoints',
  'channels',
  'bridges',
  'recordings',
  'sounds',
  'playbacks',
  'deviceStates',
  'mailboxes',
  'applications',
] as const;

const STORE_GROUPS = [
  'companies',
  'groups',
  'areas',
  'blockingProfiles',
  'templates',
  'workplaces',
  'portals',
  'tokens',
  'voicebox',
  'pinFailures',
  'liveCalls',
  'numbers',
];
const STORE_LOOKUPS = ['lookupNumber', 'lookupExtension', 'lookupBlockingContext'];

/** Times the store's repository methods and call lookups in place. */
export function instrumentStore(store: object, histogram: Histogram<'operation'>): void {
  const s = store as Record<string, unknown>;
  instrumentMethods(s, STORE_GROUPS, histogram);
  for (const name of STORE_LOOKUPS) {
    const fn = s[name];
    if (typeof fn !== 'function') continue;
    const child = histogram.labels({ operation: name });
    s[name] = timed(fn as AsyncFn, store, (sec) => child.observe(sec));
  }
}

/**
 * API latency by route (root hook) and, with METRICS_TOKEN, GET /metrics on the API port.
 */
const metricsPluginImpl: FastifyPluginAsync<{ metrics: PbxMetrics; token?: string }> = async (
  app: FastifyInstance,
  { metrics, token },
) => {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || route === '/metrics') return;
    metrics.api.observe(
      { method: request.method, route, status: `${Math.floor(reply.statusCode / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  });
  if (token === undefined) return;
  // authenticated by the app's one Authenticator (scope 'metrics'): a wrong token here counts
  // in the same per-address limiter as anywhere else
  app.get('/metrics', { config: { scope: 'metrics' }, schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply
      .header('content-type', metrics.registry.contentType)
      .serializer((p: unknown) => p as string)
      .send(text);
  });
};
(metricsPluginImpl as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const metricsPlugin = metricsPluginImpl;

/** /metrics on its own address (METRICS_LISTEN), e.g. reachable only from the monitoring network. */
export async function startMetricsServer(metrics: PbxMetrics, listen: string): Promise<Server> {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
