/**
 * Issue 5 "Done when": the Anywhere portal end to end on the simulator — the API provisions
 * workplaces and portals, the controller routes calls to the portal number into portalFlow,
 * and each scenario asserts what the caller heard and which channels were bridged.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortalFlow } from '../../../../src/calls/flows/context.js';
import { portalFlow } from '../../../../src/calls/flows/portal/portal.js';
import type { AnywherePortal, BlockingProfile, Company } from '../../../../src/domain/model.js';
import type { SimChannel } from '../../../../tools/ari-sim/index.js';
import { startWorld, until, type World, type WorkplaceView } from '../../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextWorkplace = 10;
let nextPortal = 10;
let nextMobile = 100;

const REMOTE = '+4989111222';
const sound = (id: string) => `sound:pbx/${id}`;

/** A fresh mobile number per test: parallel-ringing numbers are looked up store-wide. */
function mobileNumber(): string {
  return `+4917010${String(nextMobile++).padStart(5, '0')}`;
}

/** A workplace (PIN 4711) whose parallel-ringing list holds `mobile`. */
async function employee(mobile: string, body: Record<string, unknown> = {}): Promise<WorkplaceView> {
  const number = `+4930121${String(nextWorkplace++).padStart(3, '0')}`;
  return world.createWorkplace(company.id, admin, {
    groupId,
    number,
    parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    ...body,
  });
}

async function portal(body: Record<string, unknown> = {}): Promise<AnywherePortal> {
  return world.createPortal(company.id, admin, {
    groupId,
    number: `+4930129${String(nextPortal++).padStart(3, '0')}`,
    ...body,
  });
}

function device(wp: WorkplaceView, i = 0): string {
  return world.deviceEndpoint(wp.devices[i]!.sipUsername);
}

/** Resolves once the channel has heard the prompt `times` times (playbacks started). */
async function heardTimes(ch: SimChannel, id: string, times: number): Promise<void> {
  await until(() => ch.heard().filter((m) => m === sound(id)).length >= times, `${id} ×${times}`);
}

/** A remote caller talking to the workplace's desk phone (the call *11 pulls). */
async function runningDeskCall(wp: WorkplaceView): Promise<{ remote: SimChannel; desk: SimChannel }> {
  world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 50 });
  const remote = await world.driver.placeCall({ from: REMOTE, to: wp.number });
  const desk = await world.driver.waitForChannel(device(wp));
  await until(() => remote.bridgedWith().length > 0, 'remote and desk bridged');
  expect(remote.bridgedWith()).toEqual([desk.id]);
  await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'live call registered');
  return { remote, desk };
}

/** Calls the portal from the mobile, enters the PIN and waits for the menu. */
async function intoMenu(p: AnywherePortal, from: string, pin = '4711'): Promise<SimChannel> {
  const mobile = await world.driver.placeCall({ from, to: p.number });
  await mobile.waitForPlayback(sound('enter-pin'));
  await mobile.pressDigits(`${pin}#`);
  await mobile.waitForPlayback(sound('portal-welcome'));
  return mobile;
}

/** Every channel the controller ever created for this endpoint (from the event stream). */
function channelsCreatedFor(endpoint: string): string[] {
  return world.driver
    .events()
    .filter(({ event }) => event.type === 'ChannelCreated' && event.channel?.name?.startsWith(`${endpoint}-`))
    .map(({ event }) => event.channel.id as string);
}

/** Whether the controller's call path (number → portal) already sees the portal changed. */
async function portalSeen(p: AnywherePortal, check: (seen: AnywherePortal) => boolean): Promise<boolean> {
  const target = await world.controller.context.cache.resolveNumber(p.number);
  return target?.kind === 'portal' && check(target.portal);
}

async function blockingProfile(outgoing: string[]): Promise<BlockingProfile> {
  const res = await world.api<BlockingProfile>(
    'POST',
    `/v1/companies/${company.id}/blocking-profiles`,
    { name: `block ${outgoing.join(',')}`, incoming: [], outgoing, forwarded: [] },
    admin,
  );
  expect(res.status).toBe(201);
  return res.body;
}

const LONG_PROMPTS = [sound('portal-welcome'), sound('pin-wrong')];

