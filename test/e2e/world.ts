/**
 * The outside world of the e2e suite, played by its own Stasis application `e2eworld` over
 * plain ARI (so the same code runs against a real Asterisk and the ARI simulator):
 * - callers: Local/<called>@e2e-trunk originated into e2eworld — the ;2 half enters the
 *   controller under test like a trunk call, the ;1 half is the caller we hold;
 * - phones and mobiles: the ;2 halves of the legs the controller creates with
 *   Local/{endpoint}@e2e-devices and Local/{number}@e2e-pstn enter e2eworld with args
 *   (device|pstn, <endpoint|number>) and do what the test scripted (answer, ring, busy).
 * `PbxObserver` watches the controller's own application events (what it played to which
 * channel, which bridges) without interfering.
 */
import type { AriClient } from '../../src/ari/client.js';

type AnyEvent = Record<string, unknown> & { type: string };
interface ChannelJson {
  id: string;
  name: string;
  state: string;
  caller?: { number: string };
}

export type LegBehaviour =
  | { kind: 'answer'; afterMs?: number }
  | { kind: 'busy'; afterMs?: number }
  | { kind: 'ring' }
  | { kind: 'script'; run: (leg: WorldLeg) => Promise<void> };

export interface WorldLeg {
  kind: 'device' | 'pstn';
  /** SIP username (device) or dialled number (pstn) */
  target: string;
  channelId: string;
  name: string;
  /** every caller number this phone was shown, in order: at ringing, then any update (e.g. on answer) */
  callerNumbers: string[];
  ended: Promise<void>;
  isEnded(): boolean;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise with its resolve, for events that may come before or after we wait. */
function deferred<T>() {
  let resolveFn!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolveFn = r));
  return { promise, resolve: resolveFn };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class Caller {
  private readonly upped = deferred<void>();
  private readonly hungUp = deferred<void>();
  private ended = false;

  constructor(
    private readonly world: OutsideWorld,
    readonly id: string,
    readonly name: string,
  ) {}

  /** the name of the controller-side half (the ;2 of our Local channel) */
  get pbxName(): string {
    return this.name.replace(/;1$/, ';2');
  }

  markUp(): void {
    this.upped.resolve();
  }
  markEnded(): void {
    this.ended = true;
    this.upped.resolve();
    this.hungUp.resolve();
  }
  isEnded(): boolean {
    return this.ended;
  }
  waitUp(ms = 20_000): Promise<void> {
    return within(this.upped.promise, ms, `caller ${this.name} answered`);
  }
  /** events about a channel that never entered Stasis may not reach us: ARI is asked too */
  waitEnded(ms = 20_000): Promise<void> {
    const poll = setInterval(() => {
      this.world.ari.channels.get({ channelId: this.id }).catch(() => this.markEnded());
    }, 300);
    return within(this.hungUp.promise, ms, `caller ${this.name} hung up`).finally(() => clearInterval(poll));
  }
  /** DTMF from the caller's phone, one digit after the other */
  async press(digits: string): Promise<void> {
    await this.world.ari.channels.sendDTMF({ channelId: this.id, dtmf: digits, between: 150, duration: 100 });
  }
  /** the caller talks: a prompt played into the call, heard (and recorded) by the other side */
  async speak(media = 'sound:pbx/vb-message-from'): Promise<void> {
    await this.world.ari.channels.play({ channelId: this.id, media });
  }
  async hangup(): Promise<void> {
    await this.world.ari.channels.hangup({ channelId: this.id }).catch(() => undefined);
  }
}

export class OutsideWorld {
  private readonly behaviours = new Map<string, LegBehaviour>();
  private readonly legs: WorldLeg[] = [];
  private readonly legWaiters: Array<{ match: (l: WorldLeg) => boolean; resolve: (l: WorldLeg) => void }> =
    [];
  private readonly callers = new Map<string, Caller>();
  private readonly legEnds = new Map<string, () => void>();

