/**
 * Re-adoption (src/calls/recovery/adoption.ts) on the simulator: the controller process dies (its
 * event socket and REST client go away without a word) while calls run, and a new controller
 * with the same CONTROLLER_ID starts on the same Asterisk and Redis. Answered calls go on —
 * either side's hang-up ends the other, *11 can pull them, the registry stays true — calls in
 * set-up are ended, never left ringing, and a voicebox message being recorded is kept. The
 * call-list record of a call taken over is written once, when it ends, as the dead process
 * would have: from the trace saved with its registry entry, else rebuilt from Asterisk. A
 * call-through of the Anywhere portal keeps its fraud guard: cut at its original deadline,
 * its slot freed and its talk time counted when it ends.
 */
import { isDeepStrictEqual } from 'node:util';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAriClient, type AriClient } from '../../../src/ari/index.js';
import { createCallEvents } from '../../../src/calls/reporting/call-events.js';
import { CALL_THROUGH_VARIABLE, parseCallThroughTag } from '../../../src/calls/flows/portal/call-through.js';
import { startCallController, type CallController } from '../../../src/calls/controller.js';
import { portalFlow } from '../../../src/calls/flows/portal/portal.js';
import type { CallThroughPolicySettings } from '../../../src/domain/fraud.js';
import type { AnywherePortal, Company } from '../../../src/domain/model.js';
import { callRecordSchema, type CallRecord, type NewEvent } from '../../../src/events/model.js';
import { answeredOnTheDesk, startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextNumber = 10;
const CALLER = '+4989111444';
const FORWARD_TO = '+4940777000444';

async function workplace(body: Record<string, unknown> = {}): Promise<WorkplaceView> {
  const number = `+49301234${String(nextNumber++).padStart(2, '0')}`;
  return world.createWorkplace(company.id, admin, { groupId, number, ...body });
}

/** the controller of the moment; the first one is the world's */
let current: { ari: AriClient; controller: CallController } | undefined;
const successors: Array<{ ari: AriClient; controller: CallController }> = [];

/** kill -9 of the controller: no stop, no hang-up; Asterisk just loses the socket */
async function crash(): Promise<void> {
  const dying = current ?? { ari: world.ari, controller: world.controller };
  await dying.ari.close();
}

/** what the new processes' call-event buses published (the dead one's is the world's) */
const published: NewEvent[] = [];

/** a new controller process on the same Asterisk, Redis and CONTROLLER_ID */
async function restart(): Promise<CallController> {
  const logger = pino({ level: process.env.CALLS_LOG ?? 'silent' });
  // its own bus: nothing of the dead process's traces; it writes to the same call lists
  const { backend } = world.telemetry;
  const events = createCallEvents({
    publish: (event) => {
      published.push(event);
      backend.events.append(event);
    },
    records: (records) => backend.records.add(records),
    logger,
  });
  const ari = createAriClient({
    url: world.config.ARI_URL,
    username: 'ari',
    password: 'ari',
    app: world.config.ARI_APP,
    logger,
  });
  const controller = await startCallController({
    ari,
    store: world.store,
    config: world.config,
    logger,
    events,
    flows: { portal: portalFlow },
    // ended call-throughs are settled soon (no next admission carries them here)
    callThroughGuard: { settleDelayMs: 50 },
  });
  await ari.connect();
  current = { ari, controller };
  successors.push(current);
  return controller;
}

/**
 * The workplace's call-list lines of the call, as its users read them (the API), once the
 * first one is there; a while longer for a second one that should not come.
 */
async function linesOf(wp: WorkplaceView, callId: string): Promise<CallRecord[]> {
  const read = async () => {
    const res = await world.api<{ items: CallRecord[] }>(
      'GET',
      `/v1/companies/${company.id}/workplaces/${wp.id}/calls?limit=50`,
      undefined,
      admin,
    );
    return res.body.items.filter((r) => r.id === callId).map((r) => callRecordSchema.parse(r));
  };
  await until(async () => (await read()).length > 0, `the call-list line of ${callId}`);
  await new Promise((r) => setTimeout(r, 200));
  return read();
}

const endedEvents = (callId: string) =>
  published.filter((e) => e.type === 'call.ended' && 'callId' in e && e.callId === callId);

const TWO_DEVICES = { devices: [{ type: 'deskphone', model: 'Yealink T54W' }, { type: 'mobile' }] };
/** made before the first crash: device provisioning goes through the first controller's client */
const workplaces: WorkplaceView[] = [];

/** An employee calling the Anywhere portal from a mobile (parallel ringing), no PIN. */
interface Employee {
  wp: WorkplaceView;
  mobile: string;
  portal: AnywherePortal;
}
const employees: Employee[] = [];

async function employee(n: number): Promise<Employee> {
  const mobile = `+491703000${n}`;
  const wp = await workplace({
    parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
  });
  const portal = await world.createPortal(company.id, admin, {
    groupId,
    number: `+49301234${String(nextNumber++).padStart(2, '0')}`,
    pinRequired: false,
  });
  return { wp, mobile, portal };
}

/** The employee calls through the portal to `e164` (dialled nationally); answered at once. */
async function callThrough(e: Employee, e164: string) {
  world.driver.setEndpointBehaviour(world.externalEndpoint(e164), { kind: 'answer', afterMs: 20 });
  const mobile = await world.driver.placeCall({ from: e.mobile, to: e.portal.number });
  await mobile.waitForPlayback('sound:pbx/portal-welcome');
  await mobile.pressDigits(`0${e164.slice(3)}#`);
  await until(() => mobile.bridgedWith().length > 0, 'the call-through connected');
  const far = world.driver.channel(mobile.bridgedWith()[0]!)!;
  expect(far.endpoint).toBe(world.externalEndpoint(e164));
  // the ticket the leg carries, set by the originate that created it
  const leg = parseCallThroughTag(far.variables()[CALL_THROUGH_VARIABLE]);
  expect(leg).toMatchObject({ companyId: company.id, workplaceId: e.wp.id, to: e164 });
  return { mobile, far, leg: leg! };
}

/** The day's call-through counters of the employee's workplace. */
async function usage(e: Employee) {
  return (await world.store.callThroughs.usage(company.id, e.wp.id, Date.now())).usage.workplace;
}

/** Talk time of the workplace earlier today. */
async function talkedEarlier(e: Employee, seconds: number): Promise<void> {
  await world.store.callThroughs.settle([
    {
      callId: `earlier-${e.wp.id}`,
      companyId: company.id,
      workplaceId: e.wp.id,
      startedAtMs: Date.now(),
      seconds,
    },
  ]);
}

beforeAll(async () => {
  world = await startWorld({
    logLevel: process.env.CALLS_LOG ?? 'silent',
    flows: { portal: portalFlow },
    timing: { menuTimeoutMs: 1500, interDigitTimeoutMs: 600 },
  });
  ({ company, admin } = await world.createCompany());
  groupId = (await world.createGroup(company.id, admin)).id;
  for (const body of [
    {},
    {},
    {},
    TWO_DEVICES,
    TWO_DEVICES,
    { devices: [] },
    { devices: [] },
    TWO_DEVICES,
    {},
    TWO_DEVICES,
    {},
    { forwarding: { always: { enabled: true, target: { number: FORWARD_TO } } } },
  ]) {
    workplaces.push(await workplace(body));
  }
  for (const n of [0, 1]) employees.push(await employee(n));
  // the day's call-through minutes of a workplace: one (the cut comes within seconds)
  const policy: CallThroughPolicySettings = { perWorkplace: { minutesPerDay: 1 } };
  const res = await world.api('PUT', `/v1/companies/${company.id}/call-through-policy`, policy, admin);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await until(
    async () =>
      isDeepStrictEqual(
        (await world.controller.context.cache.company(company.id))?.callThroughPolicy,
        policy,
      ),
    'the policy seen by the controller',
  );
});

afterEach(() => {
  world.driver.setEndpointBehaviour('*', { kind: 'answer' });
});

/** the employee's call-list lines of the call */
const employeeLines = (e: Employee, callId: string) => linesOf(e.wp, callId);

afterAll(async () => {
  for (const s of successors) {
    await s.controller.stop().catch(() => {});
    await s.ari.close().catch(() => {});
  }
  await world?.close();
});

describe('a restarted controller re-adopts', () => {
  it('an answered call: still bridged, registered, and a hang-up on either side ends the other', async () => {
    const wp = workplaces.shift()!;
    const placedAt = Date.now();
    const { caller, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);
    const registered = await world.store.liveCalls.get(wp.id);
    expect(registered).toMatchObject({ remoteChannelId: caller.id, deviceChannelId: deskLeg.id });
    // a reused bridge: its name tells no call, the desk leg's variable does
    const bridge = await world.ari.bridges.get({ bridgeId: registered!.bridgeId });
    expect(bridge.name).toBe(`pbx-pool:${world.config.ARI_APP}`);
    // the call's trace rides on the entry: started and answered before the crash
    const saved = registered!.trace!;
    expect(saved).toMatchObject({ callId: caller.id, from: CALLER, to: wp.number, target: { id: wp.id } });

    const crashedAt = Date.now();
    await crash();
    const controller = await restart();
    // the reconcile ran on connect
    await until(() => controller.router.sessions.has(caller.id), 'the caller has a session again');
    expect(caller.isAlive()).toBe(true);
    expect(deskLeg.isAlive()).toBe(true);
    expect(caller.bridgedWith()).toEqual([deskLeg.id]);
    expect(await world.store.liveCalls.get(wp.id)).toMatchObject({
      remoteChannelId: caller.id,
      deviceChannelId: deskLeg.id,
      bridgeId: registered!.bridgeId,
    });

    await deskLeg.hangup();
    expect(await caller.waitForHangup()).toBe(16);
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
    await until(() => world.driver.bridges().length === 0, 'bridge destroyed');

    // one line in the call list, with the start and answer of before the crash
    const lines = await linesOf(wp, caller.id);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      direction: 'inbound',
      outcome: 'answered',
      from: CALLER,
      to: wp.number,
      startedAt: new Date(saved.startedMs).toISOString(),
      answeredAt: saved.answeredAt,
      answeredBy: { kind: 'device', id: wp.devices[0]!.id },
      cause: 16,
      adopted: 'trace',
    });
    expect(Date.parse(line!.startedAt)).toBeGreaterThanOrEqual(placedAt);
    expect(Date.parse(line!.answeredAt!)).toBeLessThanOrEqual(crashedAt);
    // the talk time runs from the answer before the crash, not from the takeover
    expect(line!.durationSeconds).toBe(
      Math.round((Date.parse(line!.endedAt) - Date.parse(saved.answeredAt!)) / 1000),
    );
    expect(endedEvents(caller.id)).toMatchObject([{ workplaceId: wp.id, outcome: 'answered' }]);
  });

  it('an answered call whose caller hangs up after the restart releases the desk phone', async () => {
    const wp = workplaces.shift()!;
    const { caller, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);

    await crash();
    const controller = await restart();
    await until(() => controller.router.sessions.has(caller.id), 'the caller has a session again');
    await caller.hangup();
    await deskLeg.waitForHangup();
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
  });

  it('a call whose desk phone hung up while no controller ran is ended on restart', async () => {
    const wp = workplaces.shift()!;
    const { caller, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);

    await crash();
    await deskLeg.hangup();
    await restart();
    await caller.waitForHangup();
    await until(() => world.driver.bridges().length === 0, 'bridge destroyed');
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
  });

  it('*11 pulls a re-adopted call', async () => {
    const wp = workplaces.shift()!;
    const mobileClient = world.deviceEndpoint(wp.devices[1]!.sipUsername);
    world.driver.setEndpointBehaviour(mobileClient, { kind: 'manual' });
    const { caller: remote, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);

    await crash();
    const controller = await restart();
    await until(() => controller.router.sessions.has(remote.id), 'the caller has a session again');

    const puller = await world.callFromDevice(wp, '*11', 1);
    await until(() => remote.bridgedWith()[0] === puller.id, 'remote bridged with the puller');
    expect(await deskLeg.waitForHangup()).toBe(16);
    expect(remote.isAlive()).toBe(true);
    await until(
      async () => (await world.store.liveCalls.get(wp.id))?.deviceChannelId === puller.id,
      're-registered with the puller',
    );
    await puller.hangup();
    await remote.waitForHangup();
    // recorded as pulled, as a call that never saw a restart is
    expect(await linesOf(wp, remote.id)).toMatchObject([
      { outcome: 'pulled', pulledTo: wp.extension, from: CALLER, adopted: 'trace' },
    ]);
  });

  it('a call still ringing is ended at once: caller and every leg hung up', async () => {
    const wp = workplaces.shift()!;
    const [desk, mobileClient] = wp.devices.map((d) => world.deviceEndpoint(d.sipUsername)) as [
      string,
      string,
    ];
    world.driver.setEndpointBehaviour(desk, { kind: 'manual' });
    world.driver.setEndpointBehaviour(mobileClient, { kind: 'manual' });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const legs = [await world.driver.waitForChannel(desk), await world.driver.waitForChannel(mobileClient)];

    await crash();
    await restart();
    await caller.waitForHangup();
    for (const leg of legs) await leg.waitForHangup();
  });

  it('a voicebox message being recorded is kept: the caller goes on speaking, then hangs up', async () => {
    const wp = workplaces.shift()!;
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await caller.waitForPlayback('sound:pbx/beep');
    await until(
      () =>
        world.driver.restLog().some((r) => r.method === 'POST' && r.path === `/channels/${caller.id}/record`),
      'the recording started',
    );
    await until(
      async () =>
        (await world.store.recordingsInProgress.list(world.controller.context.controllerId)).length === 1,
      'the recording is on record',
    );

    await crash();
    const controller = await restart();
    await until(() => controller.router.sessions.has(caller.id), 'the caller has a session again');
    await caller.speak(500);
    await caller.hangup();
    await until(async () => (await world.store.voicebox.list(wp.id)).length === 1, 'message stored');
    const [message] = await world.store.voicebox.list(wp.id);
    expect(message).toMatchObject({ callerNumber: CALLER, status: 'new', workplaceId: wp.id });
    expect(world.driver.storedRecordings().map((r) => r.name)).toContain(message!.recordingName);
    await until(
      async () =>
        (await world.store.recordingsInProgress.list(world.controller.context.controllerId)).length === 0,
      'the in-progress record removed',
    );
  });

  it('a voicebox message whose caller hung up while no controller ran is stored on restart', async () => {
    const wp = workplaces.shift()!;
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await caller.waitForPlayback('sound:pbx/beep');
    await until(
      async () =>
        (await world.store.recordingsInProgress.list(world.controller.context.controllerId)).length === 1,
      'the recording is on record',
    );
    await until(
      () =>
        world.driver.restLog().some((r) => r.method === 'POST' && r.path === `/channels/${caller.id}/record`),
      'the recording started',
    );

    await crash();
    await caller.speak(500);
    await caller.hangup();
    await restart();
    await until(async () => (await world.store.voicebox.list(wp.id)).length === 1, 'message stored');
    const [message] = await world.store.voicebox.list(wp.id);
    expect(world.driver.storedRecordings().map((r) => r.name)).toContain(message!.recordingName);
  });

  it('a graceful hand-over leaves the answered call up, ends the ringing one, refuses new calls with 34', async () => {
    const wp = workplaces.shift()!;
    const [desk, mobileClient] = wp.devices.map((d) => world.deviceEndpoint(d.sipUsername)) as [
      string,
      string,
    ];
    const { caller: talking, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);
    world.driver.setEndpointBehaviour(desk, { kind: 'manual' });
    world.driver.setEndpointBehaviour(mobileClient, { kind: 'manual' });
    const ringing = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const ringingLeg = await world.driver.waitForChannel(mobileClient);

    const stopping = current!;
    await stopping.controller.stop({ handOver: true });
    // the answered call is left to Asterisk (and its registry entry to the next controller)
    expect(talking.isAlive()).toBe(true);
    expect(deskLeg.isAlive()).toBe(true);
    expect(await world.store.liveCalls.get(wp.id)).toMatchObject({ remoteChannelId: talking.id });
    // the call in set-up is ended with its legs
    await ringing.waitForHangup();
    await ringingLeg.waitForHangup();
    // until the socket closes, a new call is refused: congestion, the caller may retry
    const late = await world.driver.placeCall({ from: CALLER, to: wp.number });
    expect(await late.waitForHangup()).toBe(34);

    await crash();
    const next = await restart();
    await until(() => next.router.sessions.has(talking.id), 'the next controller holds the call');
    await talking.hangup();
    await deskLeg.waitForHangup();
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'registry cleared');
    // a rolling deploy loses no line: written once, by the controller that saw the call end
    expect(await linesOf(wp, talking.id)).toMatchObject([
      { outcome: 'answered', answeredBy: { kind: 'device' }, adopted: 'trace' },
    ]);
  });

  it("the earlier process's idle bridges are destroyed; a pulled call is re-adopted from its own bridge's name", async () => {
    const plain = workplaces.shift()!;
    const { caller: done, deskLeg: doneLeg } = await answeredOnTheDesk(world, plain, CALLER);
    await done.hangup();
    await doneLeg.waitForHangup();
    await until(() => current!.controller.bridgePool().idle > 0, 'a bridge idle in the pool');

    const wp = workplaces.shift()!;
    const [deskOf, clientOf] = wp.devices.map((d) => world.deviceEndpoint(d.sipUsername)) as [string, string];
    world.driver.setEndpointBehaviour(deskOf, { kind: 'answer', afterMs: 10 });
    world.driver.setEndpointBehaviour(clientOf, { kind: 'manual' });
    const remote = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const deskLeg = await world.driver.waitForChannel(deskOf);
    await until(() => remote.bridgedWith().length > 0, 'bridge');
    const puller = await world.callFromDevice(wp, '*11', 1);
    await until(() => remote.bridgedWith()[0] === puller.id, 'remote bridged with the puller');
    await deskLeg.waitForHangup();
    await until(
      async () => (await world.store.liveCalls.get(wp.id))?.deviceChannelId === puller.id,
      'registered with the puller',
    );
    const pulledBridge = world.driver.bridges().find((b) => b.channelIds.includes(remote.id))!.id;
    expect((await current!.ari.bridges.get({ bridgeId: pulledBridge })).name).toMatch(/^pbx-call:/);

    await crash();
    const controller = await restart();
    await until(() => controller.router.sessions.has(remote.id), 'the pulled call has a session again');
    // nothing but the pulled call's bridge is left: the idle ones of the crashed process are gone
    await until(() => world.driver.bridges().length === 1, 'idle bridges of the crashed process destroyed');
    expect(world.driver.bridges()[0]!.id).toBe(pulledBridge);
    expect(await world.store.liveCalls.get(wp.id)).toMatchObject({
      remoteChannelId: remote.id,
      deviceChannelId: puller.id,
    });
    await puller.hangup();
    await remote.waitForHangup();
    await until(() => world.driver.bridges().length === 0, "the pulled call's bridge destroyed");
    // pulled before the crash: the entry the move wrote says so
    expect(await linesOf(wp, remote.id)).toMatchObject([
      { outcome: 'pulled', pulledTo: wp.extension, adopted: 'trace' },
    ]);
  });

  it('a call whose registry entry carries no trace (an earlier version wrote it): its line rebuilt from Asterisk', async () => {
    const wp = workplaces.shift()!;
    const placedAt = Date.now();
    const { caller, deskLeg } = await answeredOnTheDesk(world, wp, CALLER);
    const { trace: _trace, ...older } = (await world.store.liveCalls.get(wp.id))!;
    await world.store.liveCalls.put(older);

    await crash();
    const controller = await restart();
    await until(() => controller.router.sessions.has(caller.id), 'the caller has a session again');
    await caller.hangup();
    await deskLeg.waitForHangup();

    const lines = await linesOf(wp, caller.id);
    expect(lines).toMatchObject([
      {
        direction: 'inbound',
        outcome: 'answered',
        from: CALLER,
        fromDialled: CALLER,
        to: wp.number,
        toDialled: wp.number,
        // not known: when the entry says the call was connected
        answeredAt: older.startedAt,
        adopted: 'asterisk',
      },
    ]);
    // started when Asterisk created the caller's channel
    expect(Date.parse(lines[0]!.startedAt)).toBeGreaterThanOrEqual(placedAt - 1000);
    expect(Date.parse(lines[0]!.startedAt)).toBeLessThanOrEqual(Date.parse(older.startedAt));
    expect(lines[0]).not.toHaveProperty('answeredBy');
    expect(endedEvents(caller.id)).toHaveLength(1);
  });

  it('a forwarded call (registered nowhere): its line rebuilt from Asterisk, in the list of the workplace it was for', async () => {
    const wp = workplaces.shift()!;
    world.driver.setEndpointBehaviour(world.externalEndpoint(FORWARD_TO), { kind: 'answer', afterMs: 10 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await until(() => caller.bridgedWith().length > 0, 'bridged with the forward target');
    const [target] = caller.bridgedWith();
    expect(await world.store.liveCalls.get(wp.id)).toBeUndefined();

    await crash();
    const controller = await restart();
    const adoptedAt = Date.now();
    await until(() => controller.router.sessions.has(caller.id), 'the caller has a session again');
    await world.driver.channel(target!)!.hangup();
    await caller.waitForHangup();

    const [line, ...more] = await linesOf(wp, caller.id);
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      direction: 'inbound',
      outcome: 'answered',
      from: CALLER,
      to: wp.number,
      adopted: 'asterisk',
    });
    // not known when it was answered: at worst the takeover, so the talk time may be short
    expect(Date.parse(line!.answeredAt!)).toBeGreaterThanOrEqual(adoptedAt - 1000);
    expect(line).not.toHaveProperty('forwardedTo');
  });
});

