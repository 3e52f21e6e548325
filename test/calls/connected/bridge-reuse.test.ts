/**
 * Reused bridges end to end on the simulator (a fresh controller, so its pool starts empty):
 * consecutive answered workplace calls share one bridge, a steady-state answered call costs the
 * controller 7 REST requests (9 with a bridge created and destroyed per call, bench/README.md),
 * and a bridge is not handed to the next call while a channel of the last one could still be in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AriEventBase } from '../../../src/ari/contract.js';
import type { Company } from '../../../src/domain/model.js';
import { startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextNumber = 10;
const MOBILE = '+491701000001';

async function workplace(body: Record<string, unknown> = {}): Promise<WorkplaceView> {
  const number = `+49301234${String(nextNumber++).padStart(2, '0')}`;
  return world.createWorkplace(company.id, admin, { groupId, number, ...body });
}

beforeAll(async () => {
  world = await startWorld({ logLevel: process.env.CALLS_LOG ?? 'silent' });
  ({ company, admin } = await world.createCompany());
  groupId = (await world.createGroup(company.id, admin)).id;
});

afterAll(async () => {
  await world?.close();
});

/** Desk and parallel number ring, the desk answers, the caller hangs up after the call is bridged. */
async function answeredCall(wp: WorkplaceView, opts: { afterBridged?: () => Promise<void> } = {}) {
  const deskEndpoint = world.deviceEndpoint(wp.devices[0]!.sipUsername);
  world.driver.setEndpointBehaviour(deskEndpoint, { kind: 'answer', afterMs: 50 });
  world.driver.setEndpointBehaviour(world.externalEndpoint(MOBILE), { kind: 'manual' });
  const from = world.driver.restLog().length;
  const caller = await world.driver.placeCall({ from: '+4989111222', to: wp.number });
  const desk = await world.driver.waitForChannel(deskEndpoint);
  const parallel = (wp.parallelRinging?.numbers.length ?? 0) > 0;
  const mobile = parallel ? await world.driver.waitForChannel(world.externalEndpoint(MOBILE)) : undefined;
  await until(() => caller.bridgedWith().length > 0, 'caller bridged with the desk');
  await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'registered');
  const { bridgeId } = (await world.store.liveCalls.get(wp.id))!;
  await opts.afterBridged?.();
  await caller.hangup();
  await desk.waitForHangup();
  await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
  const names = new Map([
    [caller.id, 'caller'],
    [desk.id, 'desk'],
    [mobile?.id ?? 'none', 'mobile'],
    [bridgeId, 'bridge'],
  ]);
  const requests = () =>
    world.driver
      .restLog()
      .slice(from)
      .map(
        (r) =>
          `${r.method} ${r.path.replace(/^\/ari/, '').replace(/[^/]+/g, (seg) => names.get(seg) ?? seg)}`,
      )
      .sort();
  return { bridgeId, requests };
}

describe('reused bridges', () => {
  it('two answered workplace calls in a row share one bridge; the second costs 7 REST requests and creates or destroys no bridge', async () => {
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [MOBILE], answerConfirmation: false },
    });
    const first = await answeredCall(wp);
    await until(() => world.controller.bridgePool().idle === 1, 'the bridge idle again');
    expect(first.requests()).toContain('POST /bridges');

    const second = await answeredCall(wp);
    await until(() => world.controller.bridgePool().idle === 1, 'the bridge idle again');
    expect(second.bridgeId).toBe(first.bridgeId);
    expect(second.requests()).toEqual(
      [
        'POST /channels/caller/ring',
        'POST /channels', // originate the desk
        'POST /channels', // originate the mobile
        'DELETE /channels/mobile', // answered elsewhere
        'POST /channels/caller/answer',
        'POST /bridges/bridge/addChannel', // both channels in one request
        'DELETE /channels/desk', // the caller hung up
      ].sort(),
    );
    expect(world.controller.bridgePool()).toMatchObject({ created: 1, reused: 1, destroyed: 0, busy: 0 });
    expect(world.driver.bridges()).toEqual([{ id: first.bridgeId, channelIds: [] }]);
  });

  it("is not handed to the next call while the last call's desk may still be in it", async () => {
    const wp = await workplace();
    const other = await workplace();
    // the controller does not hear the desk leave (its StasisEnd and ChannelDestroyed held back)
    const held: AriEventBase[] = [];
    let deskId: string | undefined;
    const events = world.ari.events as unknown as { dispatch(e: AriEventBase): void };
    const dispatch = events.dispatch.bind(events);
    events.dispatch = (e) => {
      const channel = (e as { channel?: { id?: string } }).channel?.id;
      if (channel && channel === deskId && (e.type === 'StasisEnd' || e.type === 'ChannelDestroyed')) {
        held.push(e);
        return;
      }
      dispatch(e);
    };
    try {
      const first = await answeredCall(wp, {
        afterBridged: async () => {
          deskId = (await world.store.liveCalls.get(wp.id))!.deviceChannelId;
        },
      });
      expect(held.map((e) => e.type)).toContain('ChannelDestroyed');
      const idleBefore = world.controller.bridgePool().idle;
      const second = await answeredCall(other);
      expect(second.bridgeId).not.toBe(first.bridgeId);
      expect(second.requests()).toContain('POST /bridges'); // a bridge created for it
      // the desk's end arrives: the first bridge is empty for sure and goes back to the pool
      for (const e of held.splice(0)) dispatch(e);
      await until(() => world.controller.bridgePool().idle === idleBefore + 2, 'both bridges idle');
    } finally {
      events.dispatch = dispatch;
    }
  });
});