/** Every log line of the portal calls (the flow logs on the session's logger). */
const logLines: Array<Record<string, unknown>> = [];
const captureLogger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  }),
);
/** portalFlow, with the session logging into logLines (the router's logger writes to stdout) */
const capturingPortalFlow: PortalFlow = (session, portal, ctx, caller) => {
  (session as { log: Logger }).log = captureLogger.child({ call: session.channelId });
  return portalFlow(session, portal, ctx, caller);
};

beforeAll(async () => {
  world = await startWorld({
    flows: { portal: capturingPortalFlow },
    // the welcome menu and "wrong PIN" last long enough (1.2 s real) that digits reliably
    // arrive while they play (type-ahead); every other prompt is short
    mediaDurationMs: (media) => (LONG_PROMPTS.includes(media) ? 60_000 : 1000),
    timing: { menuTimeoutMs: 1500, firstDigitTimeoutMs: 2000, interDigitTimeoutMs: 800 },
    logLevel: process.env.CALLS_LOG ?? 'silent',
  });
  ({ company, admin } = await world.createCompany());
  groupId = (
    await world.createGroup(company.id, admin, {
      numberRanges: [{ first: '+4930120000', last: '+4930129999' }],
    })
  ).id;
});

afterAll(async () => {
  await world?.close();
});

