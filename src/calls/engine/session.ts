/**
 * A CallSession wraps ONE caller channel in a narrow vocabulary — answer, ringback, play,
 * collect digits, dial legs, bridge, record, hang up — so flows read like the seed's own
 * description of the feature.
 *
 * Cancellation: the caller's hangup (ChannelHangupRequest / StasisEnd / ChannelDestroyed)
 * aborts `signal`, and every pending await of the session rejects with CallEnded. Flows never
 * check flags; the router catches CallEnded at the top.
 *
 * Type-ahead: DTMF digits arriving while nobody collects are buffered; a prompt is skipped (or
 * stopped) by the first digit, and that digit counts as input.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isNotFound, type AriClient, type Unsubscribe } from '../../ari/index.js';
import {
  CAUSE,
  combineLegFailures,
  legFailureOfCause,
  type LegFailure,
  type RingFailure,
} from '../../domain/ring-plan.js';
import { promptMedia } from './prompts.js';
import type { Timing } from './timing.js';

/** Every pending await of a session rejects with this once the caller is gone. */
export class CallEnded extends Error {
  constructor(
    readonly channelId: string,
    override readonly cause: number | undefined,
  ) {
    super(`call ${channelId} ended${cause !== undefined ? ` (cause ${cause})` : ''}`);
    this.name = 'CallEnded';
  }
}

export function isCallEnded(err: unknown): err is CallEnded {
  return err instanceof CallEnded;
}

type AriEvent = { type: string } & Record<string, unknown>;

/** The ARI surface the call layer uses (the real client satisfies it). */
export type CallAri = Pick<
  AriClient,
  'app' | 'channels' | 'bridges' | 'playbacks' | 'recordings' | 'applications' | 'asterisk'
> & {
  events: Pick<AriClient['events'], 'route' | 'on' | 'onConnected'>;
};

/** What the session needs to know about the channel that entered Stasis. */
export interface CallerChannel {
  id: string;
  name?: string;
  caller?: { number?: string; name?: string };
  dialplan?: { exten?: string };
  language?: string;
}

/** Ownership book of the controller: channels and bridges that live sessions still use. */
export interface Ownership {
  claim(id: string): void;
  release(id: string): void;
}

/**
 * One call's use of a bridge (connected/bridge-pool.ts hands them out): the session asks for
 * one through SessionDeps.bridges and never knows the pool.
 */
export interface BridgeLease {
  readonly id: string;
  /** resolves once the bridge exists in Asterisk (at once for a reused one) */
  readonly ready: Promise<void>;
  /**
   * Call BEFORE asking Asterisk to add the channels: from now on they count as in the bridge
   * until they are seen to end, whatever the addChannel request answers.
   */
  adding(channelIds: readonly string[]): void;
  /** The call is over: the bridge returns to the pool once every channel is out of it. */
  release(): void;
  /** Destroys the bridge now, never to be reused (e.g. after its call moved to another bridge). */
  discard(): Promise<void>;
}

export interface SessionDeps {
  ari: CallAri;
  logger: Logger;
  timing: Timing;
  ownership?: Ownership;
  /** reused bridges (bridge-pool.ts); without it every bridge is created for its call */
  bridges?: { lease(): BridgeLease };
  /** called once when the call's set-up is over: answered, every leg dialled, or ended (admission) */
  onSetUp?: () => void;
}

export interface PlayOptions {
  lang?: string;
}

export interface CollectOptions {
  max: number;
  /** ends the entry; not part of the result (default '#') */
  terminator?: string;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
  /** played first; a digit pressed during it stops it and counts */
  prompt?: { media: string[]; lang?: string };
}

export interface DialLegSpec {
  endpoint: string;
  /** answered leg must press 1 (answer confirmation of external legs) */
  confirm?: boolean;
  /** dialled this long after the others, within the same ring time ("ring my mobile after 10 s") */
  delaySeconds?: number;
}

/**
 * Who the called party sees. Asterisk shows a dialled leg its *connected line* (chan_pjsip
 * sends it as From / P-Asserted-Identity; a Local channel's ;2 half gets it as caller ID).
 * - `caller`: the calling channel's identity, copied by Asterisk when the dial names the
 *   caller (res/ari/resource_channels.c) — ringing and forwarding show the original caller;
 * - `own`: an identity of ours (the workplace's number; undefined = presented anonymously)
 *   set as the leg's connected line at create, and the dial does NOT name the caller, which
 *   would overwrite it — call-through and outgoing calls show the business number.
 */
export type PresentedIdentity = { kind: 'caller' } | { kind: 'own'; number: string | undefined };