  constructor(readonly ari: AriClient) {
    ari.events.on('StasisStart', (e) => void this.onStasisStart(e as unknown as AnyEvent));
    const end = (e: Record<string, unknown>) => {
      const id = (e.channel as ChannelJson | undefined)?.id;
      if (!id) return;
      this.callers.get(id)?.markEnded();
      this.legEnds.get(id)?.();
    };
    // a connected-line update reaches the ;2 half of a Local leg as a caller ID change
    ari.events.on('ChannelCallerId', (e) => {
      const ch = e.channel as ChannelJson | undefined;
      const leg = this.legs.find((l) => l.channelId === ch?.id);
      if (leg && ch?.caller) leg.callerNumbers.push(ch.caller.number);
    });
    ari.events.on('StasisEnd', end);
    ari.events.on('ChannelDestroyed', end);
    ari.events.on('ChannelHangupRequest', end);
  }

  /** what the phone or mobile does when the controller rings it */
  setBehaviour(kind: 'device' | 'pstn', target: string, behaviour: LegBehaviour): void {
    this.behaviours.set(`${kind}:${target}`, behaviour);
  }

  allLegs(): WorldLeg[] {
    return [...this.legs];
  }

  waitForLeg(kind: 'device' | 'pstn', target: string, ms = 20_000): Promise<WorldLeg> {
    const match = (l: WorldLeg) => l.kind === kind && l.target === target;
    const found = this.legs.find(match);
    if (found) return Promise.resolve(found);
    return within(
      new Promise<WorldLeg>((resolve) => this.legWaiters.push({ match, resolve })),
      ms,
      `${kind} leg for ${target}`,
    );
  }

  /** an inbound call from `from` to `to`, entering the controller like a trunk call */
  async call(from: string, to: string, context = 'e2e-trunk'): Promise<Caller> {
    const channel = (await this.ari.channels.originate({
      endpoint: `Local/${to}@${context}`,
      app: this.ari.app,
      appArgs: 'caller',
      callerId: from,
      timeout: 60,
    })) as unknown as ChannelJson;
    const caller = new Caller(this, channel.id, channel.name);
    this.callers.set(channel.id, caller);
    return caller;
  }

  private async onStasisStart(e: AnyEvent): Promise<void> {
    const channel = e.channel as ChannelJson;
    const args = (e.args as string[] | undefined) ?? [];
    if (args[0] === 'caller') {
      this.callers.get(channel.id)?.markUp();
      return;
    }
    if (args[0] !== 'device' && args[0] !== 'pstn') return;
    let ended = false;
    const endedSignal = deferred<void>();
    this.legEnds.set(channel.id, () => {
      ended = true;
      endedSignal.resolve();
    });
    const leg: WorldLeg = {
      kind: args[0],
      target: args[1] ?? '',
      channelId: channel.id,
      name: channel.name,
      callerNumbers: [channel.caller?.number ?? ''],
      ended: endedSignal.promise,
      isEnded: () => ended,
    };
    this.legs.push(leg);
    for (let i = this.legWaiters.length - 1; i >= 0; i--) {
      const w = this.legWaiters[i]!;
      if (w.match(leg)) {
        this.legWaiters.splice(i, 1);
        w.resolve(leg);
      }
    }
    const behaviour = this.behaviours.get(`${leg.kind}:${leg.target}`) ?? { kind: 'ring' };
    const ignoreGone = () => undefined;
    switch (behaviour.kind) {
      case 'ring':
        await this.ari.channels.ring({ channelId: leg.channelId }).catch(ignoreGone);
        return;
      case 'answer':
        await this.ari.channels.ring({ channelId: leg.channelId }).catch(ignoreGone);
        if (behaviour.afterMs) await delay(behaviour.afterMs);
        await this.ari.channels.answer({ channelId: leg.channelId }).catch(ignoreGone);
        return;
      case 'busy':
        if (behaviour.afterMs) await delay(behaviour.afterMs);
        await this.ari.channels.hangup({ channelId: leg.channelId, reason: 'busy' }).catch(ignoreGone);
        return;
      case 'script':
        await behaviour.run(leg);
        return;
    }
  }
}

