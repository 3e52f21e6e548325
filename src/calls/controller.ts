/**
 * The call controller: wires the ARI event socket to the router, keeps the config cache in
 * step with the store, and reconciles after every (re)connect — channels and bridges the
 * application still owns in Asterisk that no session knows are re-adopted (answered calls,
 * voicebox recordings) or released (calls in set-up, strays; see adoption.ts), and this
 * controller's stale live-call entries are removed.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isNotFound } from '../ari/index.js';
import { adoptOrphans, type AdoptionResult } from './adoption.js';
import type { RecordingFiles } from '../api/ports.js';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { ConfigCache } from './config-cache.js';
import type { CallContext, Flows } from './context.js';
import { LiveCalls } from './live-calls.js';
import { createVoiceboxEvents, type VoiceboxEvents } from './notifier.js';
import { OwnershipBook } from './ownership.js';
import { createRouter, type Router, type StasisStartEvent } from './router.js';
import type { CallAri } from './session.js';
import { StoreWriteQueue } from './store-writes.js';
import { resolveTiming, type Timing } from './timing.js';

export interface CallControllerDeps {
  ari: CallAri;
  store: Store;
  config: Config;
  logger: Logger;
  timing?: Partial<Timing>;
  /** flows owned by other modules (the Anywhere portal) */
  flows?: Flows;
}

export interface CallController {
  stop(): Promise<void>;
  /** new voicebox messages, for notifications */
  readonly voicebox: VoiceboxEvents;
  /** for tests and metrics */
  readonly context: CallContext;
  readonly router: Router;
  /** runs the reconcile now (also runs after every event-socket connect) */
  reconcile(): Promise<ReconcileResult>;
}

export interface ReconcileResult extends AdoptionResult {
  /** this controller's registry entries of calls that no longer run */
  liveCalls: number;
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
  const writes = new StoreWriteQueue({ logger });
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
  };
  const router = createRouter(context, { ownership, flows: deps.flows ?? {} });
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
    const adopted = await adoptOrphans(context, router, orphans, logger);
    const liveCalls = await live.removeStale().catch((err: unknown) => {
      logger.warn({ err }, 'reconcile: stale live-call entries not removed (store away)');
      return 0;
    });
    const result = { ...adopted, liveCalls };
    if (Object.values(result).some((n) => n > 0)) logger.warn(result, 'reconcile: calls adopted, leftovers released');
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
    context,
    router,
    reconcile,
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const u of unsubscribe) u();
      await router.drain();
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