/** The channel variables that give a leg our own identity (`,i`: set it, send no update yet). */
export function ownIdentityVariables(number: string | undefined): Record<string, string> {
  if (number === undefined) {
    return {
      'CONNECTEDLINE(name,i)': 'Anonymous',
      'CONNECTEDLINE(num,i)': '',
      'CONNECTEDLINE(pres,i)': 'prohib',
    };
  }
  return { 'CONNECTEDLINE(num,i)': number };
}

export interface DialOptions {
  timeoutSeconds: number;
  /** what the called party sees (default: the caller's own identity) */
  present?: PresentedIdentity;
  /** cancels the attempt: every leg is hung up and dialLegs rejects with the signal's reason */
  signal?: AbortSignal;
  /** language of the confirmation prompt on confirming legs */
  lang?: string;
  /** channel variables every leg is created with (part of the create request: no extra one) */
  variables?: Record<string, string>;
}

/** The leg that won, still routed so the flow learns when it hangs up. */
export interface AnsweredLeg<T extends DialLegSpec = DialLegSpec> {
  spec: T;
  channelId: string;
  /** resolves with the hangup cause when the leg ends */
  ended: Promise<number>;
  /** the variables it was created with (DialOptions.variables) */
  variables: Readonly<Record<string, string>>;
}

export type DialResult<T extends DialLegSpec = DialLegSpec> =
  { kind: 'answered'; leg: AnsweredLeg<T> } | { kind: RingFailure; causes: number[] };

export interface RecordOptions {
  name: string;
  maxSeconds: number;
  maxSilenceSeconds: number;
  terminateOn?: '#' | '*' | 'any' | 'none';
  beep?: boolean;
}

export interface RecordResult {
  name: string;
  durationSeconds: number;
  /** true when the caller hung up during the recording (the recording is kept) */
  callerHungUp: boolean;
  /** false when Asterisk reported a failed recording */
  ok: boolean;
}

const MAX_BUFFERED_DIGITS = 32;

/** Asterisk's own originate timeout sits this far behind ours (a backstop, never the cause). */
const ORIGINATE_BACKSTOP_SECONDS = 5;

/** Events that end a channel from the application's point of view. */
function endingCause(event: AriEvent): { ended: boolean; cause?: number } {
  switch (event.type) {
    case 'ChannelHangupRequest':
      // a soft request (our own DELETE, or a Local channel's partner) carries 32, not the real cause
      return { ended: true, cause: event.soft ? undefined : (event.cause as number | undefined) };
    case 'ChannelDestroyed':
      return { ended: true, cause: event.cause as number | undefined };
    case 'StasisEnd':
      return { ended: true };
    default:
      return { ended: false };
  }
}

export class CallSession {
  readonly channelId: string;
  readonly callerNumber: string;
  /** the caller's identity as an originate `callerId` ("name" <number>), '' when it has none */
  readonly callerId: string;
  readonly calledExten: string;
  readonly channelName: string;
  readonly log: Logger;
  private readonly ari: CallAri;
  private readonly timing: Timing;
  private readonly ownership: Ownership | undefined;
  private readonly abort = new AbortController();
  private readonly unrouteCaller: Unsubscribe;
  private digits = '';
  private digitListener: ((digit: string) => void) | undefined;
  private endCause: number | undefined;
  private answered = false;
  private ringing: Promise<void> | undefined;
  private closed = false;
  private detached = false;
  /**
   * Set while the call is in a state the next controller re-adopts (talking through a bridge,
   * recording a voicebox message): a graceful shutdown leaves such a call to Asterisk.
   */
  keepOnHandOver = false;
  /** channels (legs) and bridges this session created and must release */
  private readonly ownedChannels = new Set<string>();
  private readonly ownedBridges = new Set<string>();
  private readonly leases = new Map<string, BridgeLease>();
  private readonly bridges: SessionDeps['bridges'];
  private readonly endedWaiters = new Set<() => void>();
  private onSetUp: (() => void) | undefined;

  constructor(channel: CallerChannel, deps: SessionDeps) {
    this.channelId = channel.id;
    this.callerNumber = channel.caller?.number ?? '';
    const callerName = channel.caller?.name ?? '';
    this.callerId = this.callerNumber
      ? callerName
        ? `"${callerName.replace(/"/g, '')}" <${this.callerNumber}>`
        : this.callerNumber
      : '';
    this.calledExten = channel.dialplan?.exten ?? '';
    this.channelName = channel.name ?? '';
    this.ari = deps.ari;
    this.timing = deps.timing;
    this.ownership = deps.ownership;
    this.bridges = deps.bridges;
    this.onSetUp = deps.onSetUp;
    this.log = deps.logger.child({ call: channel.id });
    this.ownership?.claim(this.channelId);
    this.unrouteCaller = this.ari.events.route(this.channelId, (event) =>
      this.onCallerEvent(event as AriEvent),
    );
  }

