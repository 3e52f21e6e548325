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
import { randomUUID } from 'node:crypto';
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
  /** the phone is switched off / not registered: hangs up with cause 20 (subscriber absent) */
  | { kind: 'unreachable' }
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
  /** the cause this phone was hung up with (the first real one; undefined while it lasts) */
  cause(): number | undefined;
  ended: Promise<void>;
  isEnded(): boolean;
  /** the phone answers */
  answer(): Promise<void>;
  /** DTMF from this phone into the call */
  press(digits: string): Promise<void>;
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
  private endCause: number | undefined;

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
  markEnded(cause?: number): void {
    this.ended = true;
    this.endCause ??= cause;
    this.upped.resolve();
    this.hungUp.resolve();
  }
  isEnded(): boolean {
    return this.ended;
  }
  /** the cause the caller's phone was hung up with (the first real one, not a soft 32) */
  cause(): number | undefined {
    return this.endCause;
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
  press(digits: string): Promise<void> {
    return this.world.sendDigits(this.id, digits);
  }
  /**
   * the caller talks: a prompt played into the call, heard (and recorded) by the other side;
   * resolves when it has been said
   */
  async speak(media = 'sound:pbx/vb-message-from'): Promise<void> {
    const playbackId = randomUUID();
    const said = this.world.playbackFinished(playbackId);
    await this.world.ari.channels.play({ channelId: this.id, media, playbackId });
    await said;
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
  private readonly legEnds = new Map<string, (cause: number | undefined) => void>();

  constructor(readonly ari: AriClient) {
    ari.events.on('StasisStart', (e) => void this.onStasisStart(e as unknown as AnyEvent));
    const end = (e: Record<string, unknown>) => {
      const id = (e.channel as ChannelJson | undefined)?.id;
      if (!id) return;
      // a soft request (a DELETE, the Local partner going) carries 32, not the cause
      const cause = e.soft || typeof e.cause !== 'number' ? undefined : e.cause;
      this.callers.get(id)?.markEnded(cause);
      this.legEnds.get(id)?.(cause);
    };
    // a connected-line update reaches the ;2 half of a Local leg as a caller ID change
    ari.events.on('ChannelCallerId', (e) => {
      const ch = e.channel as ChannelJson | undefined;
      const leg = this.legs.find((l) => l.channelId === ch?.id);
      if (leg && ch?.caller) leg.callerNumbers.push(ch.caller.number);
    });
    ari.events.on('PlaybackFinished', (e) => {
      this.playbackEnds.get((e.playback as { id: string }).id)?.();
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

  private readonly playbackEnds = new Map<string, () => void>();

  /** resolves when our playback `playbackId` has finished (however) */
  playbackFinished(playbackId: string, ms = 20_000): Promise<void> {
    const done = deferred<void>();
    this.playbackEnds.set(playbackId, () => done.resolve());
    return within(done.promise, ms, `playback ${playbackId}`).finally(() =>
      this.playbackEnds.delete(playbackId),
    );
  }

  /** DTMF into a call from one of our channels, one digit after the other */
  async sendDigits(channelId: string, digits: string): Promise<void> {
    await this.ari.channels.sendDTMF({ channelId, dtmf: digits, between: 150, duration: 100 });
  }

  /** an inbound call from `from` to `to`, entering the controller like a trunk call */
  call(from: string, to: string, context = 'e2e-trunk'): Promise<Caller> {
    return this.originate(to, context, { callerId: from });
  }

  /**
   * A desk phone of workplace `workplaceId` dials `dialled` (e.g. `*11`): through e2e-internal,
   * which makes the workplace id the channel's accountcode, as a provisioned PJSIP endpoint's
   * accountcode does (src/devices/pjsip-objects.ts); the controller tells devices by it.
   */
  deviceCall(workplaceId: string, dialled: string, callerId = ''): Promise<Caller> {
    return this.originate(dialled, 'e2e-internal', {
      callerId,
      variables: { E2E_ACCOUNTCODE: workplaceId },
    });
  }

  private async originate(
    exten: string,
    context: string,
    opts: { callerId: string; variables?: Record<string, string> },
  ): Promise<Caller> {
    const channel = (await this.ari.channels.originate({
      endpoint: `Local/${exten}@${context}`,
      app: this.ari.app,
      appArgs: 'caller',
      callerId: opts.callerId,
      timeout: 60,
      ...(opts.variables ? { variables: opts.variables } : {}),
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
    let cause: number | undefined;
    const endedSignal = deferred<void>();
    this.legEnds.set(channel.id, (c) => {
      ended = true;
      cause ??= c;
      endedSignal.resolve();
    });
    const leg: WorldLeg = {
      kind: args[0],
      target: args[1] ?? '',
      channelId: channel.id,
      name: channel.name,
      callerNumbers: [channel.caller?.number ?? ''],
      cause: () => cause,
      ended: endedSignal.promise,
      isEnded: () => ended,
      answer: () => this.ari.channels.answer({ channelId: channel.id }).then(() => undefined),
      press: (digits) => this.sendDigits(channel.id, digits),
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
      case 'unreachable':
        // as /work/shared/ari/traces/dial-unreachable.jsonl: the leg ends with cause 20
        await this.ari.channels.hangup({ channelId: leg.channelId, reason_code: '20' }).catch(ignoreGone);
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
  /**
   * every playback that ended, with how: `done`, or `failed` — a prompt file missing, or the
   * channel hung up while it played (Asterisk cuts the stream: test/ari-sim/traces/playback-failures.jsonl)
   */
  private readonly finished: Array<{ media: string; state: string; target: string; hungUp: boolean }> = [];
  /** channels of the controller's application that were asked to hang up, with the cause */
  private readonly hangups = new Map<string, number | undefined>();
  private readonly watchers: Array<() => void> = [];

  constructor(private readonly ari: AriClient) {
    ari.events.on('StasisStart', (e) => {
      const ch = e.channel as ChannelJson;
      this.idsByName.set(ch.name, ch.id);
      this.notify();
    });
    // a leg the controller originates enters Stasis only when answered: while it rings, its
    // Dial and state events name it
    const learn = (ch: ChannelJson | undefined) => {
      if (!ch?.name || this.idsByName.has(ch.name)) return;
      this.idsByName.set(ch.name, ch.id);
      this.notify();
    };
    ari.events.on('Dial', (e) => learn(e.peer as ChannelJson | undefined));
    ari.events.on('ChannelStateChange', (e) => learn(e.channel as ChannelJson | undefined));
    ari.events.on('PlaybackStarted', (e) => {
      const playback = e.playback as { target_uri: string; media_uri: string };
      const target = playback.target_uri.replace(/^channel:/, '');
      this.played.set(target, [...(this.played.get(target) ?? []), playback.media_uri]);
      this.notify();
    });
    ari.events.on('PlaybackFinished', (e) => {
      const playback = e.playback as { target_uri: string; media_uri: string; state: string };
      const target = playback.target_uri.replace(/^channel:/, '');
      this.finished.push({
        media: playback.media_uri,
        state: playback.state,
        target: playback.target_uri,
        hungUp: this.hangups.has(target),
      });
      this.notify();
    });
    ari.events.on('ChannelHangupRequest', (e) => {
      const id = (e.channel as ChannelJson).id;
      // a soft request (our DELETE, a Local partner) carries 32, not the cause: keep a real one
      if (!e.soft || !this.hangups.has(id)) this.hangups.set(id, e.soft ? undefined : (e.cause as number));
      this.notify();
    });
    ari.events.on('ChannelDestroyed', (e) => {
      this.destroyedCauses.set((e.channel as ChannelJson).id, e.cause as number);
      this.notify();
    });
    for (const type of ['RecordingStarted', 'RecordingFinished', 'RecordingFailed'] as const) {
      ari.events.on(type, (e) => {
        const rec = e.recording as { name: string; target_uri: string; state: string };
        this.recordings.set(rec.name, { target: rec.target_uri.replace(/^channel:/, ''), state: rec.state });
        this.notify();
      });
    }
  }

  /** recordings the controller made: name → channel and last state (recording, done, failed) */
  private readonly recordings = new Map<string, { target: string; state: string }>();

  /** waits until the controller records the channel; returns the recording's name */
  untilRecording(channelId: string, ms = 20_000): Promise<string> {
    return this.until(
      () => [...this.recordings].find(([, r]) => r.target === channelId && r.state === 'recording')?.[0],
      `a recording of ${channelId}`,
      ms,
    );
  }

  /** the last state a recording reported (undefined: never seen) */
  recordingState(name: string): string | undefined {
    return this.recordings.get(name)?.state;
  }

  private readonly destroyedCauses = new Map<string, number>();

  /**
   * playbacks that ended in another state than `done` while their channel was still there (a
   * missing prompt ends `failed`; one the caller hung up on ends `failed` too, and is no fault)
   */
  failedPlaybacks(): Array<{ media: string; state: string; target: string }> {
    return this.finished
      .filter((p) => p.state !== 'done' && !p.hungUp)
      .map(({ media, state, target }) => ({ media, state, target }));
  }

  /** true once a playback of `media` on the channel has finished `done` (the caller heard it all) */
  heardFully(channelId: string, media: string): boolean {
    return this.finished.some(
      (p) => p.target === `channel:${channelId}` && p.media === media && p.state === 'done',
    );
  }

  /** waits until the caller has heard `media` to its end */
  untilHeard(channelId: string, media: string, ms = 20_000): Promise<true> {
    return this.until(
      () => (this.heardFully(channelId, media) ? true : undefined),
      `${media} played out`,
      ms,
    );
  }

  /** the cause a channel of the controller's application was destroyed with (undefined: still there) */
  destroyedCause(channelId: string): number | undefined {
    return this.destroyedCauses.get(channelId);
  }

  /** waits for the channel's ChannelDestroyed and returns its cause */
  untilDestroyed(channelId: string, ms = 20_000): Promise<number> {
    return this.until(() => this.destroyedCauses.get(channelId), `channel ${channelId} destroyed`, ms);
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