describe('authentication', () => {
  it('an unknown caller is refused with a short prompt and hung up', async () => {
    const p = await portal();
    const stranger = await world.driver.placeCall({ from: '+4917099999999', to: p.number });
    await stranger.waitForHangup();
    expect(stranger.heard()).toEqual([sound('access-denied')]);
  });

  it('silent mode refuses an unknown caller without a word and without answering', async () => {
    const p = await portal({ silentMode: true });
    const stranger = await world.driver.placeCall({ from: '+4917099999998', to: p.number });
    expect(await stranger.waitForHangup()).toBe(21);
    expect(stranger.heard()).toEqual([]);
    expect(
      world.driver
        .restLog()
        .some((r) => r.method === 'POST' && r.path.endsWith(`/channels/${stranger.id}/answer`)),
    ).toBe(false);
  });

  it('a known caller presenting the national format is matched after normalisation', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal();
    const national = '0' + mobile.slice(3);
    const ch = await intoMenu(p, national);
    expect(ch.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    await ch.hangup();
  });

  it('a wrong PIN three times: told twice, then refused; each failure counted', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await heardTimes(ch, 'enter-pin', attempt);
      await ch.pressDigits('1357#');
    }
    await ch.waitForHangup();
    expect(ch.heard()).toEqual([
      sound('enter-pin'),
      sound('pin-wrong'),
      sound('enter-pin'),
      sound('pin-wrong'),
      sound('enter-pin'),
      sound('access-denied'),
    ]);
    expect(await world.store.pinFailures.get(wp.id)).toBe(3);
  });

  it('type-ahead: the PIN keyed during "wrong PIN" counts (the retry prompt is skipped)', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal();
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForPlayback(sound('enter-pin'));
    await ch.pressDigits('1357#');
    await ch.waitForPlayback(sound('pin-wrong'));
    await ch.pressDigits('4711#');
    await ch.waitForPlayback(sound('portal-welcome'));
    expect(ch.heard()).toEqual([sound('enter-pin'), sound('pin-wrong'), sound('portal-welcome')]);
    await ch.hangup();
  });

  it('five failures across calls lock the PIN (even the right one is refused) until the admin unlocks it', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();

    const first = await world.driver.placeCall({ from: mobile, to: p.number });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await heardTimes(first, 'enter-pin', attempt);
      await first.pressDigits('1357#');
    }
    await first.waitForHangup();
    expect(await world.store.pinFailures.get(wp.id)).toBe(3);

    const second = await world.driver.placeCall({ from: mobile, to: p.number });
    for (const [attempt, pin] of [
      [1, '1357'],
      [2, '1357'],
      [3, '4711'],
    ] as const) {
      await heardTimes(second, 'enter-pin', attempt);
      await second.pressDigits(`${pin}#`);
    }
    await second.waitForHangup();
    // the right PIN after the lock sounds exactly like a wrong one
    expect(second.heard()).toEqual([
      sound('enter-pin'),
      sound('pin-wrong'),
      sound('enter-pin'),
      sound('pin-wrong'),
      sound('enter-pin'),
      sound('access-denied'),
    ]);
    expect(second.heard()).not.toContain(sound('portal-welcome'));
    // every guess is counted before it is checked, the one at the locked PIN too
    expect(await world.store.pinFailures.get(wp.id)).toBe(6);
    const status = await world.api<{ locked?: boolean; failedAttempts?: number }>(
      'GET',
      `/v1/companies/${company.id}/workplaces/${wp.id}/voicebox`,
      undefined,
      admin,
    );
    expect(status.body).toMatchObject({ failedAttempts: 6 });

    const unlock = await world.api(
      'DELETE',
      `/v1/companies/${company.id}/workplaces/${wp.id}/voicebox/lock`,
      undefined,
      admin,
    );
    expect(unlock.status).toBe(200);
    const third = await intoMenu(p, mobile);
    expect(third.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    await third.hangup();
  });

  it('a PIN locked by other calls while this one waits is not accepted', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForPlayback(sound('enter-pin'));
    for (let i = 0; i < 5; i++) await world.store.pinFailures.increment(wp.id);
    await ch.pressDigits('4711#');
    await ch.waitForPlayback(sound('pin-wrong'));
    expect(ch.heard()).not.toContain(sound('portal-welcome'));
    await ch.hangup();
  });

  it('a new PIN set through the API also unlocks, and success resets the counter', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    for (let i = 0; i < 5; i++) await world.store.pinFailures.increment(wp.id);
    const employeeToken = await world.employeeToken(company.id, admin, wp.id);
    const res = await world.api(
      'PUT',
      `/v1/companies/${company.id}/workplaces/${wp.id}/voicebox`,
      { enabled: true, pin: '2580' },
      employeeToken,
    );
    expect(res.status).toBe(200);
    await world.store.pinFailures.increment(wp.id); // one fresh failure: success must reset it
    await until(
      async () => (await world.controller.context.cache.workplace(wp.id))?.voicebox.pinHash !== undefined,
      'cache',
    );
    const ch = await intoMenu(p, mobile, '2580');
    expect(ch.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    expect(await world.store.pinFailures.get(wp.id)).toBe(0);
    await ch.hangup();
  });

  it('a group-level portal refuses an employee of another group; level company admits them', async () => {
    const otherGroup = await world.createGroup(company.id, admin, {
      name: 'Hamburg',
      numberRanges: [{ first: '+4940555000', last: '+4940555099' }],
    });
    const mobile = mobileNumber();
    const hamburg = await world.createWorkplace(company.id, admin, {
      groupId: otherGroup.id,
      number: '+4940555010',
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const p = await portal({ level: 'group' });
    const refused = await world.driver.placeCall({ from: mobile, to: p.number });
    await refused.waitForHangup();
    expect(refused.heard()).toEqual([sound('access-denied')]);
    // their desk phone is no way in either
    const fromDesk = await world.callFromDevice(hamburg, p.number);
    await fromDesk.waitForHangup();
    expect(fromDesk.heard()).toEqual([sound('access-denied')]);

    const res = await world.api(
      'PATCH',
      `/v1/companies/${company.id}/anywhere-portals/${p.id}`,
      { level: 'company' },
      admin,
    );
    expect(res.status).toBe(200);
    await until(
      async () => portalSeen(p, (q) => q.level === 'company'),
      'the change to reach the controller',
    );
    const admitted = await intoMenu(p, mobile);
    expect(admitted.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    await admitted.hangup();
  });

  it("a portal with an area admits only that area's employees", async () => {
    const res = await world.api<{ id: string }>(
      'POST',
      `/v1/companies/${company.id}/groups/${groupId}/areas`,
      { name: 'Sales' },
      admin,
    );
    expect(res.status).toBe(201);
    const areaId = res.body.id;
    const inArea = mobileNumber();
    const outside = mobileNumber();
    await employee(inArea, { areaId });
    await employee(outside);
    const p = await portal({ areaId });

    const refused = await world.driver.placeCall({ from: outside, to: p.number });
    await refused.waitForHangup();
    expect(refused.heard()).toEqual([sound('access-denied')]);
    const admitted = await intoMenu(p, inArea);
    expect(admitted.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    await admitted.hangup();
  });

  it('a number listed on two workplaces is resolved by the PIN', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const second = await employee(mobile, { voicebox: { enabled: true, pin: '2580' } });
    const p = await portal();
    const { remote } = await runningDeskCall(second);
    const ch = await intoMenu(p, mobile, '2580');
    await ch.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(ch.id), 'remote bridged with the mobile');
    await remote.hangup();
    await ch.waitForHangup();
  });

  it('a number listed on two workplaces is refused when the portal asks for no PIN', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    await employee(mobile);
    const p = await portal({ pinRequired: false });
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForHangup();
    expect(ch.heard()).toEqual([sound('access-denied')]);
  });
});