  /** aborted when the caller hangs up (or the session is closed) */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** the caller's hangup cause, once known */
  get hangupCause(): number | undefined {
    return this.endCause;
  }

  get isEnded(): boolean {
    return this.abort.signal.aborted;
  }

  get timings(): Timing {
    return this.timing;
  }

  // ---------------------------------------------------------------- caller events

  private onCallerEvent(event: AriEvent): void {
    if (event.type === 'ChannelDtmfReceived') {
      const digit = event.digit as string;
      if (this.digitListener) this.digitListener(digit);
      else if (this.digits.length < MAX_BUFFERED_DIGITS) this.digits += digit;
      return;
    }
    const { ended, cause } = endingCause(event);
    if (ended) this.markEnded(cause);
  }

  /** The channel is known to be gone (e.g. missing after an event-socket reconnect). */
  channelGone(): void {
    this.markEnded(undefined);
  }

  private markEnded(cause: number | undefined): void {
    if (cause !== undefined && this.endCause === undefined) this.endCause = cause;
    if (this.abort.signal.aborted) return;
    this.log.debug({ cause }, 'caller gone');
    this.abort.abort(new CallEnded(this.channelId, cause));
    for (const waiter of this.endedWaiters) waiter();
    this.endedWaiters.clear();
  }

  private endedError(): CallEnded {
    return new CallEnded(this.channelId, this.endCause);
  }

