/**
 * The contract between the ARI layer (src/ari) and everything that uses it (src/calls,
 * src/devices). Feature code depends on this file only, never on the transport.
 *
 * Conventions (kept by the generated client):
 * - one method per ARI operation, named by the resource and the api-docs `nickname`
 *   (`ari.channels.create`, `ari.bridges.addChannel`, `ari.recordings.getStoredFile`, ...);
 * - each method takes ONE object whose keys are the api-docs parameter names (path, query and
 *   body parameters merged, e.g. `{ channelId, media, lang }`); arrays in query parameters
 *   (e.g. `channel` of addChannel, `media` of play) are accepted as string | string[];
 * - it resolves with the api-docs response model (typed from the generated models) and
 *   rejects with AriError on a non-2xx status. A 404 for a channel that just hung up is an
 *   ordinary outcome: callers test `isNotFound(err)`.
 * - model and event types (Channel, Bridge, Playback, LiveRecording, StoredRecording,
 *   StasisStart, Dial, ChannelDtmfReceived, ...) are generated from ../shared/ari/api-docs
 *   into src/ari/generated/ and re-exported from src/ari/index.ts.
 */

export class AriError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
    /** Asterisk's JSON body message, e.g. "Channel not found" */
    readonly ariMessage: string,
  ) {
    super(`ARI ${operation} → ${status} ${ariMessage}`);
    this.name = 'AriError';
  }
}

export function isNotFound(err: unknown): boolean {
  return (
    err instanceof AriError &&
    (err.status === 404 || (err.status === 400 && /not found/i.test(err.ariMessage)))
  );
}

/** Any event as delivered on the application's WebSocket. */
export interface AriEventBase {
  type: string;
  application: string;
  timestamp: string;
  asterisk_id?: string;
}

export type Unsubscribe = () => void;

/**
 * Event routing without scanning calls: a handler is registered under an object id, and
 * every event is delivered to the handlers of each id it mentions:
 *   channel.id, peer.id (Dial), playback.id, recording.name, bridge.id, replace_channel?.id.
 */
export interface AriEvents {
  /** handlers for one object id (channel id, bridge id, playback id, recording name) */
  route(objectId: string, handler: (event: AriEventBase & Record<string, unknown>) => void): Unsubscribe;
  /** handlers for one event type across all objects (e.g. 'StasisStart' for the router) */
  on(type: string, handler: (event: AriEventBase & Record<string, unknown>) => void): Unsubscribe;
  /** fired after every (re)connect of the event socket, after the app is registered */
  onConnected(handler: (info: { reconnect: boolean }) => void | Promise<void>): Unsubscribe;
}
