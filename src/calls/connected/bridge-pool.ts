/**
 * Mixing bridges reused from call to call. Creating and destroying a bridge per connected call
 * costs two ARI REST requests, and Asterisk checks the ARI password hash on every request
 * (bench/README.md): a bridge whose call is over is kept idle instead and handed to the next
 * call, so a connected call in steady state costs neither. The pool starts empty and fills
 * from normal traffic; beyond `max` idle bridges one is destroyed as before.
 *
 * Reuse must never put strangers together, so a bridge goes back to the pool only when no
 * channel can still be in it:
 * - every channel named in an addChannel request counts as in the bridge until its StasisEnd or
 *   ChannelDestroyed arrives: Asterisk sends StasisEnd only after the channel departed its
 *   bridge (res/res_stasis.c stasis_app_exec), and a destroyed channel is in no bridge. A
 *   channel whose end was not seen within `settleMs` keeps the bridge out: it is destroyed;
 * - Asterisk can swap a channel into a bridge without us (a transfer, a masquerade); such a
 *   channel enters our Stasis application with `replace_channel`, or without our arguments.
 *   Then, and after any gap in the event stream (a reconnect), a stranger may sit unseen in one
 *   of our bridges: every idle bridge is destroyed, and every bridge in use is destroyed once
 *   its call is over;
 * - a stopped pool takes nothing back.
 *
 * A pooled bridge is named `pbx-pool:<app>`: a bridge's name cannot be changed, so it names no
 * call (the call's identity travels on its legs, see live-calls.ts). Every bridge of the pool,
 * idle or in use, is claimed in the ownership book, so a reconcile never takes one for an
 * orphan; the idle bridges of an earlier process are destroyed by sweep().
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isNotFound, type Unsubscribe } from '../../ari/index.js';
import type { CallAri, Ownership, BridgeLease } from '../engine/session.js';

const POOLED_NAME_PREFIX = 'pbx-pool:';

/** The name of this application's pooled bridges (adoption.ts tells them by it). */
export function pooledBridgeName(app: string): string {
  return `${POOLED_NAME_PREFIX}${app}`;
}

export function isPooledBridgeName(name: string | undefined): boolean {
  return name?.startsWith(POOLED_NAME_PREFIX) ?? false;
}

/** The Stasis arguments our own channels arrive with: new calls (the dialplan) and our legs. */
const OUR_ARRIVALS: ReadonlySet<string> = new Set(['inbound', 'internal', 'leg']);

/**
 * A channel entered Stasis that may have been swapped into one of our bridges: it replaces
 * another channel (Asterisk's transfer and masquerade paths set `replace_channel`), or it is
 * neither a new call nor a leg of ours (a channel pushed into a Stasis bridge enters Stasis
 * without arguments, res/stasis/stasis_bridge.c).
 */
export function isForeignArrival(event: { args?: unknown; replace_channel?: unknown }): boolean {
  if (event.replace_channel) return true;
  const kind = Array.isArray(event.args) ? event.args[0] : undefined;
  return typeof kind !== 'string' || !OUR_ARRIVALS.has(kind);
}

export type ReleasedFate = 'idle' | 'settle' | 'destroy';

/** What becomes of a bridge whose call is over; asked again whenever one of its channels ends. */
export function fateOfReleased(s: {
  /** the pool takes bridges back (not stopped) */
  open: boolean;
  /** nothing can have joined the bridge unseen */
  trusted: boolean;
  /** channels that may still be in the bridge */
  channelsIn: number;
  /** idle bridges in the pool now */
  idle: number;
  max: number;
}): ReleasedFate {
  if (!s.open || !s.trusted) return 'destroy';
  if (s.channelsIn > 0) return 'settle';
  return s.idle < s.max ? 'idle' : 'destroy';
}

export interface BridgePoolStats {
  idle: number;
  /** in use by a call, or over and waiting for its channels to leave */
  busy: number;
  created: number;
  reused: number;
  destroyed: number;
}