describe('a re-adopted call-through keeps its fraud guard', () => {
  it('cut at its original deadline; its slot freed and its talk time counted; its line exact', async () => {
    const e = employees[0]!;
    // 54 of the day's 60 seconds were talked earlier: 6 left
    await talkedEarlier(e, 54);
    const destination = '+4940555300061';
    const { mobile, far, leg } = await callThrough(e, destination);
    const deadline = leg.guard!.deadlineMs;
    expect(deadline - leg.guard!.admittedAtMs).toBe(6000);
    expect(await usage(e)).toMatchObject({ active: 1, secondsToday: 54 });

    await crash();
    const controller = await restart();
    await until(() => controller.router.sessions.has(mobile.id), 'the call-through has a session again');
    expect(Date.now()).toBeLessThan(deadline);
    expect(mobile.bridgedWith()).toEqual([far.id]);

    // nobody hangs up: the new controller cuts it when the minutes are used up
    await mobile.waitForHangup(10_000);
    const cutAt = Date.now();
    await far.waitForHangup();
    expect(cutAt).toBeGreaterThanOrEqual(deadline);
    expect(cutAt).toBeLessThan(deadline + 1000);

    // settled: the slot is free, the talk time (from the leg's creation) counted
    await until(async () => (await usage(e)).active === 0, 'the slot freed');
    const { secondsToday } = await usage(e);
    expect(secondsToday).toBeGreaterThanOrEqual(59);
    expect(secondsToday).toBeLessThanOrEqual(61);

    // the employee's line, as the portal would have written it
    const lines = await employeeLines(e, mobile.id);
    expect(lines).toMatchObject([
      {
        workplaceId: e.wp.id,
        portalId: e.portal.id,
        direction: 'outbound',
        outcome: 'call-through',
        from: e.wp.number,
        to: destination,
        fromDialled: e.mobile,
        toDialled: e.portal.number,
        answeredBy: { kind: 'number', id: destination },
        adopted: 'asterisk',
      },
    ]);
    // its talk time is the one the guard counted
    expect(lines[0]!.durationSeconds).toBe(secondsToday - 54);
  });

  it('handed over (SIGTERM): the next controller settles it, once', async () => {
    const e = employees[1]!;
    const { mobile, far } = await callThrough(e, '+4940555300062');
    await until(async () => (await usage(e)).active === 1, 'the slot taken');

    const stopping = current ?? { ari: world.ari, controller: world.controller };
    await stopping.controller.stop({ handOver: true });
    await crash();
    const controller = await restart();
    await until(
      () => controller.router.sessions.has(mobile.id),
      'the next controller holds the call-through',
    );
    // the stopped one settled nothing: the call is still on
    expect(await usage(e)).toMatchObject({ active: 1, secondsToday: 0 });

    await new Promise((r) => setTimeout(r, 1200));
    await far.hangup();
    await mobile.waitForHangup();
    await until(async () => (await usage(e)).active === 0, 'the slot freed');
    const talked = (await usage(e)).secondsToday;
    expect(talked).toBeGreaterThanOrEqual(1);
    expect(talked).toBeLessThanOrEqual(3);
    expect(await employeeLines(e, mobile.id)).toMatchObject([
      { outcome: 'call-through', to: '+4940555300062', durationSeconds: talked },
    ]);
  });
});
