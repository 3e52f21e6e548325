/**
 * Composition of events, call lists and metrics for one process: the backend (Redis when
 * REDIS_URL is set), the call-event bus the controller's flows emit to, and the Prometheus
 * metrics wired to the ARI client, the store and the router. main.ts and the test world use
 * the same function, so what the tests see is what runs.
 */
import type { Logger } from 'pino';
import type { AriClient } from '../ari/index.js';
import { callThroughAlertEvents, createCallEvents, type CallEvents } from '../calls/reporting/call-events.js';
import type { CallController } from '../calls/controller.js';
import { watchDevices } from '../calls/reporting/device-events.js';
import type { Config } from '../config.js';
import {
  ARI_RESOURCES,
  createMetrics,
  instrumentMethods,
  instrumentStore,
  type PbxMetrics,
} from '../metrics.js';
import type { Store } from '../store/store.js';
import { watchEmergencyCalls } from '../events/emergency-calls.js';
import { createMemoryBackend, type TelemetryBackend, type TelemetryLimits } from '../events/backend.js';
import { createRedisBackend } from '../events/redis-backend.js';

export interface Telemetry {
  backend: TelemetryBackend;
  calls: CallEvents;
  metrics: PbxMetrics;
  /** times ARI REST operations and feeds ARI counters to the metrics */
  watchAri(ari: AriClient): void;
  /**
   * active calls from the controller; device registration events from its ARI application;
   * its call-through fraud-guard alerts as events and metrics
   */
  watchController(controller: CallController): void;
  close(): Promise<void>;
}

export function limitsOf(config: Config): TelemetryLimits {
  return {
    eventsMaxPerCompany: config.EVENTS_MAX_PER_COMPANY,
    resumeWindowSeconds: config.EVENTS_RESUME_SECONDS,
    callListRetentionDays: config.CALL_LIST_RETENTION_DAYS,
    callListMaxPerWorkplace: config.CALL_LIST_MAX_PER_WORKPLACE,
    callListMaxPerCompany: config.CALL_LIST_MAX_PER_COMPANY,
  };
}

export async function createTelemetry(opts: {
  config: Config;
  logger: Logger;
  store: Store;
  /** key prefix in Redis (the store's) */
  prefix?: string;
  /** prom-client process metrics (off in tests: several apps per process) */
  defaultMetrics?: boolean;
}): Promise<Telemetry> {
  const { config, store } = opts;
  const logger = opts.logger.child({ component: 'telemetry' });
  const limits = limitsOf(config);
  const backend = config.REDIS_URL
    ? await createRedisBackend({ url: config.REDIS_URL, prefix: opts.prefix ?? 'pbx:', logger, limits })
    : createMemoryBackend(logger, limits);
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
  instrumentStore(store, metrics.storeOps);
  metrics.watch({
    storeRoundTrips: () => store.roundTrips(),
    telemetryRoundTrips: () => backend.roundTrips(),
    telemetryWriteErrors: () => backend.writeErrors(),
  });
  const calls = createCallEvents({
    publish: (event) => backend.events.append(event),
    records: (records) => backend.records.add(records),
    metrics,
    logger,
  });
  let stopDevices: (() => void) | undefined;
  let stopAlerts: (() => void) | undefined;
  let stopEmergency: (() => void) | undefined;
  return {
    backend,
    calls,
    metrics,
    watchAri(ari) {
      instrumentMethods(ari as unknown as Record<string, unknown>, ARI_RESOURCES, metrics.ariRest);
      metrics.watch({
        ariEvents: () => ari.metrics.eventsReceived,
        ariReconnects: () => ari.metrics.reconnects,
      });
    },
    watchController(controller) {
      metrics.watch({
        activeCalls: () => controller.router.sessions.size,
        admission: () => {
          const a = controller.admission();
          const s = controller.shedding();
          return { ...a, shedPercent: s.percent, shedLimit: s.limit, shedEstimated: s.shedEstimated };
        },
        bridgePool: () => controller.bridgePool(),
      });
      stopDevices = watchDevices({
        ari: controller.context.ari,
        cache: controller.context.cache,
        publish: (event) => backend.events.append(event),
        logger,
      });
      // emergency calls Asterisk dialled by itself, read from its records (also those made while
      // this controller was down)
      const cache = controller.context.cache;
      stopEmergency = watchEmergencyCalls({
        ari: controller.context.ari,
        workplace: (id) => cache.workplace(id),
        group: (companyId, id) => store.groups.get(companyId, id),
        publish: (event) => backend.events.append(event),
        records: (records) => backend.records.add(records),
        metrics,
        logger,
      });
      // queued like every event (batched by the backend): the call-through gains no round trip
      stopAlerts = controller.callThroughAlerts.onAlert((alert) => {
        metrics.callThroughAlert(alert.kind);
        if (alert.kind === 'locked') metrics.callThroughLock('locked');
        for (const event of callThroughAlertEvents(alert)) backend.events.append(event);
      });
    },
    async close() {
      stopAlerts?.();
      stopDevices?.();
      stopEmergency?.();
      await backend.close();
    },
  };
}
