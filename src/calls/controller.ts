/**
 * The call controller: wires the ARI event socket to the router, keeps the config cache in
 * step with the store, and reconciles after every (re)connect — channels and bridges the
 * application still owns in Asterisk that no session knows are re-adopted (answered calls,
 * voicebox recordings) or released (calls in set-up, strays; see adoption.ts), an earlier
 * process's idle pooled bridges are destroyed, and this controller's stale live-call entries
 * are removed.
 */
import type { Logger } from 'pino';
import {
  Admission,
  CAUSE_CONGESTION,
  timedAri,
  type AdmissionLimits,
  type AdmissionStats,
} from './overload/admission.js';
import { adoptOrphans, type AdoptionResult } from './recovery/adoption.js';
import { callThroughResumer } from './flows/portal/call-through.js';
import { voiceboxRecordings } from './flows/voicebox.js';
import { BridgePool, type BridgePoolStats } from './connected/bridge-pool.js';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { ConfigCache } from './engine/config-cache.js';
import { applyEventFilter } from './engine/event-filter.js';
import type { CallEvents } from './reporting/call-events.js';
import type { CallContext, Flows, Resumers } from './flows/context.js';
import { CallThroughGuard } from './flows/portal/fraud-guard.js';
import { createCallThroughAlerts, type CallThroughAlerts } from './reporting/call-through-alerts.js';
import { LiveCalls } from './connected/live-calls.js';
import { createVoiceboxEvents, type VoiceboxEvents } from './reporting/notifier.js';
import { OwnershipBook } from './engine/ownership.js';
import { createRouter, type Router, type StasisStartEvent } from './flows/router.js';
import type { CallAri } from './engine/session.js';
import {
  defaultSheddingOptions,
  EdgeShedding,
  type SheddingOptions,
  type SheddingStats,
} from './overload/shedding.js';
import { bounded, boundedStore, StoreWriteQueue } from './engine/store-writes.js';
import { resolveTiming, type Timing } from './engine/timing.js';

export interface CallControllerDeps {
  ari: CallAri;
  store: Store;
  config: Config;
  logger: Logger;
  timing?: Partial<Timing>;
  /** flows owned by other modules (the Anywhere portal) */
  flows?: Flows;
  /** the call-through fraud guard: where its alerts go, how long ended call-throughs wait to be settled */
  callThroughGuard?: { alerts?: CallThroughAlerts; settleDelayMs?: number; leaseSeconds?: number };
  /** call events and call-list records (src/calls/reporting/call-events.ts) */
  events?: CallEvents;
  /** set-up capacity (default: from config, ADMISSION_*) */
  admission?: Partial<AdmissionLimits>;
  /** shedding in the dialplan (default: from config, SHED_*) */
  shedding?: Partial<SheddingOptions>;
  /** the time flows decide by (opening hours); default Date.now — tests move it */
  clock?: () => number;
}

export interface StopOptions {
  /**
   * Graceful shutdown of the process: leave answered calls and voicebox recordings to
   * Asterisk for the next controller to re-adopt, end calls in set-up, refuse new calls
   * (cause 34) until the event socket is closed. Without it every call is hung up.
   */
  handOver?: boolean;
  /** how long queued store writes (voicebox messages) may take to land (default 2000 ms) */
  flushMs?: number;
}

export interface CallController {
  stop(opts?: StopOptions): Promise<void>;
  /** new voicebox messages, for notifications */
  readonly voicebox: VoiceboxEvents;
  /** call-through fraud alerts (new country, limit hit, refused destination, workplace locked) */
  readonly callThroughAlerts: CallThroughAlerts;
  /** for tests and metrics */
  readonly context: CallContext;
  readonly router: Router;
  /** runs the reconcile now (also runs after every event-socket connect) */
  reconcile(): Promise<ReconcileResult>;
  /** admission control: calls admitted and refused (cause 34), set-ups in flight, load figures */
  admission(): AdmissionStats;
  /** shedding in the dialplan: the share of new trunk calls refused there now */
  shedding(): SheddingStats;
  /** reused bridges: idle, busy, created, reused, destroyed */
  bridgePool(): BridgePoolStats;
}

export interface ReconcileResult extends AdoptionResult {
  /** this controller's registry entries of calls that no longer run */
  liveCalls: number;
}

/**
 * What re-adoption can resume, registered by the features that own those calls: a new feature
 * whose calls must survive a restart adds its resumer here (adoption itself imports none).
 */
const RESUMERS: Resumers = { answered: [callThroughResumer], recordings: voiceboxRecordings };

