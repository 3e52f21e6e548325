/**
 * The ARI event types the call controller acts on — every other event Asterisk would send the
 * application is filtered out in Asterisk (PUT /applications/{app}/eventFilter), so it is
 * never serialised, written to the socket, parsed and dispatched. A workplace call otherwise
 * carries ChannelVarset, ChannelDialplan, ChannelConnectedLine, ChannelEnteredBridge/LeftBridge,
 * BridgeCreated/Destroyed ... that nobody here reads.
 *
 * Derived from the code: test/calls/engine/event-filter.test.ts fails when src/ names an ARI event
 * type (on('X'), type === 'X', case 'X') that is not listed here — a handler for a filtered
 * event would silently never run.
 */
import type { Logger } from 'pino';
import type { CallAri } from './session.js';

export const CONTROLLER_EVENT_TYPES = [
  // the router (new calls) and every leg (answered / joined the app)
  'StasisStart',
  // a channel ended (caller, legs, peers: session.ts, live-calls.ts)
  'StasisEnd',
  'ChannelHangupRequest',
  'ChannelDestroyed',
  // answer of a dialled leg (session.ts LegRun)
  'ChannelStateChange',
  'Dial',
  // menus, PIN, answer confirmation, recording end
  'ChannelDtmfReceived',
  'PlaybackFinished',
  'PlaybackFailed',
  'RecordingFinished',
  'RecordingFailed',
  // the ARI client says when another connection took the app over
  'ApplicationReplaced',
  // device registration as events (device-events.ts, wired by the telemetry)
  'ContactStatusChange',
  'EndpointStateChange',
] as const;

/**
 * Sets the application's allowed list. Runs after every (re)connect: a failure (an Asterisk
 * without the resource, a transient error) only costs efficiency — all events still arrive and
 * nothing relies on the filter — so it is logged, not fatal.
 */
export async function applyEventFilter(
  ari: Pick<CallAri, 'app' | 'applications'> & { events: object },
  logger: Logger,
): Promise<void> {
  // whoever else shares this client and listens to a type with on() (an observer, metrics)
  // keeps getting it: the filter is per application, not per listener
  const listened = (ari.events as { listenedTypes?: () => string[] }).listenedTypes?.() ?? [];
  const allowed = new Set<string>([...CONTROLLER_EVENT_TYPES, ...listened]);
  try {
    await ari.applications.filter({
      applicationName: ari.app,
      filter: { allowed: [...allowed].map((type) => ({ type })) },
    });
  } catch (err) {
    logger.warn({ err }, 'ARI event filter not set: the application receives every event type');
  }
}