  /**
   * The one place that turns "caller gone" into rejections: `setup` registers listeners and
   * returns their cleanup, which runs exactly once however the wait ends.
   */
  private wait<T>(setup: (resolve: (v: T) => void, reject: (e: unknown) => void) => () => void): Promise<T> {
    if (this.abort.signal.aborted) return Promise.reject(this.endedError());
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      // setup may settle synchronously, before its cleanup is known: hence the holder
      const held: { cleanup?: () => void } = {};
      const finish = () => {
        settled = true;
        this.abort.signal.removeEventListener('abort', onAbort);
        held.cleanup?.();
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        reject(this.endedError());
      };
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      held.cleanup = setup(
        (v) => {
          if (settled) return;
          finish();
          resolve(v);
        },
        (e) => {
          if (settled) return;
          finish();
          reject(e);
        },
      );
      if (settled) held.cleanup();
    });
  }

  /** Awaits a REST call on the caller channel; a 404 means the caller is gone. */
  private async onCaller<T>(op: () => Promise<T>): Promise<T> {
    if (this.abort.signal.aborted) throw this.endedError();
    try {
      return await this.guard(op());
    } catch (err) {
      if (isNotFound(err)) {
        this.markEnded(undefined);
        throw this.endedError();
      }
      throw err;
    }
  }

  /** Rejects with CallEnded as soon as the caller is gone, whatever `p` does. */
  guard<T>(p: Promise<T>): Promise<T> {
    p.catch(() => {}); // settled later after an abort: nobody listens any more
    return this.wait<T>((resolve, reject) => {
      p.then(resolve, reject);
      return () => {};
    });
  }

  /** Resolves after `ms`; rejects with CallEnded when the caller hangs up meanwhile. */
  sleep(ms: number): Promise<void> {
    return this.wait<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      return () => clearTimeout(timer);
    });
  }

  /** Resolves once the caller is gone (never rejects). */
  untilEnded(): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.endedWaiters.add(resolve));
  }

  // ---------------------------------------------------------------- basic verbs

  async answer(): Promise<void> {
    if (this.answered) return;
    // a ringing indication still in flight must reach Asterisk before the answer does (two
    // requests on two pool connections may otherwise overtake each other)
    if (this.ringing) await this.ringing.catch(() => {});
    await this.onCaller(() => this.ari.channels.answer({ channelId: this.channelId }));
    this.answered = true;
    this.markSetUp();
  }

  /** The set-up of this call is over (admission control counts set-ups in flight). */
  markSetUp(): void {
    const done = this.onSetUp;
    this.onSetUp = undefined;
    done?.();
  }

  /** The caller was answered before this session existed (a re-adopted call). */
  markAnswered(): void {
    this.answered = true;
  }

  /**
   * The caller hears ringing (before answer). Flows need not wait for it: the legs can be
   * dialled meanwhile, and answer() waits for it.
   */
  ringback(): Promise<void> {
    const p = this.onCaller(() => this.ari.channels.ring({ channelId: this.channelId }));
    this.ringing = p;
    return p;
  }

  /** Hangs up the caller (idempotent; a caller already gone is fine). */
  async hangup(cause: number = CAUSE.normal): Promise<void> {
    if (this.abort.signal.aborted) return;
    try {
      await this.ari.channels.hangup({ channelId: this.channelId, reason_code: String(cause) });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.endCause ??= cause;
    this.markEnded(cause);
  }

  // ---------------------------------------------------------------- media and digits

  /** Takes the oldest buffered digit, if any. */
  private takeDigit(): string | undefined {
    if (this.digits === '') return undefined;
    const d = this.digits[0]!;
    this.digits = this.digits.slice(1);
    return d;
  }

  /** Forgets type-ahead (e.g. the '#' that ended a recording). */
  clearDigits(): void {
    this.digits = '';
  }

  /**
   * Plays the media in order. The first digit (already buffered, or pressed while playing)
   * stops the prompt and is returned — it counts as the caller's input.
   */
  async play(media: readonly string[], opts: PlayOptions = {}): Promise<string | undefined> {
    for (const item of media) {
      const buffered = this.takeDigit();
      if (buffered !== undefined) return buffered;
      const digit = await this.playOne(item, opts.lang);
      if (digit !== undefined) return digit;
    }
    return undefined;
  }

  private playOne(media: string, lang: string | undefined): Promise<string | undefined> {
    const playbackId = randomUUID();
    return this.wait<string | undefined>((resolve, reject) => {
      const unroute = this.ari.events.route(playbackId, (event) => {
        const type = (event as AriEvent).type;
        if (type === 'PlaybackFinished' || type === 'PlaybackFailed') resolve(undefined);
      });
      const request = this.ari.channels.play({ channelId: this.channelId, media, lang, playbackId });
      request.catch((err: unknown) => {
        if (isNotFound(err)) this.markEnded(undefined);
        reject(err);
      });
      this.digitListener = (digit) => {
        // stop only once the playback exists; a stop racing the play request would 404
        request.then(() => this.ari.playbacks.stop({ playbackId })).catch(() => {});
        resolve(digit);
      };
      return () => {
        unroute();
        this.digitListener = undefined;
      };
    });
  }

  /** The next digit within `timeoutMs`, or undefined. */
  nextDigit(timeoutMs: number): Promise<string | undefined> {
    const buffered = this.takeDigit();
    if (buffered !== undefined) return Promise.resolve(buffered);
    return this.wait<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.digitListener = resolve;
      return () => {
        clearTimeout(timer);
        this.digitListener = undefined;
      };
    });
  }

  /**
   * Collects up to `max` digits, ended early by the terminator or a timeout; returns what was
   * entered (possibly ''), without the terminator.
   */
  async collectDigits(opts: CollectOptions): Promise<string> {
    const terminator = opts.terminator ?? '#';
    let collected = '';
    let first: string | undefined;
    if (opts.prompt) first = await this.play(opts.prompt.media, { lang: opts.prompt.lang });
    let digit = first ?? (await this.nextDigit(opts.firstDigitTimeoutMs));
    while (digit !== undefined) {
      if (digit === terminator) return collected;
      collected += digit;
      if (collected.length >= opts.max) return collected;
      digit = await this.nextDigit(opts.interDigitTimeoutMs);
    }
    return collected;
  }

  // ---------------------------------------------------------------- legs and bridges

  /**
   * Rings every leg at once. The first leg to answer (and, for confirming legs, to press 1)
   * wins; every other leg is hung up at once as "answered elsewhere" (cause 26). When no leg
   * wins, the result says why: busy, no answer or unreachable.
   */
  async dialLegs<T extends DialLegSpec>(legs: readonly T[], opts: DialOptions): Promise<DialResult<T>> {
    if (this.abort.signal.aborted) throw this.endedError();
    const attempt = new DialAttempt<T>(this, this.ari, opts, this.timing, this.log);
    return attempt.run(legs);
  }

  /** @internal legs report the channels they create so the session releases them at the end */
  own(channelId: string): void {
    if (this.ownedChannels.has(channelId)) return;
    this.ownedChannels.add(channelId);
    this.ownership?.claim(channelId);
  }

  /**
   * @internal a channel the application is subscribed to but this session need not hang up
   * (the ;2 half of an originated Local leg: it ends with its ;1): marked as ours so a
   * reconcile does not take it for a stray.
   */
  claimOnly(channelId: string): void {
    this.ownership?.claim(channelId);
  }

  /** @internal */
  releaseOnly(channelId: string): void {
    this.ownership?.release(channelId);
  }

  /** @internal */
  disown(channelId: string): void {
    if (!this.ownedChannels.delete(channelId)) return;
    this.ownership?.release(channelId);
  }

  /** Takes responsibility for a bridge (destroyed when the session closes). */
  adoptBridge(bridgeId: string): void {
    if (this.ownedBridges.has(bridgeId)) return;
    this.ownedBridges.add(bridgeId);
    this.ownership?.claim(bridgeId);
  }

  /** Destroys a bridge of this call now, never to be reused (404 is fine). */
  async destroyBridge(bridgeId: string): Promise<void> {
    const lease = this.leases.get(bridgeId);
    if (lease) {
      this.leases.delete(bridgeId);
      return lease.discard();
    }
    // one this session no longer holds (released when it closed) may be another call's by now
    if (!this.ownedBridges.delete(bridgeId)) return;
    this.ownership?.release(bridgeId);
    await this.ari.bridges.destroy({ bridgeId }).catch((err: unknown) => {
      if (!isNotFound(err)) this.log.warn({ err, bridgeId }, 'bridge destroy failed');
    });
  }

  /**
   * Answers the caller (if needed) and bridges it with `channelId`: in a reused bridge of the
   * pool (`reuse`: its name cannot tell the call, so the call must be told apart otherwise, see
   * live-calls.ts), else in a new mixing bridge named `name`, destroyed with the session.
   */
  async bridgeWith(
    channelId: string,
    opts: { name?: string; reuse?: boolean } = {},
  ): Promise<{ id: string }> {
    if (this.abort.signal.aborted) throw this.endedError();
    const lease = opts.reuse ? this.bridges?.lease() : undefined;
    const bridgeId = lease?.id ?? randomUUID();
    if (lease) this.leases.set(bridgeId, lease);
    else this.adoptBridge(bridgeId);
    // answer and bridge creation are independent: one round trip of set-up latency, not two
    await Promise.all([
      this.answer(),
      lease
        ? this.guard(lease.ready)
        : this.onCaller(() => this.ari.bridges.create({ type: 'mixing', bridgeId, name: opts.name })),
    ]);
    lease?.adding([this.channelId, channelId]);
    await this.onCaller(() =>
      this.ari.bridges.addChannel({ bridgeId, channel: [this.channelId, channelId] }),
    );
    return { id: bridgeId };
  }

  /**
   * Hangs up a channel and forgets it: close() then sends no second DELETE for it (the leg's
   * own hang-up event may not have arrived by then).
   */
  async releaseChannel(channelId: string): Promise<void> {
    this.disown(channelId);
    await this.hangupChannel(channelId);
  }

  /** Hangs up one channel this session created (404 is fine). */
  async hangupChannel(
    channelId: string,
    reason: 'normal' | 'answered_elsewhere' | 'no_answer' | 'busy' = 'normal',
  ): Promise<void> {
    await this.ari.channels.hangup({ channelId, reason }).catch((err: unknown) => {
      if (!isNotFound(err)) this.log.warn({ err, channelId }, 'hangup failed');
    });
  }

  // ---------------------------------------------------------------- recording

  /**
   * Records the caller into a stored recording. Unlike the other verbs it completes when the
   * caller hangs up mid-recording — the message must be kept — and reports `callerHungUp`.
   */
  async record(opts: RecordOptions): Promise<RecordResult> {
    if (this.abort.signal.aborted) throw this.endedError();
    const started = Date.now();
    let finished: (e: AriEvent | undefined) => void = () => {};
    const done = new Promise<AriEvent | undefined>((resolve) => (finished = resolve));
    const unroute = this.ari.events.route(opts.name, (event) => {
      const type = (event as AriEvent).type;
      if (type === 'RecordingFinished' || type === 'RecordingFailed') finished(event as AriEvent);
    });
    try {
      try {
        await this.ari.channels.record({
          channelId: this.channelId,
          name: opts.name,
          format: 'wav',
          maxDurationSeconds: opts.maxSeconds,
          maxSilenceSeconds: opts.maxSilenceSeconds,
          terminateOn: opts.terminateOn ?? '#',
          beep: opts.beep ?? true,
          ifExists: 'overwrite',
        });
      } catch (err) {
        if (isNotFound(err)) {
          this.markEnded(undefined);
          throw this.endedError();
        }
        throw err;
      }
      // after a hangup, RecordingFinished follows quickly; do not wait forever for it
      const ended = this.untilEnded().then(
        () =>
          new Promise<undefined>((r) => setTimeout(() => r(undefined), this.timing.recordingGraceMs).unref()),
      );
      const event = await Promise.race([done, ended]);
      const recording = (event?.recording ?? {}) as { duration?: number; state?: string };
      const durationSeconds =
        typeof recording.duration === 'number'
          ? recording.duration
          : Math.round((Date.now() - started) / 1000);
      return {
        name: opts.name,
        durationSeconds,
        callerHungUp: this.abort.signal.aborted,
        ok: event?.type !== 'RecordingFailed',
      };
    } finally {
      unroute();
      // the '#' that ended the recording must not answer the next menu
      this.clearDigits();
    }
  }

  // ---------------------------------------------------------------- end of session

  /**
   * Graceful shutdown: this process lets go of the call without touching it — the caller, its
   * legs and bridges stay up in Asterisk for the next controller to re-adopt. The flow never
   * resumes; close() releases nothing.
   */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.unrouteCaller();
    this.log.info('left to the next controller');
  }

  get isDetached(): boolean {
    return this.detached;
  }

  /**
   * Releases everything: hangs up the caller (when still there) and every leg this session
   * created, destroys its bridges, stops routing. Called once by the router after the flow.
   */
  async close(cause: number = CAUSE.normal): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.markSetUp();
    if (this.detached) return;
    const work: Array<Promise<void>> = [];
    if (!this.abort.signal.aborted) work.push(this.hangup(cause).catch(() => {}));
    for (const id of this.ownedChannels) work.push(this.hangupChannel(id));
    for (const id of this.ownedBridges) work.push(this.destroyBridge(id));
    // back to the pool once the caller and the legs are seen out of them
    for (const lease of this.leases.values()) lease.release();
    this.leases.clear();
    await Promise.all(work);
    for (const id of [...this.ownedChannels]) this.disown(id);
    this.unrouteCaller();
    this.markEnded(this.endCause);
    this.ownership?.release(this.channelId);
  }
}

