/**
 * The call controller: wires the ARI event socket to the router, keeps the config cache in
 * step with the store, and reconciles after every (re)connect — channels and bridges the
 * application still owns in Asterisk that no session knows are released, and this
 * controller's stale live-call entries are removed.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isNotFound } from '../ari/index.js';
import type { RecordingFiles } from '../api/ports.js';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { ConfigCache } from './config-cache.js';
import { applyEventFilter } from './event-filter.js';
import type { CallContext, Flows } from './context.js';
import { CallThroughGuard, createCallThroughAlerts, type CallThroughAlerts } from './fraud-guard.js';
import { LiveCalls } from './live-calls.js';
import { createVoiceboxEvents, type VoiceboxEvents } from './notifier.js';
import { OwnershipBook } from './ownership.js';
import { createRouter, type Router, type StasisStartEvent } from './router.js';
import type { CallAri } from './session.js';
import { resolveTiming, type Timing } from './timing.js';

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
}

export interface CallController {
  stop(): Promise<void>;
  /** new voicebox messages, for notifications */
  readonly voicebox: VoiceboxEvents;
  /** call-through fraud alerts (new country, limit hit, refused destination, workplace locked) */
  readonly callThroughAlerts: CallThroughAlerts;
  /** for tests and metrics */
  readonly context: CallContext;
  readonly router: Router;
  /** runs the reconcile now (also runs after every event-socket connect) */
  reconcile(): Promise<{ channels: number; bridges: number; liveCalls: number }>;
}

/**
 * Starts routing calls. Call it before `ari.connect()` (or after: it reconciles at once when
 * the socket is already up). Resolves once the config cache listens to store changes.
 */
export async function startCallController(deps: CallControllerDeps): Promise<CallController> {
  const { ari, store, config } = deps;
  const controllerId = config.CONTROLLER_ID ?? hostname();
  const logger = deps.logger.child({ component: 'calls', controllerId });
  const timing = resolveTiming(deps.timing);
  const cache = new ConfigCache(store);
  await cache.start();
  const voicebox = createVoiceboxEvents(logger);
  const ownership = new OwnershipBook();
  const live = new LiveCalls(ari, store, controllerId, logger);
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
    callThroughGuard,
  };
  const router = createRouter(context, { ownership, flows: deps.flows ?? {} });
  let stopping = false;

  async function reconcile(): Promise<{ channels: number; bridges: number; liveCalls: number }> {
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
    const strayChannels = app.channel_ids.filter((id) => !ownership.has(id) && !router.sessions.has(id));
    const strayBridges = app.bridge_ids.filter((id) => !ownership.has(id));
    await Promise.all([
      ...strayChannels.map((channelId) =>
        ari.channels.hangup({ channelId }).catch((err: unknown) => {
          if (!isNotFound(err)) logger.warn({ err, channelId }, 'reconcile: hangup failed');
        }),
      ),
      ...strayBridges.map((bridgeId) =>
        ari.bridges.destroy({ bridgeId }).catch((err: unknown) => {
          if (!isNotFound(err)) logger.warn({ err, bridgeId }, 'reconcile: bridge destroy failed');
        }),
      ),
    ]);
    const liveCalls = await live.removeStale();
    const result = { channels: strayChannels.length, bridges: strayBridges.length, liveCalls };
    if (result.channels + result.bridges + result.liveCalls > 0)
      logger.warn(result, 'reconcile released leftovers');
    else logger.info('reconcile: nothing left over');
    return result;
  }

  const unsubscribe = [
    ari.events.on('StasisStart', (event) => {
      if (stopping) return;
      router.onStasisStart(event as unknown as StasisStartEvent);
    }),
    ari.events.onConnected(async ({ reconnect }) => {
      if (stopping) return;
      // first: every event until it is set is one Asterisk serialises and we parse for nothing
      await applyEventFilter(ari, logger);
      try {
        await reconcile();
      } catch (err) {
        logger.error({ err, reconnect }, 'reconcile failed');
      }
    }),
  ];

  logger.info('call controller started');
  return {
    voicebox,
    callThroughAlerts,
    context,
    router,
    reconcile,
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const u of unsubscribe) u();
      await router.drain();
      await callThroughGuard
        .stop()
        .catch((err: unknown) => logger.warn({ err }, 'call-through settlement failed'));
      await cache.stop();
      logger.info('call controller stopped');
    },
  };
}

/** The API's voicebox audio port, backed by ARI stored recordings. */
export function createAriRecordingFiles(ari: Pick<CallAri, 'recordings'>): RecordingFiles {
  return {
    async getFile(name) {
      try {
        const body = await ari.recordings.getStoredFile({ recordingName: name });
        return { body, contentType: 'audio/wav' };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async delete(name) {
      try {
        await ari.recordings.deleteStored({ recordingName: name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}
