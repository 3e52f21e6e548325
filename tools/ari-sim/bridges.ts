import { randomUUID } from 'node:crypto';
import type { World } from './world.js';
import { SimHttpError, notFound, type Bridge, type Chan, type SimBridges } from './types.js';
import { asteriskTimestamp } from './util.js';

/** Stasis mixing/holding bridges: enter, leave, move between bridges, BRIDGEPEER, destroy. */
export class Bridges implements SimBridges {
  readonly byId = new Map<string, Bridge>();

  constructor(private readonly world: World) {}

  get(id: string): Bridge {
    const b = this.byId.get(id);
    if (!b) throw notFound('Bridge not found');
    return b;
  }

  json(b: Bridge): Record<string, unknown> {
    return {
      id: b.id,
      technology: b.bridgeType === 'holding' ? 'holding_bridge' : 'simple_bridge',
      bridge_type: b.bridgeType,
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: b.name,
      channels: b.channels.map((c) => c.id),
      creationtime: b.creationtime,
      video_mode: 'talker',
    };
  }

  create(type: string | undefined, id: string | undefined, name: string | undefined): Bridge {
    const existing = id ? this.byId.get(id) : undefined;
    if (existing) return existing;
    const types = (type ?? 'mixing').split(',').map((t) => t.trim());
    const valid = ['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single'];
    const bad = types.find((t) => !valid.includes(t));
    if (bad) throw new SimHttpError(400, { message: `Invalid bridge type '${bad}'` });
    const b: Bridge = {
      id: id || randomUUID(),
      name: name ?? '',
      bridgeType: types.includes('holding') ? 'holding' : 'mixing',
      channels: [],
      creationtime: asteriskTimestamp(),
      subs: new Set(),
      playbacks: [],
    };
    this.byId.set(b.id, b);
    return b;
  }

  /** Sends a bridge event to the bridge's apps and the channel's Stasis app (not to apps merely watching the channel, like its originator). */
  private emit(b: Bridge, type: string, ch?: Chan): void {
    const body: Record<string, unknown> = { bridge: this.json(b) };
    if (ch) body.channel = this.world.json(ch);
    const apps = new Set(b.subs);
    if (ch?.stasisApp) apps.add(ch.stasisApp);
    for (const app of this.world.hub.targets(apps)) this.world.hub.send(app, type, body);
  }

  sendToSubs(b: Bridge, type: string, fields: Record<string, unknown>): void {
    for (const app of this.world.hub.targets(b.subs)) this.world.hub.send(app, type, fields);
  }

  addChannels(b: Bridge, ids: string[]): void {
    const chans = ids.map((id) => {
      const ch = this.world.channels.get(id);
      if (!ch) throw new SimHttpError(400, { message: 'Channel not found' });
      return ch;
    });
    const notInStasis = chans.find((c) => !c.stasisApp);
    if (notInStasis) throw new SimHttpError(422, { message: 'Channel not in Stasis application' });
    for (const ch of chans) {
      if (ch.bridge === b) continue;
      if (ch.bridge) this.leave(ch);
      b.channels.push(ch);
      ch.bridge = b;
      if (ch.stasisApp) {
        b.subs.add(ch.stasisApp);
        this.world.hub.app(ch.stasisApp).bridgeIds.add(b.id);
      }
      this.emit(b, 'ChannelEnteredBridge', ch);
      this.world.notify(ch);
    }
    this.updatePeers(b);
  }

  /** BRIDGEPEER and connected line of the channels once the bridge has two or more parties. */
  private updatePeers(b: Bridge): void {
    if (b.channels.length < 2) return;
    for (const ch of b.channels) {
      const peer = b.channels
        .filter((c) => c !== ch)
        .map((c) => c.name)
        .join(',');
      if ((ch.vars.get('BRIDGEPEER') ?? '') !== peer) this.world.setVar(ch, 'BRIDGEPEER', peer);
    }
    if (b.channels.length !== 2) return;
    const [a, c] = b.channels as [Chan, Chan];
    for (const [ch, other] of [
      [a, c],
      [c, a],
    ] as const) {
      if (ch.connected.number !== other.caller.number || ch.connected.name !== other.caller.name) {
        ch.connected = { ...other.caller };
        this.world.emit(ch, 'ChannelConnectedLine');
        // A Local half passes its new connected line to the other half as a caller id update.
        if (ch.localPeer) ch.localPeer.callerIdChanged = true;
      }
    }
  }

  leave(ch: Chan): void {
    const b = ch.bridge;
    if (!b) return;
    if (ch.vars.get('BRIDGEPEER')) this.world.setVar(ch, 'BRIDGEPEER', '');
    b.channels = b.channels.filter((c) => c !== ch);
    ch.bridge = undefined;
    this.emit(b, 'ChannelLeftBridge', ch);
    this.world.notify(ch);
  }

  removeChannels(b: Bridge, ids: string[]): void {
    const chans = ids.map((id) => {
      const ch = this.world.channels.get(id);
      if (!ch) throw new SimHttpError(400, { message: 'Channel not found' });
      return ch;
    });
    if (chans.some((c) => c.bridge !== b))
      throw new SimHttpError(422, { message: 'Channel not in this bridge' });
    for (const ch of chans) this.leave(ch);
  }

  destroy(b: Bridge): void {
    for (const ch of [...b.channels]) this.leave(ch);
    this.world.media.onBridgeDestroyed(b);
    this.byId.delete(b.id);
    this.emit(b, 'BridgeDestroyed');
    for (const app of b.subs) this.world.hub.apps.get(app)?.bridgeIds.delete(b.id);
  }
}