export interface BridgePoolOptions {
  ari: Pick<CallAri, 'app' | 'bridges'>;
  ownership: Ownership & { has(id: string): boolean };
  logger: Logger;
  /** idle bridges kept at most (0: every bridge is created for its call and destroyed after it) */
  max: number;
  /** how long a bridge whose call is over may wait for its channels to be seen leaving */
  settleMs: number;
  /** the events of a channel (ARI client's route) */
  route: CallAri['events']['route'];
}

type State = 'in-use' | 'settling' | 'idle' | 'gone';

class PooledBridge implements BridgeLease {
  state: State = 'in-use';
  trusted = true;
  /** channels that may be in the bridge → the routing of their events */
  readonly channelsIn = new Map<string, Unsubscribe>();
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly ready: Promise<void>,
    private readonly pool: BridgePool,
  ) {
    ready.catch(() => {}); // the pool handles a failed create; a session may no longer wait
  }

  adding(channelIds: readonly string[]): void {
    for (const id of channelIds) this.pool.track(this, id);
  }

  release(): void {
    this.pool.release(this);
  }

  discard(): Promise<void> {
    return this.pool.destroy(this, 'discarded');
  }
}

export class BridgePool {
  readonly name: string;
  private readonly ari: BridgePoolOptions['ari'];
  private readonly ownership: BridgePoolOptions['ownership'];
  private readonly log: Logger;
  private readonly max: number;
  private readonly settleMs: number;
  private readonly route: BridgePoolOptions['route'];
  /** idle bridges, oldest first: the next call takes the one that rested longest */
  private readonly idle: PooledBridge[] = [];
  private readonly live = new Set<PooledBridge>();
  private open = true;
  private counts = { created: 0, reused: 0, destroyed: 0 };

  constructor(opts: BridgePoolOptions) {
    this.ari = opts.ari;
    this.ownership = opts.ownership;
    this.log = opts.logger.child({ component: 'bridge-pool' });
    this.max = opts.max;
    this.settleMs = opts.settleMs;
    this.route = opts.route;
    this.name = pooledBridgeName(opts.ari.app);
  }

