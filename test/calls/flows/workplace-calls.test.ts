/**
 * Issue 4 "Done when": calls to a workplace, end to end on the simulator — the API provisions
 * (real ARI provisioner into the simulator's dynamic config), the controller routes, and each
 * scenario asserts what the caller heard and which channels were bridged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Company, VoiceboxMessage } from '../../../src/domain/model.js';
import { startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextNumber = 10;

const CALLER = '+4989111222';
const sound = (id: string) => `sound:pbx/${id}`;

/** A workplace with a fresh number in the group's range (+49301234xx). */
async function workplace(body: Record<string, unknown> = {}): Promise<WorkplaceView> {
  const number = `+49301234${String(nextNumber++).padStart(2, '0')}`;
  return world.createWorkplace(company.id, admin, { groupId, number, ...body });
}

function device(wp: WorkplaceView, i = 0): string {
  return world.deviceEndpoint(wp.devices[i]!.sipUsername);
}

beforeAll(async () => {
  world = await startWorld({
    timing: { confirmationMs: 400, menuTimeoutMs: 400, firstDigitTimeoutMs: 1000, interDigitTimeoutMs: 400 },
    env: { VOICEBOX_ACCESS_NUMBER: '+4930123499' },
    logLevel: process.env.CALLS_LOG ?? 'silent',
  });
  ({ company, admin } = await world.createCompany());
  groupId = (await world.createGroup(company.id, admin)).id;
});

afterAll(async () => {
  await world?.close();
});

describe('ringing', () => {
  it('answer on a device: caller and device are bridged and the call is registered for *11', async () => {
    const wp = await workplace();
    expect(wp.status).toBe('active');
    world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 100 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([desk.id]);
    expect(caller.heard()).toEqual([]);
    // the caller heard ringback while the desk rang
    expect(
      world.driver
        .restLog()
        .some((r) => r.method === 'POST' && r.path.endsWith(`/channels/${caller.id}/ring`)),
    ).toBe(true);
    expect(desk.callerNumber()).toBe(CALLER);
    await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'live call');
    expect(await world.store.liveCalls.get(wp.id)).toMatchObject({
      remoteChannelId: caller.id,
      deviceChannelId: desk.id,
      controllerId: world.config.CONTROLLER_ID,
    });
    await desk.hangup();
    expect(await caller.waitForHangup()).toBe(16);
    await until(async () => (await world.store.liveCalls.get(wp.id)) === undefined, 'live call removed');
  });

  it('answer on a parallel number without confirmation; the desk leg stops with cause 26', async () => {
    const mobileNumber = '+491701000001';
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobileNumber], answerConfirmation: false },
    });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'manual' });
    world.driver.setEndpointBehaviour(world.externalEndpoint(mobileNumber), { kind: 'answer', afterMs: 100 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    const mobile = await world.driver.waitForChannel(world.externalEndpoint(mobileNumber));
    expect(await desk.waitForHangup()).toBe(26);
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([mobile.id]);
    expect(mobile.heard()).toEqual([]);
    await caller.hangup();
    await mobile.waitForHangup();
  });

  it('answer on a parallel number with confirmation: only after pressing 1', async () => {
    const mobileNumber = '+491701000002';
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobileNumber], answerConfirmation: true },
    });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'manual' });
    world.driver.setEndpointBehaviour(world.externalEndpoint(mobileNumber), { kind: 'manual' });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    const mobile = await world.driver.waitForChannel(world.externalEndpoint(mobileNumber));
    await mobile.waitForState('Ringing');
    await mobile.answer();
    await mobile.waitForPlayback(sound('confirm-call'));
    // answered but not confirmed: the desk keeps ringing, nothing is bridged
    expect(desk.isAlive()).toBe(true);
    expect(caller.bridgedWith()).toEqual([]);
    await mobile.pressDigits('1');
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([mobile.id]);
    expect(await desk.waitForHangup()).toBe(26);
    expect(caller.heard()).toEqual([]);
    await mobile.hangup();
    await caller.waitForHangup();
  });

  it('an answered parallel leg that does not confirm is dropped; the desk can still win', async () => {
    const mobileNumber = '+491701000003';
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobileNumber], answerConfirmation: true },
      // 120 s ring time = 2.4 s scaled: longer than the (shortened) confirmation time
      forwarding: { noAnswer: { enabled: false, ringSeconds: 120 } },
    });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'manual' });
    world.driver.setEndpointBehaviour(world.externalEndpoint(mobileNumber), { kind: 'answer', afterMs: 20 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    const mailbox = await world.driver.waitForChannel(world.externalEndpoint(mobileNumber));
    await mailbox.waitForHangup(); // no '1' within the confirmation time
    expect(desk.isAlive()).toBe(true);
    await desk.answer();
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([desk.id]);
    await caller.hangup();
    await desk.waitForHangup();
  });

  it('first answer wins: every other leg is stopped at once with cause 26', async () => {
    const numbers = ['+491701000004', '+491701000005'];
    const wp = await workplace({
      devices: [{ type: 'deskphone', model: 'Yealink T54W' }, { type: 'desktop' }],
      parallelRinging: { enabled: true, numbers, answerConfirmation: false },
    });
    world.driver.setEndpointBehaviour(device(wp, 0), { kind: 'manual' });
    world.driver.setEndpointBehaviour(device(wp, 1), { kind: 'manual' });
    for (const n of numbers) world.driver.setEndpointBehaviour(world.externalEndpoint(n), { kind: 'manual' });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const legs = await Promise.all([
      world.driver.waitForChannel(device(wp, 0)),
      world.driver.waitForChannel(device(wp, 1)),
      ...numbers.map((n) => world.driver.waitForChannel(world.externalEndpoint(n))),
    ]);
    const [winner, ...losers] = [legs[1]!, legs[0]!, legs[2]!, legs[3]!];
    await Promise.all(legs.map((l) => l.waitForState('Ringing')));
    await winner.answer();
    for (const loser of losers) expect(await loser.waitForHangup()).toBe(26);
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([winner.id]);
    await caller.hangup();
    await winner.waitForHangup();
  });
});