describe('*11 pull', () => {
  it('known caller with PIN → menu → *11: the remote party is bridged with the mobile, the desk leg is gone', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const { remote, desk } = await runningDeskCall(wp);

    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(ch.id), 'remote bridged with the mobile');
    expect(remote.bridgedWith()).toEqual([ch.id]);
    expect(await desk.waitForHangup()).toBe(16);
    expect(remote.isAlive()).toBe(true);
    expect(ch.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    // still registered, now with the mobile as the workplace's leg
    await until(
      async () => (await world.store.liveCalls.get(wp.id))?.deviceChannelId === ch.id,
      'live call re-registered',
    );
    expect(await world.store.liveCalls.get(wp.id)).toMatchObject({ remoteChannelId: remote.id });

    // the remote party hangs up: the mobile is released and the registration removed
    await remote.hangup();
    expect(await ch.waitForHangup()).toBe(16);
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'live call removed');
  });

  it('silent mode: no prompt at all, *11 pulls at once', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal({ silentMode: true, pinRequired: false });
    const { remote, desk } = await runningDeskCall(wp);

    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForState('Up');
    await ch.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(ch.id), 'remote bridged with the mobile');
    expect(remote.bridgedWith()).toEqual([ch.id]);
    await desk.waitForHangup();
    expect(ch.heard()).toEqual([]);
    await ch.hangup();
    expect(await remote.waitForHangup()).toBe(16);
  });

  it('silent mode with PIN: the PIN is taken without a prompt, then *11', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal({ silentMode: true, pinRequired: true });
    const { remote } = await runningDeskCall(wp);
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForState('Up');
    await ch.pressDigits('4711#');
    await ch.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(ch.id), 'remote bridged with the mobile');
    expect(ch.heard()).toEqual([]);
    await remote.hangup();
    await ch.waitForHangup();
  });

  it('silent mode: anything but *11 ends the call; so does silence', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal({ silentMode: true, pinRequired: false });
    const keyed = await world.driver.placeCall({ from: mobile, to: p.number });
    await keyed.waitForState('Up');
    await keyed.pressDigits('5');
    await keyed.waitForHangup();
    expect(keyed.heard()).toEqual([]);

    const quiet = await world.driver.placeCall({ from: mobile, to: p.number });
    await quiet.waitForHangup();
    expect(quiet.heard()).toEqual([]);
  });

  it('type-ahead: *11 keyed during the welcome prompt stops it and pulls', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const { remote } = await runningDeskCall(wp);
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(ch.id), 'pulled');
    const stops = world.driver
      .restLog()
      .filter((r) => r.method === 'DELETE' && r.path.includes('/playbacks/'));
    const welcome = world.driver
      .events()
      .find(
        ({ event }) =>
          event.type === 'PlaybackStarted' &&
          event.playback?.target_uri === `channel:${ch.id}` &&
          event.playback?.media_uri === sound('portal-welcome'),
      );
    expect(welcome).toBeDefined();
    expect(stops.map((r) => r.path)).toContainEqual(expect.stringContaining(welcome!.event.playback.id));
    await remote.hangup();
    await ch.waitForHangup();
  });

  it('*11 with no running call says so and returns to the menu', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal();
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('*11');
    await heardTimes(ch, 'portal-welcome', 2);
    expect(ch.heard()).toEqual([
      sound('enter-pin'),
      sound('portal-welcome'),
      sound('no-running-call'),
      sound('portal-welcome'),
    ]);
    await ch.hangup();
  });

  it('silent mode: *11 with no running call hangs up without a word', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal({ silentMode: true, pinRequired: false });
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForState('Up');
    await ch.pressDigits('*11');
    await ch.waitForHangup();
    expect(ch.heard()).toEqual([]);
  });

  it('pulled to the mobile, then back to the desk phone with *11; then to the mobile and back through the portal number', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const { remote } = await runningDeskCall(wp);

    const onMobile = await intoMenu(p, mobile);
    await onMobile.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(onMobile.id), 'pulled to the mobile');

    // the desk phone dials *11: the call comes back, the mobile is released
    const deskAgain = await world.callFromDevice(wp, '*11');
    await until(() => remote.bridgedWith().includes(deskAgain.id), 'pulled back to the desk');
    expect(remote.bridgedWith()).toEqual([deskAgain.id]);
    expect(await onMobile.waitForHangup()).toBe(16);
    await until(
      async () => (await world.store.liveCalls.get(wp.id))?.deviceChannelId === deskAgain.id,
      're-registered with the desk',
    );

    // to the mobile once more, then back by calling the portal from the desk phone
    const mobileAgain = await intoMenu(p, mobile);
    await mobileAgain.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(mobileAgain.id), 'pulled to the mobile again');
    await deskAgain.waitForHangup();

    const deskViaPortal = await world.callFromDevice(wp, p.number);
    // a desk device is the workplace itself: no PIN, straight to the menu
    await deskViaPortal.waitForPlayback(sound('portal-welcome'));
    expect(deskViaPortal.heard()).toEqual([sound('portal-welcome')]);
    await deskViaPortal.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(deskViaPortal.id), 'pulled back through the portal');
    expect(remote.bridgedWith()).toEqual([deskViaPortal.id]);
    await mobileAgain.waitForHangup();
    expect(remote.isAlive()).toBe(true);

    await deskViaPortal.hangup();
    expect(await remote.waitForHangup()).toBe(16);
  });
});

