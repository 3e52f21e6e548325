/**
 * The live-call registry: *11 from another device of the workplace pulls the running call
 * (remote party never dropped, old leg released, registry updated), and the reconcile after an
 * event-socket reconnect releases what no session knows while keeping running calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Company } from '../../../src/domain/model.js';
import { answeredOnTheDesk, startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextNumber = 50;
const CALLER = '+4989111333';

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

describe('*11 pull between devices', () => {
  it('moves the remote party to the pulling device, releases the old leg, and can pull back', async () => {
    const wp = await workplace({
      devices: [{ type: 'deskphone', model: 'Yealink T54W' }, { type: 'mobile' }],
    });
    const [desk, mobileClient] = wp.devices.map((d) => world.deviceEndpoint(d.sipUsername)) as [
      string,
      string,
    ];
    world.driver.setEndpointBehaviour(desk, { kind: 'answer', afterMs: 10 });
    world.driver.setEndpointBehaviour(mobileClient, { kind: 'manual' });
    const remote = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const deskLeg = await world.driver.waitForChannel(desk);
    const other = await world.driver.waitForChannel(mobileClient);
    expect(await other.waitForHangup()).toBe(26);
    await until(() => remote.bridgedWith().length > 0, 'bridge');
    await until(
      async () => (await world.store.liveCalls.get(wp.id))?.deviceChannelId === deskLeg.id,
      'registered',
    );

    // the mobile client dials *11
    const puller = await world.callFromDevice(wp, '*11', 1);
    await until(() => remote.bridgedWith()[0] === puller.id, 'remote bridged with the puller');
    expect(await deskLeg.waitForHangup()).toBe(16);
    expect(remote.isAlive()).toBe(true);
    expect(remote.heard()).toEqual([]);
    await until(
      async () => (await world.store.liveCalls.get(wp.id))?.deviceChannelId === puller.id,
      're-registered',
    );

    // and back to the desk phone's line
    const back = await world.callFromDevice(wp, '*11', 0);
    await until(() => remote.bridgedWith()[0] === back.id, 'remote bridged with the desk again');
    await puller.waitForHangup();
    expect(remote.isAlive()).toBe(true);

    await remote.hangup();
    expect(await back.waitForHangup()).toBe(16);
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
    await until(() => world.driver.bridges().length === 0, 'bridges destroyed');
  });

  it('*11 without a running call says so', async () => {
    const wp = await workplace();
    const puller = await world.callFromDevice(wp, '*11', 0);
    await puller.waitForHangup();
    expect(puller.heard()).toEqual(['sound:pbx/no-running-call']);
  });
});

describe('reconcile after the event socket comes back', () => {
  it('releases channels and registry entries no session knows, and keeps running calls', async () => {
    const wp = await workplace();
    const desk = world.deviceEndpoint(wp.devices[0]!.sipUsername);
    world.driver.setEndpointBehaviour(desk, { kind: 'answer', afterMs: 10 });
    const running = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const deskLeg = await world.driver.waitForChannel(desk);
    await until(() => running.bridgedWith().length > 0, 'bridge');

    // a channel in the app that no session owns (as after a crash of another process)
    const stray = await world.driver.placeCall({ from: CALLER, to: '+4930123400', args: ['orphan'] });
    // a registry entry of this controller for a call that is long gone
    await world.store.liveCalls.put({
      workplaceId: 'gone-workplace',
      bridgeId: 'gone-bridge',
      remoteChannelId: 'gone-remote',
      deviceChannelId: 'gone-device',
      controllerId: world.controller.context.controllerId,
      startedAt: new Date().toISOString(),
    });

    world.driver.dropEventSockets();
    await stray.waitForHangup();
    await until(
      async () => (await world.store.liveCalls.get('gone-workplace')) === undefined,
      'stale entry removed',
    );
    expect(running.isAlive()).toBe(true);
    expect(deskLeg.isAlive()).toBe(true);
    expect(running.bridgedWith()).toEqual([deskLeg.id]);
    expect(await world.store.liveCalls.get(wp.id)).toMatchObject({ remoteChannelId: running.id });

    // events flow again: the running call still ends cleanly
    await deskLeg.hangup();
    expect(await running.waitForHangup()).toBe(16);
  });

  it('a call whose device hung up while the socket was down is ended by the reconcile', async () => {
    const wp = await workplace();
    const { caller, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);

    world.driver.dropEventSockets();
    // no event socket: nobody hears this hangup
    await deskLeg.hangup();
    expect(await caller.waitForHangup()).toBe(16);
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
  });
});

describe('controller stop', () => {
  it('hangs up the running calls, clears their registry entries and routes nothing new', async () => {
    const wp = await workplace();
    const desk = world.deviceEndpoint(wp.devices[0]!.sipUsername);
    world.driver.setEndpointBehaviour(desk, { kind: 'answer', afterMs: 10 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'registered');

    await world.controller.stop();
    expect(caller.isAlive()).toBe(false);
    expect(await world.store.liveCalls.get(wp.id)).toBeUndefined();
    expect(world.controller.router.sessions.size).toBe(0);

    // a test observer on the same client sees the StasisStart in the same dispatch as the router would
    let seen: (id: string) => void = () => {};
    const dispatched = new Promise<string>((resolve) => (seen = resolve));
    const off = world.ari.events.on('StasisStart', (e) =>
      seen((e as { channel: { id: string } }).channel.id),
    );
    const late = await world.driver.placeCall({ from: CALLER, to: wp.number });
    expect(await dispatched).toBe(late.id);
    off();
    // nothing answers, rings or dials for it: the channel just sits in Stasis
    expect(world.controller.router.sessions.size).toBe(0);
    expect(world.driver.restLog().some((r) => r.path.includes(`/channels/${late.id}/`))).toBe(false);
    await late.hangup();
  });
});