describe('voicebox deposit', () => {
  it('no answer → voicebox; the message is retrievable through the API as a WAV', async () => {
    const wp = await workplace({ forwarding: { noAnswer: { enabled: false, ringSeconds: 5 } } });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'noanswer' });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    expect(await desk.waitForHangup()).toBe(19);
    await caller.waitForPlayback(sound('beep'));
    await caller.speak(1000);
    await caller.pressDigits('#');
    await caller.waitForPlayback(sound('goodbye'));
    expect(await caller.waitForHangup()).toBe(16);
    expect(caller.heard()).toEqual([sound('vb-unavailable'), sound('beep'), sound('goodbye')]);
    expect(caller.bridgedWith()).toEqual([]);

    const employee = await world.employeeToken(company.id, admin, wp.id);
    const base = `/v1/companies/${company.id}/workplaces/${wp.id}/voicebox/messages`;
    let messages: VoiceboxMessage[] = [];
    await until(async () => {
      messages = (await world.api<VoiceboxMessage[]>('GET', base, undefined, employee)).body;
      return messages.length === 1;
    }, 'message listed');
    expect(messages[0]).toMatchObject({ callerNumber: CALLER, status: 'new', workplaceId: wp.id });
    const audio = await world.apiBytes(`${base}/${messages[0]!.id}/audio`, employee);
    expect(audio.status).toBe(200);
    expect(audio.contentType).toBe('audio/wav');
    expect(audio.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(audio.body.subarray(8, 12).toString('latin1')).toBe('WAVE');
  });

  it('the caller hanging up mid-recording keeps the message; the owner is notified', async () => {
    const wp = await workplace({ devices: [] });
    const notified: VoiceboxMessage[] = [];
    const off = world.controller.voicebox.onMessage((m) => notified.push(m));
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await caller.waitForPlayback(sound('beep'));
    await caller.speak(800);
    await caller.hangup();
    await until(async () => (await world.store.voicebox.list(wp.id)).length === 1, 'message stored');
    const [message] = await world.store.voicebox.list(wp.id);
    expect(message).toMatchObject({ callerNumber: CALLER, status: 'new' });
    expect(world.driver.storedRecordings().map((r) => r.name)).toContain(message!.recordingName);
    await until(() => notified.length > 0, 'notification');
    expect(notified.map((m) => m.id)).toEqual([message!.id]);
    expect(caller.heard()).not.toContain(sound('goodbye'));
    off();
  });
});

