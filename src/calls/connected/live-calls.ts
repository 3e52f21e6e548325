/**
 * The live-call registry: while a workplace's device (or confirmed parallel leg) talks to a
 * caller, the call is registered in the store so `*11` can find it, and kept in-process as a
 * ConnectedCall that knows its current peer. A pull moves the remote party to another channel
 * (new bridge, then the old peer is released) without ever dropping it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isNotFound, type Unsubscribe } from '../../ari/index.js';
import type { LiveCall } from '../../domain/model.js';
import type { Store } from '../../store/store.js';
import type { CallEvents } from '../reporting/call-events.js';
import { isCallEnded, type CallAri, type CallSession } from '../engine/session.js';
import type { StoreWriteQueue } from '../engine/store-writes.js';

type AriEvent = { type: string } & Record<string, unknown>;

function isEndingEvent(event: AriEvent): boolean {
  return (
    event.type === 'ChannelHangupRequest' || event.type === 'StasisEnd' || event.type === 'ChannelDestroyed'
  );
}

/**
 * A restarted controller (or one that lost its event socket) must tell from Asterisk alone which
 * party of a bridged call is the remote one and which workplace the call belongs to. The call is
 * written as `<remoteChannelId>:<workplaceId or empty>`:
 * - on each leg, as the channel variable PBX_CALL, set by the request that creates the leg (no
 *   request of its own). A call whose answered leg carries it is bridged in a reused bridge
 *   (bridge-pool.ts), whose name cannot change and so names no call;
 * - else in the name of a bridge created for the call alone: `pbx-call:<call>` (a pull's new
 *   bridge: the pulling channel is no leg of ours; and every bridge of an earlier version).
 */
export const CALL_VARIABLE = 'PBX_CALL';
const BRIDGE_NAME_PREFIX = 'pbx-call:';

type CallIdentity = { remoteChannelId: string; workplaceId: string | undefined };

function callTag(call: CallIdentity): string {
  return `${call.remoteChannelId}:${call.workplaceId ?? ''}`;
}

export function parseCallTag(tag: string | undefined): CallIdentity | undefined {
  if (!tag) return undefined;
  const cut = tag.lastIndexOf(':');
  if (cut <= 0) return undefined;
  return { remoteChannelId: tag.slice(0, cut), workplaceId: tag.slice(cut + 1) || undefined };
}

/** The variables that name the call on every leg dialled for it (DialOptions.variables). */
export function callVariables(remote: { channelId: string }, workplaceId?: string): Record<string, string> {
  return { [CALL_VARIABLE]: callTag({ remoteChannelId: remote.channelId, workplaceId }) };
}

export function callBridgeName(call: CallIdentity): string {
  return `${BRIDGE_NAME_PREFIX}${callTag(call)}`;
}

export function parseCallBridgeName(name: string | undefined): CallIdentity | undefined {
  if (!name?.startsWith(BRIDGE_NAME_PREFIX)) return undefined;
  return parseCallTag(name.slice(BRIDGE_NAME_PREFIX.length));
}

/** The peer a call is bridged with: an answered leg (AnsweredLeg), or just a channel. */
export interface Peer {
  channelId: string;
  /** the variables the leg was created with */
  variables?: Readonly<Record<string, string>>;
}