  /**
   * Follows the application's events: a foreign arrival or a reconnect makes every bridge
   * suspect (see the module comment).
   */
  watch(events: Pick<CallAri['events'], 'on' | 'onConnected'>): Unsubscribe {
    const offs = [
      events.on('StasisStart', (event) => {
        if (isForeignArrival(event)) {
          const channel = (event as { channel?: { id?: string } }).channel?.id;
          this.distrust({ channel }, 'a channel entered Stasis that is no call or leg of ours');
        }
      }),
      events.onConnected(({ reconnect }) => {
        if (reconnect) this.distrust({}, 'the event socket reconnected: events may have been missed');
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  /** A bridge for one call: an idle one at once (no request), else a new one. */
  lease(): BridgeLease {
    // the one that rested longest: the most time for any late event about it to arrive
    const reused = this.idle.shift();
    if (reused) {
      reused.state = 'in-use';
      this.counts.reused += 1;
      return reused;
    }
    const id = randomUUID();
    // claimed before Asterisk has it: a reconcile listing the app meanwhile keeps it
    this.ownership.claim(id);
    const ready = this.ari.bridges.create({ type: 'mixing', bridgeId: id, name: this.name }).then(() => {});
    const bridge = new PooledBridge(id, ready, this);
    this.live.add(bridge);
    this.counts.created += 1;
    ready.catch((err: unknown) => {
      this.log.warn({ err, bridgeId: id }, 'bridge not created');
      // a request that timed out may have created it all the same
      void this.destroy(bridge, 'not created');
    });
    return bridge;
  }

  /** @internal */
  track(bridge: PooledBridge, channelId: string): void {
    if (bridge.state !== 'in-use' || bridge.channelsIn.has(channelId)) return;
    const unroute = this.route(channelId, (event) => {
      const type = (event as { type: string }).type;
      if (type === 'StasisEnd' || type === 'ChannelDestroyed') this.channelOut(bridge, channelId);
    });
    bridge.channelsIn.set(channelId, unroute);
  }

  private channelOut(bridge: PooledBridge, channelId: string): void {
    bridge.channelsIn.get(channelId)?.();
    bridge.channelsIn.delete(channelId);
    if (bridge.state === 'settling') this.settle(bridge);
  }

  /** @internal */
  release(bridge: PooledBridge): void {
    if (bridge.state !== 'in-use') return;
    bridge.state = 'settling';
    bridge.timer = setTimeout(() => {
      this.log.warn(
        { bridgeId: bridge.id, channels: [...bridge.channelsIn.keys()] },
        'bridge destroyed: a channel was not seen leaving it',
      );
      void this.destroy(bridge, 'channels not seen leaving');
    }, this.settleMs);
    bridge.timer.unref();
    // a bridge still being created has no channels yet: it settles once Asterisk has it
    bridge.ready.then(
      () => this.settle(bridge),
      () => {},
    );
  }

  private settle(bridge: PooledBridge): void {
    if (bridge.state !== 'settling') return;
    const fate = fateOfReleased({
      open: this.open,
      trusted: bridge.trusted,
      channelsIn: bridge.channelsIn.size,
      idle: this.idle.length,
      max: this.max,
    });
    if (fate === 'settle') return;
    if (fate === 'destroy') {
      void this.destroy(bridge, 'not reused');
      return;
    }
    clearTimeout(bridge.timer);
    bridge.state = 'idle';
    this.idle.push(bridge);
  }

  /** @internal Destroys the bridge (404 is fine); the ownership claim ends with the request. */
  async destroy(bridge: PooledBridge, why: string): Promise<void> {
    if (bridge.state === 'gone') return;
    if (bridge.state === 'idle') this.idle.splice(this.idle.indexOf(bridge), 1);
    bridge.state = 'gone';
    clearTimeout(bridge.timer);
    for (const unroute of bridge.channelsIn.values()) unroute();
    bridge.channelsIn.clear();
    this.live.delete(bridge);
    this.counts.destroyed += 1;
    this.log.debug({ bridgeId: bridge.id, why }, 'bridge destroyed');
    try {
      // a DELETE overtaking the create would leave the bridge behind
      await bridge.ready.catch(() => {});
      await this.ari.bridges.destroy({ bridgeId: bridge.id });
    } catch (err) {
      if (!isNotFound(err)) this.log.warn({ err, bridgeId: bridge.id }, 'bridge destroy failed');
    } finally {
      this.ownership.release(bridge.id);
    }
  }

  /** Nothing pooled is trusted any more: idle bridges go now, bridges in use after their call. */
  distrust(fields: Record<string, unknown>, why: string): void {
    if (this.live.size === 0) return;
    this.log.warn({ ...fields, bridges: this.live.size }, `bridge pool emptied: ${why}`);
    for (const bridge of [...this.live]) {
      bridge.trusted = false;
      if (bridge.state === 'idle' || bridge.state === 'settling') void this.destroy(bridge, why);
    }
  }

  /**
   * Destroys the empty pooled bridges of this application that this process does not hold: an
   * earlier process's idle bridges (Asterisk need not list an empty bridge among the
   * application's bridges, so the reconcile's orphans may miss them). Cold path: after a connect.
   */
  async sweep(): Promise<number> {
    const bridges = (await this.ari.bridges.list()) as Array<{
      id: string;
      name?: string;
      channels: string[];
    }>;
    const stale = bridges.filter(
      (b) => b.name === this.name && b.channels.length === 0 && !this.ownership.has(b.id),
    );
    await Promise.all(
      stale.map((b) =>
        this.ari.bridges.destroy({ bridgeId: b.id }).catch((err: unknown) => {
          if (!isNotFound(err)) this.log.warn({ err, bridgeId: b.id }, 'stale pooled bridge not destroyed');
        }),
      ),
    );
    return stale.length;
  }

  /**
   * Shutdown: destroys the idle bridges and those whose call is over (best effort); bridges of
   * calls still up (left to the next controller) are not touched.
   */
  async stop(): Promise<void> {
    this.open = false;
    await Promise.all(
      [...this.live]
        .filter((b) => b.state === 'idle' || b.state === 'settling')
        .map((b) => this.destroy(b, 'shutdown')),
    );
  }

  stats(): BridgePoolStats {
    return { idle: this.idle.length, busy: this.live.size - this.idle.length, ...this.counts };
  }
}