describe('forwarding', () => {
  it('busy → forward on busy, showing the original caller', async () => {
    const target = '+4940555000001';
    const wp = await workplace({ forwarding: { busy: { enabled: true, target: { number: target } } } });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'busy', afterMs: 50 });
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 50 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    expect(await desk.waitForHangup()).toBe(17);
    const forwarded = await world.driver.waitForChannel(world.externalEndpoint(target));
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([forwarded.id]);
    expect(forwarded.callerNumber()).toBe(CALLER);
    expect(caller.heard()).toEqual([]);
    await caller.hangup();
    await forwarded.waitForHangup();
  });

  it('unreachable → forward when unreachable', async () => {
    const target = '+4940555000002';
    const wp = await workplace({
      forwarding: { unreachable: { enabled: true, target: { number: target } } },
    });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'unreachable', afterMs: 50 });
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 50 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    expect(await (await world.driver.waitForChannel(device(wp))).waitForHangup()).toBe(20);
    const forwarded = await world.driver.waitForChannel(world.externalEndpoint(target));
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([forwarded.id]);
    expect(forwarded.callerNumber()).toBe(CALLER);
    await forwarded.hangup();
    expect(await caller.waitForHangup()).toBe(16);
  });

  it('forward always: the devices never ring; the target sees the original caller', async () => {
    const target = '+4940555000003';
    const wp = await workplace({ forwarding: { always: { enabled: true, target: { number: target } } } });
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 50 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const forwarded = await world.driver.waitForChannel(world.externalEndpoint(target));
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([forwarded.id]);
    expect(forwarded.callerNumber()).toBe(CALLER);
    expect(world.driver.channels().some((c) => c.endpoint === device(wp))).toBe(false);
    // no request ever named the desk phone; the same matcher finds the forward target's leg
    const created = (endpoint: string) =>
      world.driver
        .restLog()
        .some((r) => /\/channels(\/create)?$/.test(r.path) && r.query?.endpoint === endpoint);
    expect(created(world.externalEndpoint(target))).toBe(true);
    expect(created(device(wp))).toBe(false);
    await caller.hangup();
    await forwarded.waitForHangup();
  });

  it('a forward target blocked for forwarding is never dialled: the voicebox takes the call', async () => {
    const profile = await world.api<{ id: string }>(
      'POST',
      `/v1/companies/${company.id}/blocking-profiles`,
      { name: 'no premium forwarding', incoming: [], outgoing: [], forwarded: ['+49900'] },
      admin,
    );
    expect(profile.status).toBe(201);
    const target = '+49900123456';
    const wp = await workplace({
      blockingProfileId: profile.body.id,
      forwarding: { always: { enabled: true, target: { number: target } } },
    });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await caller.waitForPlayback(sound('beep'));
    await caller.hangup();
    expect(caller.heard().slice(0, 1)).toEqual([sound('vb-unavailable')]);
    expect(world.driver.restLog().some((r) => String(r.query?.endpoint ?? '').includes(target))).toBe(false);
    expect(caller.bridgedWith()).toEqual([]);
  });
});