/**
 * Who this controller is in the store (its recordings in progress, its live-call registry
 * entries) when CONTROLLER_ID is unset: the ARI application on its Asterisk. Asterisk gives an
 * application's calls to one event socket, so that pair names the one controller of those
 * calls — and, unlike the host name, it stays the same when the next process starts on another
 * host or in a new container, which must find what the last one left.
 */
export function defaultControllerId(ariUrl: string, app: string): string {
  return `${app}@${new URL(ariUrl).host}`;
}

/**
 * Starts routing calls. Call it before `ari.connect()` (or after: it reconciles at once when
 * the socket is already up). Resolves once the config cache listens to store changes.
 */
export async function startCallController(deps: CallControllerDeps): Promise<CallController> {
  const { config } = deps;
  const admission = new Admission(
    {
      maxSetups: config.ADMISSION_MAX_SETUPS,
      maxRestLatencyMs: config.ADMISSION_MAX_REST_LATENCY_MS,
      maxEventLoopDelayMs: config.ADMISSION_MAX_EVENT_LOOP_DELAY_MS,
      ...deps.admission,
    },
    deps.logger.child({ component: 'admission' }),
  );
  // the call path's REST requests are timed for admission control
  const ari = timedAri(
    deps.ari,
    admission,
    admission.limits.maxRestLatencyMs > 0 || config.SHED_TARGET_REST_MS > 0,
  );
  const shedding = new EdgeShedding(
    deps.ari,
    admission,
    {
      ...defaultSheddingOptions,
      targetSetupMs: config.SHED_TARGET_SETUP_MS,
      maxPercent: config.SHED_MAX_PERCENT,
      minRate: config.SHED_MIN_RATE,
      // well below the controller's own limit (ADMISSION_MAX_SETUPS): the gate closes before
      // the controller must refuse
      inFlightTarget: config.SHED_TARGET_IN_FLIGHT,
      // well below the REST latency at which the controller refuses calls itself
      // (ADMISSION_MAX_REST_LATENCY_MS)
      restLatencyTarget: config.SHED_TARGET_REST_MS,
      ...deps.shedding,
    },
    deps.logger.child({ component: 'shedding' }),
  );
  // no call waits on Redis longer than this (calls go on on the cached configuration)
  const store = boundedStore(deps.store, config.CALL_STORE_TIMEOUT_MS);
  const controllerId = config.CONTROLLER_ID ?? defaultControllerId(config.ARI_URL, config.ARI_APP);
  const logger = deps.logger.child({ component: 'calls', controllerId });
  const timing = resolveTiming(deps.timing);
  const cache = new ConfigCache(store);
  await startCache(cache, logger);
  const voicebox = createVoiceboxEvents(logger);
  const ownership = new OwnershipBook();
  const bridgePool = new BridgePool({
    ari,
    ownership,
    logger,
    max: config.BRIDGE_POOL_MAX,
    settleMs: timing.bridgeSettleMs,
    route: (id, handler) => ari.events.route(id, handler),
  });
  const unwatchPool = bridgePool.watch(ari.events);
  const writes = new StoreWriteQueue({ logger });
  const live = new LiveCalls(ari, store, controllerId, logger, writes, deps.events);
  const callThroughAlerts = deps.callThroughGuard?.alerts ?? createCallThroughAlerts(logger);
  const callThroughGuard = new CallThroughGuard({
    store,
    logger,
    alerts: callThroughAlerts,
    countryCode: config.COUNTRY_CODE,
    ...deps.callThroughGuard,
  });
  const context: CallContext = {
    ari,
    store,
    config,
    cache,
    timing,
    live,
    notifier: voicebox,
    controllerId,
    logger,
    writes,
    callThroughGuard,
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  };
  const router = createRouter(context, {
    ownership,
    flows: deps.flows ?? {},
    admission,
    bridges: bridgePool,
  });
  let stopping = false;

  async function reconcile(): Promise<ReconcileResult> {
    // events in flight when we ask (a call entering Stasis right now) get a moment to arrive
    await new Promise((r) => setTimeout(r, timing.reconcileGraceMs));
    // only what existed before we ask can be judged by the answer
    const sessionsBefore = [...router.sessions.values()];
    const peersBefore = live.peers();
    const app = await ari.applications.get({ applicationName: ari.app });
    const present = new Set(app.channel_ids);
    // calls that ended while the socket was down: nobody will tell their sessions any more
    for (const session of sessionsBefore) if (!present.has(session.channelId)) session.channelGone();
    live.endCallsWithout(present, peersBefore);
    const orphans = {
      channelIds: app.channel_ids.filter((id) => !ownership.has(id) && !router.sessions.has(id)),
      bridgeIds: app.bridge_ids.filter((id) => !ownership.has(id)),
    };
    const adopted = await adoptOrphans(context, router, orphans, logger, RESUMERS);
    // Asterisk need not list an empty bridge among the app's: found by name instead
    adopted.bridges += await bridgePool.sweep().catch((err: unknown) => {
      logger.warn({ err }, 'reconcile: idle bridges of an earlier process not looked for');
      return 0;
    });
    const liveCalls = await live.removeStale().catch((err: unknown) => {
      logger.warn({ err }, 'reconcile: stale live-call entries not removed (store away)');
      return 0;
    });
    const result = { ...adopted, liveCalls };
    if (Object.values(result).some((n) => n > 0))
      logger.warn(result, 'reconcile: calls adopted, leftovers released');
    else logger.info('reconcile: nothing left over');
    return result;
  }

  const unsubscribe = [
    ari.events.on('StasisStart', (event) => {
      const start = event as unknown as StasisStartEvent;
      if (stopping) return refuseWhileStopping(start);
      router.onStasisStart(start);
    }),
    ari.events.onConnected(async ({ reconnect }) => {
      if (stopping) return;
      // first: every event until it is set is one Asterisk serialises and we parse for nothing
      await applyEventFilter(ari, logger);
      // a gate left closed by a predecessor (or by us before the socket dropped) opens
      if (shedding.options.targetSetupMs > 0) await shedding.reset();
      try {
        await reconcile();
      } catch (err) {
        logger.error({ err, reconnect }, 'reconcile failed');
      }
    }),
  ];

  let refuseNew = false;
  /** a new call while this controller shuts down: congestion, so the caller may retry */
  function refuseWhileStopping(event: StasisStartEvent): void {
    const kind = event.args?.[0];
    if (!refuseNew || (kind !== 'inbound' && kind !== 'internal')) return;
    void ari.channels
      .hangup({ channelId: event.channel.id, reason_code: String(CAUSE_CONGESTION) })
      .catch(() => {});
  }

  shedding.start();
  /** idle bridges and those of ended calls are destroyed; answered calls keep theirs */
  async function stopPool(): Promise<void> {
    await bounded(bridgePool.stop(), 1000, 'bridge pool').catch((err: unknown) =>
      logger.warn({ err }, 'idle bridges not all destroyed'),
    );
  }

  logger.info('call controller started');
  return {
    voicebox,
    callThroughAlerts,
    context,
    router,
    reconcile,
    admission: () => admission.stats(),
    shedding: () => shedding.stats(),
    bridgePool: () => bridgePool.stats(),
    async stop(opts: StopOptions = {}) {
      if (stopping) return;
      stopping = true;
      admission.stop();
      await bounded(shedding.stop(), 500, 'open the dialplan gate').catch(() => {});
      if (opts.handOver) {
        refuseNew = true;
        const handed = await router.handOver();
        unsubscribe[1]!();
        unwatchPool();
        await stopPool();
        const lost = await writes.flush(opts.flushMs ?? 2000);
        await bounded(callThroughGuard.stop(), 1000, 'call-through settlement').catch((err: unknown) =>
          logger.warn({ err }, 'call-through settlement failed'),
        );
        await bounded(cache.stop(), 1000, 'unsubscribe').catch(() => {});
        logger.info(
          { ...handed, storeWritesLost: lost },
          'call controller stopped; calls left to the next controller',
        );
        return;
      }
      for (const u of unsubscribe) u();
      unwatchPool();
      await router.drain();
      await stopPool();
      await writes.flush(opts.flushMs ?? 2000);
      await bounded(callThroughGuard.stop(), 1000, 'call-through settlement').catch((err: unknown) =>
        logger.warn({ err }, 'call-through settlement failed'),
      );
      await bounded(cache.stop(), 1000, 'unsubscribe').catch(() => {});
      logger.info('call controller stopped');
    },
  };
}

/**
 * Listens to configuration changes. With Redis away at start the controller starts all the
 * same (calls then fail fast on cold lookups instead of hanging) and subscribes once it can;
 * whatever was cached meanwhile is dropped then.
 */
async function startCache(cache: ConfigCache, logger: Logger): Promise<void> {
  try {
    await bounded(cache.start(), 2000, 'config change subscription');
    return;
  } catch (err) {
    logger.warn({ err }, 'config changes not subscribed (store away); retrying in the background');
  }
  const retry = async (): Promise<void> => {
    try {
      await bounded(cache.start(), 2000, 'config change subscription');
      cache.clear();
      logger.info('config changes subscribed');
    } catch {
      setTimeout(() => void retry(), 2000).unref();
    }
  };
  setTimeout(() => void retry(), 2000).unref();
}
