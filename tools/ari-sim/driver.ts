import type { DynamicConfig } from './dynconfig.js';
import type { EventHub } from './hub.js';
import type { Media } from './media.js';
import type { Chan, EndpointBehaviour } from './types.js';
import type { BoundedLog } from './util.js';
import type { World } from './world.js';

export interface SimChannel {
  id: string;
  name: string;
  endpoint?: string;
  state(): 'Down' | 'Ring' | 'Ringing' | 'Up' | 'Destroyed';
  isAlive(): boolean;
  answer(): Promise<void>;
  pressDigits(digits: string, gapMs?: number): Promise<void>;
  speak(ms: number): Promise<void>;
  hangup(cause?: number): Promise<void>;
  heard(): string[];
  bridgedWith(): string[];
  hangupCause(): number | undefined;
  waitForState(state: string, timeoutMs?: number): Promise<void>;
  waitForHangup(timeoutMs?: number): Promise<number>;
  waitForPlayback(media: string | RegExp, timeoutMs?: number): Promise<void>;
  variables(): Record<string, string>;
  callerNumber(): string;
}

export interface ScenarioDriver {
  placeCall(opts: {
    from: string;
    to: string;
    app?: string;
    args?: string[];
    name?: string;
  }): Promise<SimChannel>;
  setEndpointBehaviour(endpoint: string | RegExp, b: EndpointBehaviour): void;
  waitForChannel(endpoint: string | RegExp, timeoutMs?: number): Promise<SimChannel>;
  channel(id: string): SimChannel | undefined;
  channels(): SimChannel[];
  bridges(): Array<{ id: string; channelIds: string[] }>;
  storedRecordings(): Array<{ name: string; format: string; file: string; durationMs: number }>;
  dynamicConfig(): Map<string, Record<string, string>>;
  events(): Array<{ app: string; event: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  restLog(): Array<{ method: string; path: string; query: any; status: number }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  dropEventSockets(): void;
  /**
   * A device registers (REGISTER to the endpoint's AOR): ContactStatusChange (Reachable) then
   * EndpointStateChange (online), as Asterisk sends them to apps subscribed to the endpoint
   * (eventSource endpoint:PJSIP or endpoint:PJSIP/<resource>).
   */
  registerDevice(resource: string, contactUri?: string): void;
  /** The registration ends: ContactStatusChange (Removed) then EndpointStateChange (offline). */
  unregisterDevice(resource: string): void;
}

const DEFAULT_WAIT_MS = 5000;

function matches(pattern: string | RegExp, endpoint: string): boolean {
  return typeof pattern === 'string' ? pattern === endpoint : pattern.test(endpoint);
}

/** Resolves when `check()` holds, re-checked on every change of the channel; rejects after `timeoutMs` (real time). */
function waitOn(
  ch: Chan,
  what: string,
  check: () => boolean,
  timeoutMs: number,
  failOnDestroy = true,
): Promise<void> {
  const gone = () =>
    new Error(
      `ari-sim: channel ${ch.id} (${ch.name}) was destroyed (cause ${ch.cause}) while waiting for ${what}`,
    );
  if (check()) return Promise.resolve();
  if (failOnDestroy && ch.destroyed) return Promise.reject(gone());
  return new Promise((resolve, reject) => {
    const onChange = () => {
      if (check()) {
        cleanup();
        resolve();
      } else if (failOnDestroy && ch.destroyed) {
        cleanup();
        reject(gone());
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `ari-sim: channel ${ch.id} (${ch.name}): timed out after ${timeoutMs} ms waiting for ${what}`,
        ),
      );
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      ch.waiters.delete(onChange);
    };
    ch.waiters.add(onChange);
  });
}