describe('blocking and routing', () => {
  it('an incoming-blocked caller is rejected without ringing anything', async () => {
    const profile = await world.api<{ id: string }>(
      'POST',
      `/v1/companies/${company.id}/blocking-profiles`,
      { name: 'no munich', incoming: ['+4989'], outgoing: [], forwarded: [] },
      admin,
    );
    const wp = await workplace({ blockingProfileId: profile.body.id });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    expect(await caller.waitForHangup()).toBe(21);
    expect(caller.heard()).toEqual([]);
    expect(caller.bridgedWith()).toEqual([]);
    expect(world.driver.restLog().some((r) => r.query?.endpoint === device(wp))).toBe(false);
  });

  it('an unknown number is released as unallocated (cause 1); national form is normalised', async () => {
    const unknown = await world.driver.placeCall({ from: CALLER, to: '+4930123488' });
    expect(await unknown.waitForHangup()).toBe(1);
    const wp = await workplace();
    world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 10 });
    const national = await world.driver.placeCall({ from: '089111222', to: '0' + wp.number.slice(3) });
    const desk = await world.driver.waitForChannel(device(wp));
    await until(() => national.bridgedWith().length > 0, 'bridge');
    expect(national.bridgedWith()).toEqual([desk.id]);
    // the desk sees the caller as the carrier presented it: the dial names the caller, and
    // Asterisk copies that channel's caller ID into the leg's connected line
    expect(desk.callerNumber()).toBe('089111222');
    await national.hangup();
  });

  it('internal call by extension from a device of the same company', async () => {
    const from = await workplace();
    const to = await workplace();
    world.driver.setEndpointBehaviour(device(to), { kind: 'answer', afterMs: 10 });
    const caller = await world.driver.placeCall({
      from: from.extension,
      to: to.extension,
      args: ['internal'],
      name: `PJSIP/${from.devices[0]!.sipUsername}`,
    });
    const desk = await world.driver.waitForChannel(device(to));
    await until(() => caller.bridgedWith().length > 0, 'bridge');
    expect(caller.bridgedWith()).toEqual([desk.id]);
    // the callee sees what the calling device presents (its extension)
    expect(desk.callerNumber()).toBe(from.extension);
    await desk.hangup();
    await caller.waitForHangup();
  });

  it('a device calls out with its workplace number; an outgoing-blocked number is refused', async () => {
    const profile = await world.api<{ id: string }>(
      'POST',
      `/v1/companies/${company.id}/blocking-profiles`,
      { name: 'no premium out', incoming: [], outgoing: ['+49900'], forwarded: [] },
      admin,
    );
    const wp = await workplace({ blockingProfileId: profile.body.id });
    const target = '+4940555000777';
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 10 });
    const fromDesk = { args: ['internal'], name: `PJSIP/${wp.devices[0]!.sipUsername}`, from: wp.extension };
    const out = await world.driver.placeCall({ ...fromDesk, to: '040555000777' });
    const far = await world.driver.waitForChannel(world.externalEndpoint(target));
    await until(() => out.bridgedWith().length > 0, 'bridge');
    expect(out.bridgedWith()).toEqual([far.id]);
    expect(far.callerNumber()).toBe(wp.number);
    await far.hangup();
    await out.waitForHangup();

    const blocked = await world.driver.placeCall({ ...fromDesk, to: '+49900123456' });
    await blocked.waitForHangup();
    expect(blocked.heard()).toEqual([sound('number-blocked')]);
    expect(world.driver.restLog().some((r) => String(r.query?.endpoint ?? '').includes('+49900123456'))).toBe(
      false,
    );
  });

  it('an API change applies to the next call (busy → voicebox, then busy → forward)', async () => {
    const target = '+4940555000004';
    const wp = await workplace();
    world.driver.setEndpointBehaviour(device(wp), { kind: 'busy', afterMs: 20 });
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 20 });
    const first = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await first.waitForPlayback(sound('vb-unavailable'));
    await first.hangup();

    const res = await world.api(
      'PUT',
      `/v1/companies/${company.id}/workplaces/${wp.id}/forwarding`,
      { busy: { enabled: true, target: { number: target } } },
      admin,
    );
    expect(res.status).toBe(200);
    // the store announces changes over pub/sub: the controller sees it within moments, no restart
    await until(
      async () => (await world.controller.context.cache.workplace(wp.id))?.forwarding.busy.enabled === true,
      'the change to reach the controller',
    );

    const second = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const forwarded = await world.driver.waitForChannel(world.externalEndpoint(target));
    await until(() => second.bridgedWith().length > 0, 'bridge');
    expect(second.bridgedWith()).toEqual([forwarded.id]);
    expect(second.heard()).toEqual([]);
    await second.hangup();
  });
});