describe('call-through', () => {
  it('an allowed national number is called with the workplace number as caller ID', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const target = '+4930555123';
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 50 });
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('030555123#');
    const out = await world.driver.waitForChannel(world.externalEndpoint(target));
    expect(out.callerNumber()).toBe(wp.number);
    await until(() => ch.bridgedWith().length > 0, 'bridged');
    expect(ch.bridgedWith()).toEqual([out.id]);
    await out.hangup();
    expect(await ch.waitForHangup()).toBe(16);
  });

  it('the inter-digit timeout also ends the number (international 00 form)', async () => {
    // abroad only to countries the company allows (call-through fraud guard)
    const policy = await world.api(
      'PUT',
      `/v1/companies/${company.id}/call-through-policy`,
      { allowedCountries: ['44'] },
      admin,
    );
    expect(policy.status).toBe(200);
    await until(
      async () =>
        (await world.controller.context.cache.company(company.id))?.callThroughPolicy
          ?.allowedCountries?.[0] === '44',
      'policy applied',
    );
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const target = '+442079460001';
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 50 });
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('00442079460001');
    const out = await world.driver.waitForChannel(world.externalEndpoint(target));
    expect(out.callerNumber()).toBe(wp.number);
    await until(() => ch.bridgedWith().includes(out.id), 'bridged');
    await ch.hangup();
    expect(await out.waitForHangup()).toBe(16);
  });

  it("an internal extension rings that workplace's devices, showing the caller's office number", async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const colleague = await employee(mobileNumber());
    world.driver.setEndpointBehaviour(device(colleague), { kind: 'answer', afterMs: 50 });
    const p = await portal();
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits(`${colleague.extension}#`);
    const desk = await world.driver.waitForChannel(device(colleague));
    expect(desk.callerNumber()).toBe(wp.number);
    await until(() => ch.bridgedWith().includes(desk.id), 'bridged');
    await desk.hangup();
    await ch.waitForHangup();
  });

  it('a busy destination returns to the menu', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal();
    const target = '+4930555124';
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'busy', afterMs: 50 });
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('030555124#');
    await world.driver.waitForChannel(world.externalEndpoint(target));
    await heardTimes(ch, 'portal-welcome', 2);
    expect(ch.isAlive()).toBe(true);
    expect(ch.bridgedWith()).toEqual([]);
    await ch.hangup();
  });

  it("a number blocked by the portal's profile is announced and never dialled; back to the menu", async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const profile = await blockingProfile(['+49900']);
    const p = await portal({ blockingProfileId: profile.id });
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('09001234567#');
    await heardTimes(ch, 'portal-welcome', 2);
    expect(ch.heard()).toEqual([
      sound('enter-pin'),
      sound('portal-welcome'),
      sound('number-blocked'),
      sound('portal-welcome'),
    ]);
    expect(channelsCreatedFor(world.externalEndpoint('+499001234567'))).toEqual([]);
    await ch.hangup();
  });

  it.each([['112'], ['110'], ['0112'], ['0049112']])(
    'an emergency number (%s) is refused with its prompt and never dialled; back to the menu',
    async (dialled) => {
      const mobile = mobileNumber();
      await employee(mobile);
      const p = await portal();
      const ch = await intoMenu(p, mobile);
      const createdBefore = world.driver
        .events()
        .filter(({ event }) => event.type === 'ChannelCreated').length;
      await ch.pressDigits(`${dialled}#`);
      await heardTimes(ch, 'portal-welcome', 2);
      expect(ch.heard()).toEqual([
        sound('enter-pin'),
        sound('portal-welcome'),
        sound('emergency-dial-directly'),
        sound('portal-welcome'),
      ]);
      // nothing dialled: no channel came to be (no leg to the trunk, no INVITE)
      expect(world.driver.events().filter(({ event }) => event.type === 'ChannelCreated').length).toBe(
        createdBefore,
      );
      await ch.hangup();
    },
  );

  it("the workplace's own outgoing blocking applies too (the stricter wins)", async () => {
    const mobile = mobileNumber();
    const premium = await blockingProfile(['+44']);
    await employee(mobile, { blockingProfileId: premium.id });
    const portalProfile = await blockingProfile(['+49900']);
    const p = await portal({ blockingProfileId: portalProfile.id });
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('00442079460002#');
    await heardTimes(ch, 'number-blocked', 1);
    await heardTimes(ch, 'portal-welcome', 2);
    expect(channelsCreatedFor(world.externalEndpoint('+442079460002'))).toEqual([]);
    await ch.hangup();
  });

  it('invalid input is announced and the menu comes back; no input twice ends with goodbye', async () => {
    const mobile = mobileNumber();
    await employee(mobile);
    const p = await portal();
    const ch = await intoMenu(p, mobile);
    await ch.pressDigits('*5');
    await heardTimes(ch, 'invalid-input', 1);
    // then silence: the menu is repeated once, then goodbye
    await ch.waitForHangup(20_000);
    expect(ch.heard()).toEqual([
      sound('enter-pin'),
      sound('portal-welcome'),
      sound('invalid-input'),
      sound('portal-welcome'),
      sound('portal-welcome'),
      sound('goodbye'),
    ]);
  });
});