/** Watches the controller's application: channel names → ids, playbacks per channel, bridges. */
export class PbxObserver {
  private readonly idsByName = new Map<string, string>();
  private readonly played = new Map<string, string[]>();
  /** every playback that ended, with how: `done`, or `failed` (e.g. a prompt file missing) */
  private readonly finished: Array<{ media: string; state: string; target: string }> = [];
  private readonly hungUp = new Set<string>();
  private readonly watchers: Array<() => void> = [];

  constructor(private readonly ari: AriClient) {
    ari.events.on('StasisStart', (e) => {
      const ch = e.channel as ChannelJson;
      this.idsByName.set(ch.name, ch.id);
      this.notify();
    });
    ari.events.on('PlaybackStarted', (e) => {
      const playback = e.playback as { target_uri: string; media_uri: string };
      const target = playback.target_uri.replace(/^channel:/, '');
      this.played.set(target, [...(this.played.get(target) ?? []), playback.media_uri]);
      this.notify();
    });
    ari.events.on('ChannelHangupRequest', (e) => {
      this.hungUp.add((e.channel as ChannelJson).id);
    });
    ari.events.on('PlaybackFinished', (e) => {
      const playback = e.playback as { target_uri: string; media_uri: string; state: string };
      const channelId = playback.target_uri.replace(/^channel:/, '');
      // Asterisk ends a playback `failed` when the file is missing — and also when the caller
      // hangs up while it plays (res_stasis_playback): only the first kind is a defect
      const interrupted = playback.state === 'failed' && this.hungUp.has(channelId);
      this.finished.push({
        media: playback.media_uri,
        state: interrupted ? 'interrupted by hangup' : playback.state,
        target: playback.target_uri,
      });
      this.notify();
    });
  }

  /** playbacks that failed on a channel that was still up (a missing prompt ends `failed`) */
  failedPlaybacks(): Array<{ media: string; state: string; target: string }> {
    return this.finished.filter((p) => p.state !== 'done' && p.state !== 'interrupted by hangup');
  }

  /** media URIs of every playback the controller started, over all channels */
  allPlayed(): string[] {
    return [...this.played.values()].flat();
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }

  /** resolves when `check` returns a value (re-checked on every observed event and every 200 ms) */
  until<T>(check: () => T | undefined | Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
    return within(
      new Promise<T>((resolve) => {
        let done = false;
        const attempt = async () => {
          if (done) return;
          const v = await check();
          if (v !== undefined && !done) {
            done = true;
            this.watchers.splice(this.watchers.indexOf(attempt), 1);
            clearInterval(timer);
            resolve(v);
          }
        };
        const timer = setInterval(() => void attempt(), 200);
        this.watchers.push(attempt);
        void attempt();
      }),
      ms,
      what,
    );
  }

  channelId(name: string): string | undefined {
    return this.idsByName.get(name);
  }

  /** ids of channels that entered the controller's application with a name starting so */
  channelIdsByPrefix(prefix: string): string[] {
    return [...this.idsByName].filter(([name]) => name.startsWith(prefix)).map(([, id]) => id);
  }

  /** media URIs the controller started playing on this channel, in order */
  heard(channelId: string): string[] {
    return this.played.get(channelId) ?? [];
  }

  /** ids of the channels sharing a bridge with `channelId` (from ARI, not from events) */
  async bridgedWith(channelId: string): Promise<string[]> {
    const bridges = (await this.ari.bridges.list()) as unknown as Array<{ id: string; channels: string[] }>;
    const bridge = bridges.find((b) => b.channels.includes(channelId));
    return bridge ? bridge.channels.filter((c) => c !== channelId) : [];
  }

  async channelExists(channelId: string): Promise<boolean> {
    try {
      await this.ari.channels.get({ channelId });
      return true;
    } catch {
      return false;
    }
  }
}
