/**
 * What every call flow gets: the ARI client, the store, the cached configuration, timers,
 * the live-call registry and the voicebox notifier. One instance per controller.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { AnywherePortal, VoiceboxMessage, Workplace } from '../../domain/model.js';
import type { Store } from '../../store/store.js';
import type { CallEvents } from '../reporting/call-events.js';
import type { ConfigCache } from '../engine/config-cache.js';
import type { CallThroughGuard } from './portal/fraud-guard.js';
import type { LiveCalls } from '../connected/live-calls.js';
import type { StoreWriteQueue } from '../engine/store-writes.js';
import type { VoiceboxNotifier } from '../reporting/notifier.js';
import type { CallAri, CallSession } from '../engine/session.js';
import type { Timing } from '../engine/timing.js';

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
  /** store writes that must land even when Redis is away (voicebox messages, live-call registry) */
  writes: StoreWriteQueue;
  /** the Anywhere portal's call-through fraud guard (absent: call-throughs are not guarded) */
  callThroughGuard?: CallThroughGuard;
  /** call events and call-list records (optional: absent in unit tests) */
  events?: CallEvents;
  /** the time the flows decide by (opening hours); tests set it, production reads Date.now */
  clock?: () => number;
}

/** Who is calling the portal, as the router knows it (optional: flows may ignore it). */
export interface PortalCaller {
  /** the workplace of the calling desk device (internal call); undefined for trunk calls */
  deviceWorkplace?: Workplace;
}

/**
 * The Anywhere portal flow (src/calls/portal*.ts), plugged into the router through
 * startCallController({ flows: { portal } }). It owns the session until it returns; the
 * router closes the session afterwards (hanging up whatever is still up). A sketch:
 *
 *   const portalFlow: PortalFlow = async (session, portal, ctx) => {
 *     await session.answer();
 *     const input = await session.collectDigits({
 *       max: 20, terminator: '#',
 *       firstDigitTimeoutMs: ctx.timing.menuTimeoutMs, interDigitTimeoutMs: ctx.timing.interDigitTimeoutMs,
 *       prompt: { media: [promptMedia('portal-welcome')], lang: 'de' },
 *     });
 *     if (input === '*11') {
 *       if ((await pullCall(session, ctx, workplace.id)) === 'pulled') return session.untilEnded();
 *       await session.play([promptMedia('no-running-call')], { lang: 'de' });
 *     }
 *   };
 *
 * Call-through: session.dialLegs([{ endpoint }], { timeoutSeconds, present: presentedWorkplace(workplace),
 * variables: callVariables(session) }) then ctx.live.connect(session, leg, {}) holds the call until
 * either side hangs up (in a reused bridge: the leg carries its call, see live-calls.ts). A leg to
 * the trunk also carries the fraud guard's ticket (callThroughVariables, call-through.ts), so a
 * controller that re-adopts the call after a restart keeps the cut and settles it.
 * Errors: CallEnded (the caller hung up) may propagate; the router expects it.
 */
export type PortalFlow = (
  session: CallSession,
  portal: AnywherePortal,
  ctx: CallContext,
  caller?: PortalCaller,
) => Promise<void>;

/**
 * How a feature takes its answered calls over after a restart. Adoption (recovery/adoption.ts)
 * asks the registered resumers, in turn, whether an answered call of no workplace is theirs
 * (from what its peer leg carries); the first that claims it resumes it. A call nobody claims
 * is held again as a plain connected call. The controller registers them: adoption imports no
 * feature.
 */
export interface AnsweredCallResumer {
  readonly feature: string;
  claim(
    peer: { id: string; creationtime?: string },
    /** a channel variable of the peer leg (undefined: not set, or the leg is gone) */
    peerVariable: (name: string) => Promise<string | undefined>,
  ): Promise<ResumedCall | undefined>;
}

export interface ResumedCall {
  /** when it answered, as far as the leg tells */
  answeredAtMs: number;
  /** what the call's record shows of it when it has to be rebuilt from Asterisk */
  trace: { portalWorkplaceId?: string; callThroughTo?: string };
  /** for the adoption's log line */
  details: Record<string, unknown>;
  resume(
    session: CallSession,
    ctx: CallContext,
    found: { peerChannelId: string; bridgeId: string },
  ): Promise<void>;
}

/** How the voicebox takes over a message being recorded when the controller went away. */
export interface RecordingResumer {
  /** the caller is still there: let the recording finish, then store the message */
  finish(session: CallSession, ctx: CallContext, message: VoiceboxMessage): Promise<void>;
  /** the caller is gone: store the message when Asterisk has the recording */
  storeFinished(ctx: CallContext, message: VoiceboxMessage, log: Logger): Promise<void>;
}

/** What adoption can resume, as the features registered it. */
export interface Resumers {
  answered: readonly AnsweredCallResumer[];
  recordings: RecordingResumer;
}

export interface Flows {
  portal?: PortalFlow;
}
