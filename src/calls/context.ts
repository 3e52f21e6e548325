/**
 * What every call flow gets: the ARI client, the store, the cached configuration, timers,
 * the live-call registry and the voicebox notifier. One instance per controller.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { AnywherePortal } from '../domain/model.js';
import type { Store } from '../store/store.js';
import type { ConfigCache } from './config-cache.js';
import type { LiveCalls } from './live-calls.js';
import type { VoiceboxNotifier } from './notifier.js';
import type { CallAri, CallSession } from './session.js';
import type { Timing } from './timing.js';

export interface CallContext {
  ari: CallAri;
  store: Store;
  config: Config;
  cache: ConfigCache;
  timing: Timing;
  live: LiveCalls;
  notifier: VoiceboxNotifier;
  controllerId: string;
  logger: Logger;
}

/**
 * The Anywhere portal flow (src/calls/portal*.ts), plugged into the router through
 * startCallController({ flows: { portal } }). It owns the session until it returns; the
 * router closes the session afterwards (hanging up whatever is still up).
 */
export type PortalFlow = (session: CallSession, portal: AnywherePortal, ctx: CallContext) => Promise<void>;

export interface Flows {
  portal?: PortalFlow;
}