type LegState = 'creating' | 'ringing' | 'confirming' | 'won' | 'failed';

/** One ring attempt over several legs; lives only while dialLegs runs. */
class DialAttempt<T extends DialLegSpec> {
  private winner: LegRun<T> | undefined;
  private readonly runs: Array<LegRun<T>> = [];
  private readonly dialled = new Set<LegRun<T>>();

  constructor(
    readonly session: CallSession,
    readonly ari: CallAri,
    readonly opts: DialOptions,
    readonly timing: Timing,
    readonly log: Logger,
  ) {}

  async run(legs: readonly T[]): Promise<DialResult<T>> {
    const { session, opts } = this;
    for (const spec of legs) this.runs.push(new LegRun(this, spec));
    const stopAll = () => {
      for (const run of this.runs) run.cancel('normal');
    };
    session.signal.addEventListener('abort', stopAll, { once: true });
    opts.signal?.addEventListener('abort', stopAll, { once: true });
    try {
      const outcomes = await session.guard(
        new Promise<void>((resolve) => {
          let pending = this.runs.length;
          if (pending === 0) resolve();
          for (const run of this.runs) {
            void run.start().finally(() => {
              pending -= 1;
              if (this.winner || pending === 0) resolve();
            });
          }
        }).then(() => this.runs.map((r) => r.failure)),
      );
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('dial cancelled');
      const winner = this.winner;
      if (winner) {
        return {
          kind: 'answered',
          leg: {
            spec: winner.spec,
            channelId: winner.channelId,
            ended: winner.ended,
            variables: opts.variables ?? {},
          },
        };
      }
      const failures = outcomes.filter((f): f is LegFailure => f !== undefined);
      return { kind: combineLegFailures(failures), causes: this.runs.map((r) => r.cause ?? 0) };
    } finally {
      session.signal.removeEventListener('abort', stopAll);
      opts.signal?.removeEventListener('abort', stopAll);
      // the winner keeps a reference to this attempt for the whole call: let the losers go
      this.runs.length = 0;
    }
  }

