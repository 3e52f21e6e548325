import type { WebSocket } from 'ws';
import { asteriskTimestamp, BoundedLog } from './util.js';

export const ASTERISK_ID = '02:fc:00:00:00:01';

/** A Stasis application: known once a WebSocket registered it; stays known (with its channels) after the socket closes. */
export interface StasisApp {
  name: string;
  socket?: WebSocket;
  channelIds: Set<string>;
  bridgeIds: Set<string>;
  endpointIds: Set<string>;
  deviceNames: Set<string>;
  /** PUT /applications/{app}/eventFilter: `type`s; an empty allowed list allows everything */
  eventsAllowed: string[];
  eventsDisallowed: string[];
}

/**
 * Asterisk's rule (res/stasis/app.c stasis_app_event_allowed): not in the disallowed list, and
 * in the allowed list unless that list is empty. Checked when an event is written to the
 * socket (res/ari/ari_websockets.c), so a filtered event is never sent (the log keeps it, marked).
 */
export function eventAllowed(
  app: Pick<StasisApp, 'eventsAllowed' | 'eventsDisallowed'>,
  type: string,
): boolean {
  if (app.eventsDisallowed.includes(type)) return false;
  return app.eventsAllowed.length === 0 || app.eventsAllowed.includes(type);
}

export interface LoggedEvent {
  app: string;
  event: Record<string, unknown>;
  /** generated but not sent: the app's event filter keeps this type off its socket */
  filtered?: true;
}

/** Delivers events to applications' WebSockets and keeps the event log the driver exposes. */
export class EventHub {
  readonly apps = new Map<string, StasisApp>();
  readonly log: BoundedLog<LoggedEvent>;
  /** Apps connected with subscribeAll=true: they hear every channel/bridge/playback/recording event. */
  readonly subscribeAll = new Set<string>();

  constructor(logLimit: number) {
    this.log = new BoundedLog(logLimit);
  }

  app(name: string): StasisApp {
    let app = this.apps.get(name);
    if (!app) {
      app = {
        name,
        channelIds: new Set(),
        bridgeIds: new Set(),
        endpointIds: new Set(),
        deviceNames: new Set(),
        eventsAllowed: [],
        eventsDisallowed: [],
      };
      this.apps.set(name, app);
    }
    return app;
  }

  /** True when a socket is connected for the app (Stasis() into it can succeed). */
  isActive(name: string): boolean {
    return this.apps.get(name)?.socket !== undefined;
  }

  /** The apps an event about an object goes to: its subscribers plus subscribeAll apps. */
  targets(subs: Iterable<string>): Iterable<string> {
    if (this.subscribeAll.size === 0) return subs;
    const all = new Set(subs);
    for (const app of this.subscribeAll) if (this.apps.get(app)?.socket) all.add(app);
    return all;
  }

  attach(names: string[], socket: WebSocket, subscribeAll = false): void {
    for (const name of names) {
      if (subscribeAll) this.subscribeAll.add(name);
      else this.subscribeAll.delete(name);
      const app = this.app(name);
      const old = app.socket;
      if (old && old !== socket) {
        this.sendRaw(old, name, { type: 'ApplicationReplaced' });
        old.close(1000, 'application replaced');
      }
      app.socket = socket;
    }
    socket.on('close', () => {
      for (const name of names) {
        const app = this.apps.get(name);
        if (app?.socket === socket) app.socket = undefined;
      }
    });
  }

  /** Sends `{type, timestamp, ...fields, asterisk_id, application}` to one app. */
  send(appName: string, type: string, fields: Record<string, unknown>): void {
    const event = {
      type,
      timestamp: asteriskTimestamp(),
      ...fields,
      asterisk_id: ASTERISK_ID,
      application: appName,
    };
    // the log stays "what Asterisk generated" (tests observe calls through it)
    const app = this.apps.get(appName);
    if (app && !eventAllowed(app, type)) {
      this.log.push({ app: appName, event, filtered: true });
      return;
    }
    this.log.push({ app: appName, event });
    const socket = this.apps.get(appName)?.socket;
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(event));
  }

  private sendRaw(socket: WebSocket, appName: string, fields: Record<string, unknown>): void {
    const event = {
      ...fields,
      timestamp: asteriskTimestamp(),
      asterisk_id: ASTERISK_ID,
      application: appName,
    };
    const app = this.apps.get(appName);
    if (app && typeof fields.type === 'string' && !eventAllowed(app, fields.type)) {
      this.log.push({ app: appName, event, filtered: true });
      return;
    }
    this.log.push({ app: appName, event });
    if (socket.readyState === 1) socket.send(JSON.stringify(event));
  }

  dropSockets(): void {
    const sockets = new Set<WebSocket>();
    for (const app of this.apps.values()) if (app.socket) sockets.add(app.socket);
    for (const s of sockets) s.terminate();
    for (const app of this.apps.values()) app.socket = undefined;
  }

  appJson(app: StasisApp): Record<string, unknown> {
    return {
      name: app.name,
      channel_ids: [...app.channelIds],
      bridge_ids: [...app.bridgeIds],
      endpoint_ids: [...app.endpointIds],
      device_names: [...app.deviceNames],
      events_allowed: app.eventsAllowed.map((type) => ({ type })),
      events_disallowed: app.eventsDisallowed.map((type) => ({ type })),
    };
  }
}
