/**
 * Event routing (no I/O): an event goes to the handlers registered under each object id it
 * mentions — O(1) map lookups per id, never a scan of the calls — and then to the handlers of
 * its type. A throwing (or rejecting) handler is logged and never stops the others.
 */
import type { Logger } from 'pino';
import type { AriEventBase, AriEvents, Unsubscribe } from './contract.js';
import type { AriEvent, AriEventMap, AriEventType } from './generated/models.js';

export type RawEvent = AriEventBase & Record<string, unknown>;
type Handler = (event: RawEvent) => unknown;
type ConnectedHandler = (info: { reconnect: boolean }) => void | Promise<void>;

/** AriEvents with typed overloads: `on('StasisStart', e => e.channel.id)`. */
export interface AriEventRouter extends AriEvents {
  route(objectId: string, handler: (event: AriEvent) => void): Unsubscribe;
  route(objectId: string, handler: (event: RawEvent) => void): Unsubscribe;
  on<K extends AriEventType>(type: K, handler: (event: AriEventMap[K]) => void): Unsubscribe;
  on(type: string, handler: (event: RawEvent) => void): Unsubscribe;
  onConnected(handler: ConnectedHandler): Unsubscribe;
}

/**
 * The object ids an event mentions, in the fields the contract names. Object-valued fields
 * carry `id` (channels, bridges, playbacks); a recording is known by its `name`.
 */
export function mentionedIds(event: Record<string, unknown>): string[] {
  const ids: string[] = [];
  const add = (v: unknown, key: 'id' | 'name') => {
    if (v && typeof v === 'object') {
      const id = (v as Record<string, unknown>)[key];
      if (typeof id === 'string' && id !== '' && !ids.includes(id)) ids.push(id);
    }
  };
  add(event.channel, 'id');
  add(event.peer, 'id');
  add(event.playback, 'id');
  add(event.recording, 'name');
  add(event.bridge, 'id');
  add(event.replace_channel, 'id');
  return ids;
}

function addTo(map: Map<string, Set<Handler>>, key: string, handler: Handler): Unsubscribe {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(handler);
  return () => {
    const current = map.get(key);
    if (!current) return;
    current.delete(handler);
    if (current.size === 0) map.delete(key);
  };
}

export class EventRouter implements AriEventRouter {
  private readonly byId = new Map<string, Set<Handler>>();
  private readonly byType = new Map<string, Set<Handler>>();
  private readonly connected = new Set<ConnectedHandler>();

  constructor(
    private readonly log: Logger,
    private readonly onHandlerError: () => void = () => {},
  ) {}

  route(objectId: string, handler: (event: AriEvent) => void): Unsubscribe;
  route(objectId: string, handler: (event: RawEvent) => void): Unsubscribe;
  route(objectId: string, handler: (event: never) => void): Unsubscribe {
    return addTo(this.byId, objectId, handler as Handler);
  }

  on<K extends AriEventType>(type: K, handler: (event: AriEventMap[K]) => void): Unsubscribe;
  on(type: string, handler: (event: RawEvent) => void): Unsubscribe;
  on(type: string, handler: (event: never) => void): Unsubscribe {
    return addTo(this.byType, type, handler as Handler);
  }

  onConnected(handler: ConnectedHandler): Unsubscribe {
    this.connected.add(handler);
    return () => this.connected.delete(handler);
  }

  /** event types someone listens to with on() (the application's event filter must allow them) */
  listenedTypes(): string[] {
    return [...this.byType.keys()];
  }

  /** number of object ids with handlers (for leak checks in tests and metrics) */
  routedIdCount(): number {
    return this.byId.size;
  }

  /**
   * Id handlers first (the owner of a channel hears about it before generic listeners, so a
   * handler added by a type listener does not get the same event twice), then type handlers.
   * A handler registered under two ids of one event is called once.
   */
  dispatch(event: RawEvent): void {
    const ids = mentionedIds(event);
    let first: Set<Handler> | undefined;
    let seen: Set<Handler> | undefined;
    for (const id of ids) {
      const handlers = this.byId.get(id);
      if (!handlers) continue;
      if (!first) {
        first = handlers;
        for (const h of [...handlers]) this.invoke(h, event);
        continue;
      }
      seen ??= new Set(first);
      for (const h of [...handlers]) {
        if (seen.has(h)) continue;
        seen.add(h);
        this.invoke(h, event);
      }
    }
    const typed = this.byType.get(event.type);
    if (typed) for (const h of [...typed]) this.invoke(h, event);
  }

  async fireConnected(info: { reconnect: boolean }): Promise<void> {
    await Promise.all(
      [...this.connected].map(async (h) => {
        try {
          await h(info);
        } catch (err) {
          this.onHandlerError();
          this.log.error({ err }, 'ARI onConnected handler failed');
        }
      }),
    );
  }

  private invoke(handler: Handler, event: RawEvent): void {
    try {
      const result = handler(event);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (err: unknown) => this.handlerFailed(err, event));
      }
    } catch (err) {
      this.handlerFailed(err, event);
    }
  }

  private handlerFailed(err: unknown, event: RawEvent): void {
    this.onHandlerError();
    this.log.error(
      { err, eventType: event.type, objectIds: mentionedIds(event) },
      'ARI event handler failed',
    );
  }
}