export function createDriver(deps: {
  world: World;
  media: Media;
  hub: EventHub;
  dyn: DynamicConfig;
  restLog: BoundedLog<{ method: string; path: string; query: unknown; status: number }>;
}): ScenarioDriver {
  const { world, media, hub, dyn } = deps;
  const rules: Array<{ endpoint: string | RegExp; b: EndpointBehaviour }> = [];
  const wrappers = new WeakMap<Chan, SimChannel>();
  const unclaimed = new Set<Chan>(); // outbound channels nobody waited for yet (insertion-ordered, bounded)
  const waiters: Array<{ endpoint: string | RegExp; resolve: (ch: Chan) => void }> = [];

  world.behaviourFor = (endpoint) => {
    for (let i = rules.length - 1; i >= 0; i--) if (matches(rules[i]!.endpoint, endpoint)) return rules[i]!.b;
    // Asterisk cannot allocate a channel to a PJSIP endpoint it does not know (500 Allocation
    // failed; test/ari-sim/traces/rest-errors-controller.jsonl): one neither pushed through
    // dynamic configuration nor scripted here. `PJSIP/<number>@<trunk>` names a static endpoint.
    const device = /^PJSIP\/([^@/]+)$/.exec(endpoint)?.[1];
    if (device && !dyn.hasEndpoint(device)) return { kind: 'allocation-failure' };
    return { kind: 'noanswer' };
  };
  world.onOutbound = (ch) => {
    const idx = waiters.findIndex((w) => matches(w.endpoint, ch.endpoint));
    if (idx >= 0) waiters.splice(idx, 1)[0]!.resolve(ch);
    else {
      unclaimed.add(ch);
      if (unclaimed.size > 1000) unclaimed.delete(unclaimed.values().next().value!);
    }
  };

  const sleep = (simMs: number) => new Promise<void>((resolve) => world.after(undefined, simMs, resolve));

  const wrap = (ch: Chan): SimChannel => {
    let w = wrappers.get(ch);
    if (w) return w;
    w = {
      id: ch.id,
      name: ch.name,
      endpoint: ch.endpoint,
      state: () => (ch.destroyed ? 'Destroyed' : ch.state),
      isAlive: () => !ch.destroyed,
      answer: async () => {
        if (ch.destroyed) throw new Error(`ari-sim: cannot answer ${ch.id}: channel is gone`);
        world.farAnswer(ch);
      },
      pressDigits: async (digits, gapMs = 200) => {
        for (const digit of digits) {
          if (ch.destroyed) return;
          world.dtmfReceived(ch, digit, 100);
          if (gapMs > 0) await sleep(gapMs);
        }
      },
      speak: async (ms) => {
        media.speak(ch, ms);
        await sleep(ms);
      },
      hangup: async (cause = 16) => {
        if (!ch.destroyed) world.hangup(ch, cause, false);
      },
      heard: () => [...ch.heard],
      bridgedWith: () => (ch.bridge ? ch.bridge.channels.filter((c) => c !== ch).map((c) => c.id) : []),
      hangupCause: () => ch.cause,
      waitForState: (state, timeoutMs = DEFAULT_WAIT_MS) =>
        waitOn(
          ch,
          `state ${state}`,
          () => (state === 'Destroyed' ? ch.destroyed : ch.state === state && !ch.destroyed),
          timeoutMs,
          state !== 'Destroyed',
        ),
      waitForHangup: async (timeoutMs = DEFAULT_WAIT_MS) => {
        await waitOn(ch, 'hangup', () => ch.destroyed, timeoutMs, false);
        return ch.cause ?? 16;
      },
      waitForPlayback: (m, timeoutMs = DEFAULT_WAIT_MS) =>
        waitOn(ch, `playback of ${String(m)}`, () => ch.heard.some((h) => matches(m, h)), timeoutMs, false),
      variables: () => Object.fromEntries(ch.vars),
      // what the phone at this channel was shown: an outbound leg is invited with its connected
      // line (chan_pjsip's From/PAI; the trunk sends no later updates: send_connected_line = no)
      callerNumber: () =>
        ch.outbound && ch.tech !== 'Local' ? (ch.dialledAs ?? ch.connected).number : ch.caller.number,
    };
    wrappers.set(ch, w);
    return w;
  };

  return {
    async placeCall(opts) {
      const ch = world.placeInbound({
        from: opts.from,
        to: opts.to,
        app: opts.app ?? 'pbx',
        args: opts.args ?? ['inbound'],
        name: opts.name,
      });
      return wrap(ch);
    },
    setEndpointBehaviour(endpoint, b) {
      rules.push({ endpoint, b });
    },
    waitForChannel(endpoint, timeoutMs = DEFAULT_WAIT_MS) {
      for (const c of unclaimed) {
        if (!matches(endpoint, c.endpoint)) continue;
        unclaimed.delete(c);
        return Promise.resolve(wrap(c));
      }
      return new Promise((resolve, reject) => {
        const entry = {
          endpoint,
          resolve: (ch: Chan) => {
            clearTimeout(timer);
            resolve(wrap(ch));
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(entry);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`ari-sim: no channel for endpoint ${String(endpoint)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(entry);
      });
    },
    channel(id) {
      const ch = world.channels.get(id) ?? world.destroyed.get(id);
      return ch ? wrap(ch) : undefined;
    },
    channels: () => [...world.channels.values()].map(wrap),
    bridges: () =>
      [...world.bridges.byId.values()].map((b) => ({ id: b.id, channelIds: b.channels.map((c) => c.id) })),
    storedRecordings: () =>
      [...media.stored.values()].map((s) => ({
        name: s.name,
        format: s.format,
        file: s.file,
        durationMs: s.durationMs,
      })),
    dynamicConfig: () => dyn.objects,
    events: () => hub.log.all(),
    restLog: () => deps.restLog.all(),
    dropEventSockets: () => hub.dropSockets(),
    registerDevice(resource, contactUri = `sip:${resource}@192.0.2.10:5060`) {
      dyn.contacts.set(resource, contactUri);
      endpointEvents(resource, contactUri, 'Reachable');
    },
    unregisterDevice(resource) {
      const uri = dyn.contacts.get(resource);
      if (uri === undefined) return;
      dyn.contacts.delete(resource);
      endpointEvents(resource, uri, 'Removed');
    },
  };

  /** To every app subscribed to the endpoint (or its technology), and subscribeAll apps. */
  function endpointEvents(resource: string, uri: string, status: 'Reachable' | 'Removed'): void {
    const subs = [...hub.apps.values()]
      .filter((a) => a.endpointIds.has('PJSIP') || a.endpointIds.has(`PJSIP/${resource}`))
      .map((a) => a.name);
    const endpoint = dyn.endpointJson(resource);
    for (const app of hub.targets(subs)) {
      hub.send(app, 'ContactStatusChange', {
        endpoint,
        contact_info: {
          uri,
          contact_status: status,
          aor: resource,
          ...(status === 'Reachable' ? { roundtrip_usec: '1520' } : {}),
        },
      });
      hub.send(app, 'EndpointStateChange', { endpoint });
    }
  }
}