describe('logging', () => {
  it('every decision is logged with the call id, never the PIN', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile, { voicebox: { enabled: true, pin: '8529' } });
    const p = await portal();
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await heardTimes(ch, 'enter-pin', 1);
    await ch.pressDigits('3971#');
    await heardTimes(ch, 'enter-pin', 2);
    await ch.pressDigits('8529#');
    await ch.waitForPlayback(sound('portal-welcome'));
    await ch.pressDigits('*11');
    await heardTimes(ch, 'portal-welcome', 2);
    await ch.hangup();
    await until(() => logLines.some((l) => l.call === ch.id && l.msg === 'portal: *11'), 'log lines');

    const lines = logLines.filter((l) => l.call === ch.id);
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'portal call',
        'portal: caller number matches a workplace',
        'portal: PIN refused',
        'portal: PIN accepted',
        'portal: *11',
      ]),
    );
    expect(lines.find((l) => l.msg === 'portal: PIN refused')).toMatchObject({
      portalId: p.id,
      reason: 'wrong',
      failures: { [wp.id]: 1 },
    });
    // ids and timestamps may contain any digits: look at everything else
    const text = lines
      .map((l) => JSON.stringify(l))
      .join('\n')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
      .replace(/\d{10}\.\d+/g, '<channel>')
      .replace(/"time":\d+/g, '')
      .replace(/"pid":\d+/g, '');
    expect(text).not.toContain('8529');
    expect(text).not.toContain('3971');
  });
});

describe('settings', () => {
  it('silentMode and pinRequired toggled through the API apply to the next call', async () => {
    const mobile = mobileNumber();
    const wp = await employee(mobile);
    const p = await portal();
    const before = await intoMenu(p, mobile);
    expect(before.heard()).toEqual([sound('enter-pin'), sound('portal-welcome')]);
    await before.hangup();

    const res = await world.api(
      'PATCH',
      `/v1/companies/${company.id}/anywhere-portals/${p.id}`,
      { silentMode: true, pinRequired: false },
      admin,
    );
    expect(res.status).toBe(200);
    await until(async () => portalSeen(p, (q) => q.silentMode), 'the change to reach the controller');

    const { remote } = await runningDeskCall(wp);
    const after = await world.driver.placeCall({ from: mobile, to: p.number });
    await after.waitForState('Up');
    await after.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(after.id), 'pulled in silent mode');
    expect(after.heard()).toEqual([]);
    await remote.hangup();
    await after.waitForHangup();
  });
});