describe('voicebox retrieval', () => {
  function fromOwnDevice(wp: WorkplaceView, to = wp.number) {
    return world.callFromDevice(wp, to);
  }

  it('a wrong PIN three times ends the call; failures are counted across calls', async () => {
    const wp = await workplace();
    const owner = await fromOwnDevice(wp);
    for (let i = 0; i < 3; i++) {
      await owner.waitForPlayback(sound(i === 0 ? 'vb-enter-pin' : 'enter-pin'));
      await owner.pressDigits('1234#');
      await until(
        () => owner.heard().filter((m) => m === sound('pin-wrong')).length === i + 1,
        `pin-wrong ${i + 1}`,
      );
    }
    expect(await owner.waitForHangup()).toBe(16);
    expect(owner.heard()).toEqual([
      sound('vb-enter-pin'),
      sound('pin-wrong'),
      sound('enter-pin'),
      sound('pin-wrong'),
      sound('enter-pin'),
      sound('pin-wrong'),
      sound('goodbye'),
    ]);
    expect(await world.store.pinFailures.get(wp.id)).toBe(3);

    // two more wrong entries in the next call lock the PIN
    const again = await fromOwnDevice(wp);
    for (let i = 0; i < 2; i++) {
      await until(() => again.heard().length > 0 && !again.heard().at(-1)!.includes('pin-wrong'), 'prompt');
      await again.pressDigits('9999#');
      await until(
        () =>
          again.heard().includes(sound('vb-locked')) ||
          again.heard().filter((m) => m === sound('pin-wrong')).length === i + 1,
        'answer to the PIN',
      );
    }
    await again.waitForHangup();
    expect(again.heard()).toContain(sound('vb-locked'));
    // locked: even the right PIN is not asked for any more
    const locked = await fromOwnDevice(wp);
    await locked.waitForHangup();
    expect(locked.heard()).toEqual([sound('vb-locked')]);
  });

  it('the right PIN gives the message count, and messages can be heard, saved and deleted', async () => {
    const wp = await workplace({ devices: [{ type: 'deskphone', model: 'Yealink T54W' }] });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'busy', afterMs: 10 });
    for (const from of ['+4989111001', '+4989111002']) {
      const c = await world.driver.placeCall({ from, to: wp.number });
      await c.waitForPlayback(sound('beep'));
      await c.speak(300);
      await c.pressDigits('#');
      await c.waitForHangup();
    }
    await until(async () => (await world.store.voicebox.list(wp.id)).length === 2, 'two messages');
    const messages = (await world.store.voicebox.list(wp.id)).sort((a, b) =>
      a.receivedAt.localeCompare(b.receivedAt),
    );

    const owner = await fromOwnDevice(wp);
    await owner.waitForPlayback(sound('vb-enter-pin'));
    await owner.pressDigits('4711#');
    await owner.waitForPlayback(sound('vb-main-menu'));
    expect(owner.heard()).toEqual([
      sound('vb-enter-pin'),
      sound('vb-you-have'),
      sound('digit-2'),
      sound('vb-new-messages'),
      sound('vb-you-have'),
      sound('digit-0'),
      sound('vb-saved-messages'),
      sound('vb-main-menu'),
    ]);
    await owner.pressDigits('1');
    await owner.waitForPlayback(`recording:${messages[0]!.recordingName}`);
    await owner.pressDigits('2'); // stops the message, saves it
    await owner.waitForPlayback(sound('vb-message-saved'));
    await owner.waitForPlayback(`recording:${messages[1]!.recordingName}`);
    await owner.pressDigits('3'); // delete
    await owner.waitForPlayback(sound('vb-message-deleted'));
    await owner.waitForPlayback(sound('vb-no-more-messages'));
    await owner.hangup();
    const left = await world.store.voicebox.list(wp.id);
    expect(left.map((m) => [m.id, m.status])).toEqual([[messages[0]!.id, 'saved']]);
    await until(
      () => !world.driver.storedRecordings().some((r) => r.name === messages[1]!.recordingName),
      'deleted',
    );
    expect(await world.store.pinFailures.get(wp.id)).toBe(0);
  });

  it('the voicebox access number reaches the own voicebox from a device', async () => {
    const wp = await workplace();
    const owner = await fromOwnDevice(wp, world.config.VOICEBOX_ACCESS_NUMBER!);
    await owner.waitForPlayback(sound('vb-enter-pin'));
    await owner.hangup();
  });

  it('the voicebox access number from outside identifies the owner by a parallel-ringing number', async () => {
    const mobile = '+491701000099';
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const owner = await world.driver.placeCall({ from: mobile, to: world.config.VOICEBOX_ACCESS_NUMBER! });
    await owner.waitForPlayback(sound('vb-enter-pin'));
    await owner.pressDigits('4711#');
    await owner.waitForPlayback(sound('vb-main-menu'));
    expect(owner.heard()).toEqual([sound('vb-enter-pin'), sound('vb-no-messages'), sound('vb-main-menu')]);
    await owner.hangup();
    expect(await world.store.pinFailures.get(wp.id)).toBe(0);

    const stranger = await world.driver.placeCall({
      from: '+4940999999',
      to: world.config.VOICEBOX_ACCESS_NUMBER!,
    });
    await stranger.waitForHangup();
    expect(stranger.heard()).toEqual([sound('access-denied')]);
  });

  it('a greeting recorded by phone is what the next caller hears', async () => {
    const wp = await workplace({ devices: [{ type: 'deskphone', model: 'Yealink T54W' }] });
    const owner = await fromOwnDevice(wp);
    await owner.waitForPlayback(sound('vb-enter-pin'));
    await owner.pressDigits('4711#');
    await owner.waitForPlayback(sound('vb-main-menu'));
    await owner.pressDigits('2');
    await owner.waitForPlayback(sound('beep'));
    await owner.speak(300);
    await owner.pressDigits('#');
    await owner.waitForPlayback(sound('vb-greeting-saved'));
    await owner.hangup();
    const saved = await world.store.workplaces.getById(wp.id);
    const greeting = saved?.voicebox.greetingRecording;
    expect(greeting).toMatch(/^greeting-/);
    await until(
      async () =>
        (await world.controller.context.cache.workplace(wp.id))?.voicebox.greetingRecording === greeting,
      'the new greeting to reach the controller',
    );

    world.driver.setEndpointBehaviour(device(wp), { kind: 'busy', afterMs: 10 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await caller.waitForPlayback(sound('beep'));
    await caller.hangup();
    expect(caller.heard().slice(0, 2)).toEqual([`recording:${greeting}`, sound('beep')]);
  });
});