/** A caller talking to a peer through a bridge; the peer can be swapped by a pull. */
export class ConnectedCall {
  peerChannelId = '';
  bridgeId = '';
  private unroutePeer: Unsubscribe | undefined;
  private peerGone!: () => void;
  private readonly peerEnded: Promise<void>;
  private readonly startedAt = new Date().toISOString();
  /** set once the call has ended: it can no longer be moved */
  over = false;
  /** registry writes in order: a put of a move must never land after the final remove */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    readonly session: CallSession,
    readonly workplaceId: string | undefined,
    private readonly registry: LiveCalls,
  ) {
    this.peerEnded = new Promise((resolve) => (this.peerGone = resolve));
  }

  get remoteChannelId(): string {
    return this.session.channelId;
  }

  private watchPeer(channelId: string): void {
    this.unroutePeer?.();
    this.peerChannelId = channelId;
    this.unroutePeer = this.registry.ari.events.route(channelId, (event) => {
      // events of a peer that was swapped out are not ours any more
      if (isEndingEvent(event as AriEvent) && this.peerChannelId === channelId) this.peerGone();
    });
  }

  /** in order per call; when Redis is away, kept and written once it is back (store-writes.ts) */
  private writeRegistry(op: () => Promise<void>): Promise<void> {
    const fields = { workplaceId: this.workplaceId, bridgeId: this.bridgeId };
    const durable = () => this.registry.writes.write('live-call registry', fields, op).then(() => {});
    const next = this.writes.then(durable).catch((err: unknown) => {
      this.session.log.warn({ err }, 'live-call registry write failed');
    });
    this.writes = next;
    return next;
  }

  /** @internal the peer vanished without an event (lost socket) */
  peerLost(): void {
    this.peerGone();
  }

  /**
   * The registry entry, with the call's trace as it is now: a controller that re-adopts the
   * call after a restart writes its call-list record from it (the trace rides on the write the
   * registry makes anyway; the call path gains no request). `pulledBy`: moved to that channel.
   */
  toLiveCall(opts?: { pulledBy?: string }): LiveCall {
    const trace = this.registry.events?.snapshot(this.session, opts);
    return {
      workplaceId: this.workplaceId ?? '',
      bridgeId: this.bridgeId,
      remoteChannelId: this.remoteChannelId,
      deviceChannelId: this.peerChannelId,
      controllerId: this.registry.controllerId,
      startedAt: this.startedAt,
      ...(trace ? { trace } : {}),
    };
  }

  /** Bridges caller and peer and holds the call until either side hangs up. */
  async run(peer: Peer): Promise<void> {
    this.watchPeer(peer.channelId);
    // a reused bridge only when a restarted controller can tell the call from its leg
    const reuse = peer.variables?.[CALL_VARIABLE] === callTag(this);
    await this.hold(async () => {
      const bridge = await this.session.bridgeWith(peer.channelId, { reuse, name: callBridgeName(this) });
      this.bridgeId = bridge.id;
    });
  }

  /**
   * Takes over a call that is already bridged in Asterisk (found after a restart or an
   * event-socket reconnect, see adoption.ts) and holds it like run() does.
   */
  async resume(peerChannelId: string, bridgeId: string): Promise<void> {
    this.watchPeer(peerChannelId);
    this.session.adoptBridge(bridgeId);
    this.session.markAnswered();
    this.bridgeId = bridgeId;
    // known at once, so a reconcile running now keeps its registry entry
    this.registry.add(this);
    await this.hold(async () => {
      // either side may have gone between the listing and the routing of its events: ask once more
      const gone = (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      };
      const [peer, remote] = await Promise.all([
        this.registry.ari.channels.get({ channelId: peerChannelId }).then(() => true, gone),
        this.registry.ari.channels.get({ channelId: this.remoteChannelId }).then(() => true, gone),
      ]);
      if (!peer) this.peerGone();
      if (!remote) this.session.channelGone();
    });
  }

  private async hold(connect: () => Promise<void>): Promise<void> {
    const { session } = this;
    try {
      await connect();
      // bridged in Asterisk: from here a restart leaves the call up (the next controller
      // re-adopts it from Asterisk's state even when the registry write below has not landed) —
      // waiting for that write first dropped calls a SIGTERM met while Redis was slow
      session.keepOnHandOver = true;
      this.registry.add(this);
      const registered = this.toLiveCall();
      if (this.workplaceId) await this.writeRegistry(() => this.registry.store.liveCalls.put(registered));
      session.log.info({ bridgeId: this.bridgeId, peer: this.peerChannelId }, 'call connected');
      await session.guard(this.peerEnded);
      session.log.info({ peer: this.peerChannelId }, 'peer hung up');
    } catch (err) {
      if (!isCallEnded(err)) throw err;
      session.log.info('caller hung up while connected');
    } finally {
      session.keepOnHandOver = false;
      this.over = true;
      this.unroutePeer?.();
      this.registry.remove(this);
      // handed over to the next controller: the call and its registry entry stay as they are
      if (!session.isDetached) await this.release();
    }
  }

  private async release(): Promise<void> {
    const peer = this.peerChannelId;
    const workplaceId = this.workplaceId;
    const bridgeId = this.bridgeId;
    await Promise.all([
      // released, not just hung up: the session's close must not DELETE it a second time
      this.session.releaseChannel(peer),
      workplaceId && bridgeId
        ? this.writeRegistry(() =>
            this.registry.store.liveCalls.remove({
              workplaceId,
              bridgeId,
              remoteChannelId: this.remoteChannelId,
            }),
          )
        : Promise.resolve(),
    ]);
  }

  /**
   * Moves the caller (remote party) into a new bridge with `newPeerChannelId`, then releases
   * the old peer and its bridge. The remote party is never hung up: adding a channel that is
   * in bridge A to bridge B moves it. False: the call ended during the move (nothing was
   * moved; the new peer is released). The new bridge is the call's alone and named for it (the
   * pulling channel is no leg of ours, so it carries no call variable); the old one is
   * destroyed, never reused. Pulls are rare: they keep the two requests the pool saves.
   */
  async moveTo(newPeerChannelId: string): Promise<boolean> {
    const { session, registry } = this;
    const { ari } = registry;
    if (this.over) throw new Error('the call is over');
    const bridgeId = randomUUID();
    session.adoptBridge(bridgeId);
    await ari.bridges.create({ type: 'mixing', bridgeId, name: callBridgeName(this) });
    await ari.bridges.addChannel({ bridgeId, channel: [newPeerChannelId, this.remoteChannelId] });
    if (this.over) {
      // the remote party hung up while it was being moved: run() has already released the old
      // peer, so the new one is released here — it would otherwise sit alone in the bridge
      session.log.info({ to: newPeerChannelId }, 'call ended during the move; new peer released');
      await ari.channels.hangup({ channelId: newPeerChannelId }).catch(() => {});
      await session.destroyBridge(bridgeId);
      return false;
    }
    const oldPeer = this.peerChannelId;
    const oldBridge = this.bridgeId;
    this.bridgeId = bridgeId;
    this.watchPeer(newPeerChannelId);
    session.log.info({ from: oldPeer, to: newPeerChannelId, bridgeId }, 'call moved');
    // written once the move is sure (the call is the pulling channel's now): saved as pulled
    const moved = this.toLiveCall({ pulledBy: newPeerChannelId });
    await Promise.all([
      this.workplaceId ? this.writeRegistry(() => registry.store.liveCalls.put(moved)) : undefined,
      ari.channels.hangup({ channelId: oldPeer }).catch((err: unknown) => {
        if (!isNotFound(err)) session.log.warn({ err }, 'could not release the old peer');
      }),
    ]);
    await session.destroyBridge(oldBridge);
    return true;
  }
}