  /** A leg was dialled (or failed before): once every leg is, the call's set-up is over. */
  legDialled(run: LegRun<T>): void {
    this.dialled.add(run);
    if (this.runs.length > 0 && this.dialled.size >= this.runs.length) this.session.markSetUp();
  }

  /** A leg answered (and confirmed): the first one wins, the others stop at once. */
  claim(run: LegRun<T>): boolean {
    if (this.winner || this.session.isEnded || this.opts.signal?.aborted) return false;
    this.winner = run;
    for (const other of this.runs) if (other !== run) other.cancel('answered_elsewhere');
    return true;
  }

  get settled(): boolean {
    return this.winner !== undefined || this.session.isEnded || this.opts.signal?.aborted === true;
  }
}

class LegRun<T extends DialLegSpec> {
  readonly channelId = randomUUID();
  state: LegState = 'creating';
  failure: LegFailure | undefined;
  cause: number | undefined;
  readonly ended: Promise<number>;
  private resolveEnded!: (cause: number) => void;
  private resolveStasis!: () => void;
  private readonly stasis: Promise<void>;
  private resolveAnswer!: () => void;
  private readonly answer: Promise<void>;
  private onDigit: ((digit: string) => void) | undefined;
  private unroute: Unsubscribe | undefined;
  private cancelled: 'normal' | 'answered_elsewhere' | undefined;
  private created = false;
  /** the ;2 half of an originated Local leg */
  private otherHalfId: string | undefined;