export class LiveCalls {
  private readonly byRemote = new Map<string, ConnectedCall>();

  constructor(
    readonly ari: CallAri,
    readonly store: Store,
    readonly controllerId: string,
    readonly logger: Logger,
    readonly writes: StoreWriteQueue,
    /** the call-event bus, whose traces ride on the registry's entries (absent: none ride) */
    readonly events?: Pick<CallEvents, 'snapshot'>,
  ) {}

  /** Bridges the session's caller with the leg and holds the call (registered for `*11`). */
  connect(session: CallSession, peer: Peer, opts: { workplaceId?: string }): Promise<void> {
    return new ConnectedCall(session, opts.workplaceId, this).run(peer);
  }

  /** Holds a call found already bridged in Asterisk (re-adoption), registered like connect(). */
  resume(
    session: CallSession,
    found: { peerChannelId: string; bridgeId: string; workplaceId?: string },
  ): Promise<void> {
    return new ConnectedCall(session, found.workplaceId, this).resume(found.peerChannelId, found.bridgeId);
  }

  /** The in-process call whose remote party is this channel. */
  byRemoteChannel(remoteChannelId: string): ConnectedCall | undefined {
    return this.byRemote.get(remoteChannelId);
  }

  /** Bridges of connected calls (reconcile keeps them). */
  bridgeIds(): Set<string> {
    return new Set([...this.byRemote.values()].map((c) => c.bridgeId));
  }

  get size(): number {
    return this.byRemote.size;
  }

  /** (call, its peer now) pairs, taken before asking Asterisk what is still there */
  peers(): Array<{ call: ConnectedCall; peer: string }> {
    return [...this.byRemote.values()].map((call) => ({ call, peer: call.peerChannelId }));
  }

  /**
   * After an event-socket reconnect: calls whose peer (unchanged since `before`) Asterisk no
   * longer has in the app ended while nobody listened; end them now.
   */
  endCallsWithout(
    liveChannelIds: ReadonlySet<string>,
    before: Array<{ call: ConnectedCall; peer: string }>,
  ): number {
    let ended = 0;
    for (const { call, peer } of before) {
      if (peer && call.peerChannelId === peer && !liveChannelIds.has(peer)) {
        call.peerLost();
        ended += 1;
      }
    }
    return ended;
  }

  /** @internal */
  add(call: ConnectedCall): void {
    this.byRemote.set(call.remoteChannelId, call);
  }

  /** @internal */
  remove(call: ConnectedCall): void {
    if (this.byRemote.get(call.remoteChannelId) === call) this.byRemote.delete(call.remoteChannelId);
  }

  /**
   * Removes this controller's registry entries whose call no longer runs here (after a
   * restart or a lost event socket).
   */
  async removeStale(): Promise<number> {
    const entries = await this.store.liveCalls.listByController(this.controllerId);
    let removed = 0;
    for (const entry of entries) {
      const local = this.byRemote.get(entry.remoteChannelId);
      if (local && local.bridgeId === entry.bridgeId) continue;
      await this.store.liveCalls.remove(entry);
      removed += 1;
    }
    return removed;
  }
}