  constructor(
    private readonly attempt: DialAttempt<T>,
    readonly spec: T,
  ) {
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.stasis = new Promise((r) => (this.resolveStasis = r));
    this.answer = new Promise((r) => (this.resolveAnswer = r));
  }

  private onEvent(event: AriEvent): void {
    switch (event.type) {
      case 'StasisStart':
        this.resolveStasis();
        return;
      case 'Dial':
        if (event.dialstatus === 'ANSWER') this.resolveAnswer();
        return;
      case 'ChannelStateChange':
        if ((event.channel as { state?: string } | undefined)?.state === 'Up') this.resolveAnswer();
        return;
      case 'ChannelDtmfReceived':
        this.onDigit?.(event.digit as string);
        return;
      case 'ChannelHangupRequest':
        if (!event.soft && typeof event.cause === 'number') this.finish(event.cause);
        return;
      case 'ChannelDestroyed':
        this.finish(typeof event.cause === 'number' ? event.cause : CAUSE.normal);
        return;
    }
  }

  private finish(cause: number): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    this.attempt.legDialled(this);
    this.unroute?.();
    this.attempt.session.disown(this.channelId);
    if (this.otherHalfId) this.attempt.session.releaseOnly(this.otherHalfId);
    if (this.state !== 'won') {
      this.state = 'failed';
      this.failure ??= legFailureOfCause(cause);
    }
    this.resolveEnded(cause);
  }

  /** Runs the leg until it wins or fails; never rejects. */
  async start(): Promise<void> {
    const { opts } = this.attempt;
    if (this.delayMs > 0 && !(await this.delayed())) return;
    this.unroute = this.attempt.ari.events.route(this.channelId, (e) => this.onEvent(e as AriEvent));
    this.attempt.session.own(this.channelId);
    // Showing the caller's identity: ONE originate (Asterisk dials at once; the leg enters
    // Stasis when it answers). Our own identity: create + dial, because only a dial that does
    // not name the caller keeps the connected line set at create (see PresentedIdentity).
    if (opts.present?.kind === 'own') return this.startCreateDial(opts.present.number);
    return this.startOriginate();
  }

  /**
   * One REST request instead of create + dial, and no wait for StasisStart in between; the
   * leg's StasisStart IS its answer. Nothing here can dial a channel twice: there is no dial.
   * The ring timeout is ours (a hang-up with cause 19): Asterisk's originate timeout ends the
   * channel without the no-answer cause the ring plan needs; it stays as a backstop.
   */
  private async startOriginate(): Promise<void> {
    const { ari, session, opts, log } = this.attempt;
    this.otherHalfId = `${this.channelId};2`;
    session.claimOnly(this.otherHalfId);
    const gone = this.ended.then(() => 'gone' as const);
    this.state = 'ringing';
    try {
      await ari.channels.originate({
        endpoint: this.spec.endpoint,
        app: ari.app,
        appArgs: 'leg',
        channelId: this.channelId,
        originator: session.channelId,
        // Asterisk subscribes the app to BOTH halves of an originated Local channel: the ;2
        // half gets a known id so it counts as ours (ignored for other channel types)
        otherChannelId: this.otherHalfId,
        // what a dial naming the caller would copy into the leg's connected line
        ...(session.callerId ? { callerId: session.callerId } : {}),
        ...(opts.variables ? { variables: opts.variables } : {}),
        timeout: this.ringSeconds + ORIGINATE_BACKSTOP_SECONDS,
      });
      this.created = true;
    } catch (err) {
      log.info({ endpoint: this.spec.endpoint, err: (err as Error).message }, 'leg could not be created');
      this.failure = 'unreachable';
      this.finish(CAUSE.subscriberAbsent);
      return;
    }
    if (this.cancelled) return this.hangup(this.cancelled);
    const noAnswer = setTimeout(() => {
      if (this.state !== 'ringing') return;
      this.failure ??= 'noanswer';
      void this.attempt.session.hangupChannel(this.channelId, 'no_answer');
    }, this.ringSeconds * 1000);
    try {
      if ((await Promise.race([this.stasis, gone])) === 'gone') return;
    } finally {
      clearTimeout(noAnswer);
    }
    return this.afterAnswer();
  }

  private async startCreateDial(ownNumber: string | undefined): Promise<void> {
    const { ari, session, opts, log } = this.attempt;
    const gone = this.ended.then(() => 'gone' as const);
    try {
      await ari.channels.create({
        endpoint: this.spec.endpoint,
        app: ari.app,
        appArgs: 'leg',
        channelId: this.channelId,
        originator: session.channelId,
        variables: { ...ownIdentityVariables(ownNumber), ...opts.variables },
      });
      this.created = true;
    } catch (err) {
      log.info({ endpoint: this.spec.endpoint, err: (err as Error).message }, 'leg could not be created');
      this.failure = 'unreachable';
      this.finish(CAUSE.subscriberAbsent);
      return;
    }
    if (this.cancelled) return this.hangup(this.cancelled);
    // create answers before the channel is in Stasis: dial only after its StasisStart
    if ((await Promise.race([this.stasis, gone])) === 'gone') return;
    if (this.cancelled) return this.hangup(this.cancelled);
    this.state = 'ringing';
    try {
      // never naming the caller: that would overwrite our identity with the caller's
      await ari.channels.dial({ channelId: this.channelId, timeout: this.ringSeconds });
    } catch (err) {
      if (!isNotFound(err)) log.warn({ err, endpoint: this.spec.endpoint }, 'dial failed');
      this.failure ??= 'unreachable';
      await this.hangup('normal');
      return;
    }
    this.attempt.legDialled(this);
    if ((await Promise.race([this.answer, gone])) === 'gone') return;
    return this.afterAnswer();
  }

  /** The leg answered: confirm when required, then claim the win (or let it go). */
  private async afterAnswer(): Promise<void> {
    const { log } = this.attempt;
    if (this.attempt.settled) return this.hangup(this.cancelled ?? 'answered_elsewhere');
    if (this.spec.confirm && !(await this.confirm())) {
      this.failure = 'noanswer';
      log.info({ endpoint: this.spec.endpoint }, 'answered leg did not confirm; dropped');
      return this.hangup('normal');
    }
    if (this.cause !== undefined) return;
    if (!this.attempt.claim(this)) return this.hangup(this.cancelled ?? 'answered_elsewhere');
    this.state = 'won';
    // the winner is the flow's now: keep routing its hangup, stop nothing else
    this.onDigit = undefined;
  }

  /** The callee hears the confirmation prompt and must press 1 in time. */
  private async confirm(): Promise<boolean> {
    const { ari, opts, timing } = this.attempt;
    this.state = 'confirming';
    const playbackId = randomUUID();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), timing.confirmationMs);
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        this.onDigit = undefined;
        if (!ok || this.cause === undefined) ari.playbacks.stop({ playbackId }).catch(() => {});
        resolve(ok && this.cause === undefined);
      };
      this.onDigit = (digit) => {
        if (digit === '1') settle(true);
      };
      void this.ended.then(() => settle(false));
      ari.channels
        .play({ channelId: this.channelId, media: promptMedia('confirm-call'), lang: opts.lang, playbackId })
        .catch(() => {});
    });
  }

  cancel(reason: 'normal' | 'answered_elsewhere'): void {
    if (this.state === 'won' || this.cause !== undefined) return;
    this.cancelled ??= reason;
    this.wake?.();
    if (this.created) void this.hangup(reason);
  }

  private wake: (() => void) | undefined;

  private get delayMs(): number {
    return Math.max(0, (this.spec.delaySeconds ?? 0) * 1000);
  }

  /** how long this leg rings: the attempt's ring time less its delay */
  private get ringSeconds(): number {
    return Math.max(1, this.attempt.opts.timeoutSeconds - (this.spec.delaySeconds ?? 0));
  }

  /**
   * Waits out the leg's delay. It counts as dialled for the call's set-up at once (the call is
   * set up when the others ring; a delay is no slow set-up). False when the attempt ended
   * meanwhile (answered elsewhere, caller gone): the leg then never rings.
   */
  private async delayed(): Promise<boolean> {
    this.attempt.legDialled(this);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.delayMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
    if (this.cancelled === undefined && !this.attempt.settled) return true;
    this.failure = 'noanswer';
    this.finish(CAUSE.normal);
    return false;
  }

  private async hangup(reason: 'normal' | 'answered_elsewhere'): Promise<void> {
    if (this.cause !== undefined) return;
    await this.attempt.session.hangupChannel(this.channelId, reason);
  }
}
