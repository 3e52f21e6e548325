/**
 * The call scenarios, defined once and run against every target: a real Asterisk 22
 * (test/e2e/e2e.test.ts) and the ARI simulator (test/calls/scenarios.sim.test.ts).
 * Each scenario drives the outside world over plain ARI (test/e2e/world.ts) and asserts what
 * the caller heard, which channels were bridged and what the store kept. After each one, every
 * playback the controller started must have finished `done` (a missing prompt file ends
 * `failed` on a real Asterisk) and every prompt it played must exist in every language.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Explanation } from '../../src/calls/decisions/explain.js';
import type { PbxEvent } from '../../src/events/model.js';
import type { LegBehaviour } from '../e2e/world.js';
import pino from 'pino';
import { defaultSheddingOptions, EdgeShedding, gateVariables } from '../../src/calls/overload/shedding.js';
import { PBX_APP, promptsInAllLanguages, type ScenarioEnv } from './env.js';

export function callScenarios(getEnv: () => ScenarioEnv): void {
  const prompts = promptsInAllLanguages();
  let env: ScenarioEnv;
  let playedBefore = 0;
  let failedBefore = 0;

  /** A mobile calls the portal and signs in with its PIN; resolves once it hears the menu. */
  async function signInAtPortal(from: string, portalNumber: string, pin = '4711') {
    const call = await env.world.call(from, portalNumber);
    const pbx = await env.pbxChannelOf(call);
    const heard = (prompt: string) =>
      env.observer.until(
        () => (env.observer.heard(pbx).includes(`sound:pbx/${prompt}`) ? true : undefined),
        prompt,
      );
    await heard('enter-pin');
    await call.waitUp();
    await call.press(`${pin}#`);
    await heard('portal-welcome');
    return { call, pbx };
  }

  beforeEach(() => {
    env = getEnv();
  });

  afterEach(() => {
    const played = env.observer.allPlayed().slice(playedBefore);
    const failed = env.observer.failedPlaybacks().slice(failedBefore);
    playedBefore += played.length;
    failedBefore += failed.length;
    expect(failed, `playbacks that did not finish as done: ${JSON.stringify(failed)}`).toEqual([]);
    const missing = [...new Set(played)]
      .filter((m) => m.startsWith('sound:pbx/'))
      .flatMap((m) => prompts.missing(m.slice('sound:pbx/'.length)).map((lang) => `${lang}/${m}`));
    expect(missing, 'prompts missing in a language').toEqual([]);
  });

  /** a phone that answers once `first` happened (e.g. another leg rang): who wins is scripted, not raced */
  const answerAfter = (first: () => Promise<unknown>): LegBehaviour => ({
    kind: 'script',
    run: async (leg) => {
      await first();
      await leg.answer();
    },
  });

  it('a call to a workplace is answered on its desk phone; an admin watches it live and reads the call list', async () => {
    const wp = await env.createWorkplace();
    // an admin watches the company's events over a real WebSocket (token as subprotocol)
    const events: PbxEvent[] = [];
    const ws = new WebSocket(`${env.apiUrl.replace(/^http/, 'ws')}/v1/companies/${env.cid}/events`, [
      'pbx.events.v1',
      `bearer.${env.adminToken}`,
    ]);
    ws.on('message', (m) => {
      const e = JSON.parse(String(m)) as PbxEvent;
      if (typeof e.id === 'string') events.push(e);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const { caller } = await env.establishDeskCall(wp, '+491511000001');
    await caller.waitUp();
    const deskLeg = await env.world.waitForLeg('device', wp.devices[0]!.sipUsername);
    await caller.hangup();
    await deskLeg.ended;
    expect(deskLeg.isEnded()).toBe(true);
    await env.observer.until(
      () => (events.some((e) => e.type === 'call.ended' && e.workplaceId === wp.id) ? true : undefined),
      'the call.ended event',
    );
    ws.close();
    const ofWorkplace = events.filter((e) => e.workplaceId === wp.id && e.type.startsWith('call.'));
    expect(ofWorkplace.map((e) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(ofWorkplace[2]).toMatchObject({ outcome: 'answered', direction: 'inbound' });
    const list = await env.observer.until(async () => {
      const l = await env.api<{ items: Array<{ outcome: string; answeredBy?: { kind: string } }> }>(
        'GET',
        `/v1/companies/${env.cid}/workplaces/${wp.id}/calls`,
      );
      return l.items.length > 0 ? l : undefined;
    }, 'the call list entry');
    expect(list.items[0]).toMatchObject({ outcome: 'answered', answeredBy: { kind: 'device' } });
  });

  it('workplace call answered on the desk phone: first answer wins, the ringing parallel number stops with cause 26; the call is registered for *11 until the caller hangs up', async () => {
    const mobile = '+491701000011';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const sip = wp.devices[0]!.sipUsername;
    env.world.setBehaviour('pstn', mobile, { kind: 'ring' });
    env.world.setBehaviour(
      'device',
      sip,
      answerAfter(() => env.world.waitForLeg('pstn', mobile)),
    );
    const caller = await env.world.call('+491511000011', wp.number);
    const callerPbx = await env.pbxChannelOf(caller);
    const deskPbx = await env.pbxLegOf('device', sip);
    await env.untilBridged(callerPbx, deskPbx, 'the caller bridged with the desk phone');
    await caller.waitUp();

    const mobileLeg = await env.world.waitForLeg('pstn', mobile);
    expect(await env.observer.untilDestroyed(await env.pbxLegOf('pstn', mobile))).toBe(26);
    await mobileLeg.ended;
    expect(mobileLeg.cause(), 'the mobile is told: answered elsewhere').toBe(26);
    const live = await env.observer.until(() => env.store.liveCalls.get(wp.id), 'the call registered');
    expect(live).toMatchObject({ remoteChannelId: callerPbx, deviceChannelId: deskPbx });

    const deskLeg = await env.world.waitForLeg('device', sip);
    await caller.hangup();
    await deskLeg.ended;
    await env.observer.until(
      async () => ((await env.store.liveCalls.get(wp.id)) ? undefined : true),
      'the registration removed',
    );
  });

  it('two answered workplace calls in a row: the second is bridged in a bridge kept from before and costs the controller at most 8 REST requests', async () => {
    const mobile = '+491701000091';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    env.world.setBehaviour('pstn', mobile, { kind: 'ring' });
    env.world.setBehaviour('device', wp.devices[0]!.sipUsername, { kind: 'answer', afterMs: 200 });
    // no call in progress and no bridge waiting for its channels to leave: only this call's requests
    const quiet = () =>
      env.observer.until(
        () =>
          env.controller.router.sessions.size === 0 && env.controller.bridgePool().busy === 0
            ? true
            : undefined,
        'the controller idle',
      );
    const answeredCall = async () => {
      await quiet();
      const from = env.controllerRequests.length;
      const caller = await env.world.call('+491511000091', wp.number);
      const callerPbx = await env.pbxChannelOf(caller);
      const live = await env.observer.until(async () => {
        const entry = await env.store.liveCalls.get(wp.id);
        return entry?.remoteChannelId === callerPbx ? entry : undefined;
      }, 'the call registered');
      await caller.waitUp();
      await caller.hangup();
      await quiet();
      return { bridgeId: live.bridgeId, requests: env.controllerRequests.slice(from) };
    };
    // the first fills the pool if it was empty (as every call after a start does once)
    await answeredCall();
    const kept = new Set((await env.pbxAri.bridges.list()).map((b) => b.id));
    const second = await answeredCall();
    expect(kept.has(second.bridgeId), 'bridged in a bridge that was already there').toBe(true);
    const why = second.requests.join(', ');
    // ring, originate ×2, hang-up of the loser, answer, addChannel, hang-up of the desk
    expect(
      second.requests.filter((r) => r === 'bridges.create' || r === 'bridges.destroy'),
      why,
    ).toEqual([]);
    expect(second.requests.length, why).toBeLessThanOrEqual(8);
  });

  it("a colleague's call answered on the callee's parallel mobile: the caller's call list names whom they called, never that mobile", async () => {
    const mobile = '+491701000031';
    const callee = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const colleague = await env.createWorkplace();
    env.world.setBehaviour('device', callee.devices[0]!.sipUsername, { kind: 'ring' });
    env.world.setBehaviour('pstn', mobile, { kind: 'answer' });
    const caller = await env.world.deviceCall(colleague.id, callee.number);
    await caller.waitUp();
    const mobileLeg = await env.world.waitForLeg('pstn', mobile);
    await caller.hangup();
    await mobileLeg.ended;
    type Line = { outcome: string; direction: string; to: string; answeredBy?: { kind: string; id: string } };
    const listOf = (wid: string) =>
      env.observer.until(async () => {
        const l = await env.api<{ items: Line[] }>('GET', `/v1/companies/${env.cid}/workplaces/${wid}/calls`);
        return l.items.length > 0 ? l.items : undefined;
      }, 'a call list entry');
    const calleeLine = (await listOf(callee.id))[0]!;
    expect(calleeLine).toMatchObject({ direction: 'internal', answeredBy: { kind: 'number', id: mobile } });
    const callerLine = (await listOf(colleague.id))[0]!;
    expect(callerLine).toMatchObject({ direction: 'internal', outcome: 'answered', to: callee.number });
    expect(callerLine).not.toHaveProperty('answeredBy');
    expect(JSON.stringify(callerLine)).not.toContain(mobile.slice(1));
  });

  it('workplace call answered on a parallel number first: the caller talks to the mobile, the desk phone stops with cause 26', async () => {
    const mobile = '+491701000012';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const sip = wp.devices[0]!.sipUsername;
    env.world.setBehaviour('device', sip, { kind: 'ring' });
    env.world.setBehaviour(
      'pstn',
      mobile,
      answerAfter(() => env.world.waitForLeg('device', sip)),
    );
    const caller = await env.world.call('+491511000012', wp.number);
    const callerPbx = await env.pbxChannelOf(caller);
    const mobilePbx = await env.pbxLegOf('pstn', mobile);
    await env.untilBridged(callerPbx, mobilePbx, 'the caller bridged with the mobile');

    const deskLeg = await env.world.waitForLeg('device', sip);
    expect(await env.observer.untilDestroyed(await env.pbxLegOf('device', sip))).toBe(26);
    await deskLeg.ended;
    expect(deskLeg.cause(), 'the desk phone is told: answered elsewhere').toBe(26);
    // the mobile sees who is calling
    expect((await env.world.waitForLeg('pstn', mobile)).callerNumbers[0]).toBe('+491511000012');
    // the registry is written right after the bridge (through the store write queue): wait for it
    const live = await env.observer.until(
      async () => ((await env.store.liveCalls.get(wp.id))?.deviceChannelId === mobilePbx ? true : undefined),
      'the call registered with the mobile',
    );
    expect(live).toBe(true);
    await caller.hangup();
  });

  it('answer confirmation: the mobile answers, hears confirm-call and presses 1 — only then is it bridged', async () => {
    const mobile = '+491701000013';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: true },
    });
    env.world.setBehaviour('device', wp.devices[0]!.sipUsername, { kind: 'ring' });
    env.world.setBehaviour('pstn', mobile, { kind: 'answer', afterMs: 100 });
    const caller = await env.world.call('+491511000013', wp.number);
    const callerPbx = await env.pbxChannelOf(caller);
    const mobilePbx = await env.pbxLegOf('pstn', mobile);
    await env.untilPlaying(mobilePbx, 'confirm-call');
    expect(await env.observer.bridgedWith(callerPbx), 'not bridged before the 1').toEqual([]);

    await (await env.world.waitForLeg('pstn', mobile)).press('1');
    await env.untilBridged(callerPbx, mobilePbx, 'the caller bridged with the confirmed mobile');
    const deskLeg = await env.world.waitForLeg('device', wp.devices[0]!.sipUsername);
    await deskLeg.ended;
    expect(deskLeg.cause()).toBe(26);
    await caller.hangup();
  });

  it('answer confirmation: a mobile that answers but does not press 1 is dropped; the desk phone still wins', async () => {
    const mobile = '+491701000014';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: true },
    });
    const sip = wp.devices[0]!.sipUsername;
    env.world.setBehaviour('pstn', mobile, { kind: 'answer', afterMs: 100 });
    // the desk phone picks up only once the mobile has been dropped
    env.world.setBehaviour(
      'device',
      sip,
      answerAfter(async () => (await env.world.waitForLeg('pstn', mobile)).ended),
    );
    const caller = await env.world.call('+491511000014', wp.number);
    const callerPbx = await env.pbxChannelOf(caller);
    const mobilePbx = await env.pbxLegOf('pstn', mobile);
    await env.untilPlaying(mobilePbx, 'confirm-call');
    const mobileLeg = await env.world.waitForLeg('pstn', mobile);
    const droppedAfter = Date.now();
    await mobileLeg.ended;
    // dropped by the controller's confirmation timer (SCENARIO_TIMING.confirmationMs = 4 s)
    expect(Date.now() - droppedAfter).toBeGreaterThan(2500);
    expect(await env.observer.untilDestroyed(mobilePbx), 'a plain hang-up, not answered elsewhere').toBe(16);
    await env.untilBridged(callerPbx, await env.pbxLegOf('device', sip), 'the caller bridged with the desk');
    expect(await env.observer.bridgedWith(callerPbx)).not.toContain(mobilePbx);
    await caller.hangup();
  });

  // Forwarding: each rule with its own workplace; the device does what makes the rule apply.
  it.each([
    { rule: 'always', device: undefined, n: 21 },
    { rule: 'busy', device: { kind: 'busy' } as const, n: 22 },
    { rule: 'noAnswer', device: { kind: 'ring' } as const, n: 23 },
    { rule: 'unreachable', device: { kind: 'unreachable' } as const, n: 24 },
  ])(
    'forwarding $rule: the target is rung showing the ORIGINAL caller and bridged; not registered for *11',
    async ({ rule, device, n }) => {
      const target = `+4989100000${n}`;
      const from = `+4915110000${n}`;
      const ruleOf = (name: string) =>
        name === rule ? { enabled: true, target: { number: target } } : { enabled: false };
      const wp = await env.createWorkplace({
        forwarding: {
          always: ruleOf('always'),
          busy: ruleOf('busy'),
          // the minimum ring time (5 s) keeps the no-answer case short
          noAnswer: { ...ruleOf('noAnswer'), ringSeconds: 5 },
          unreachable: ruleOf('unreachable'),
        },
      });
      const sip = wp.devices[0]!.sipUsername;
      if (device) env.world.setBehaviour('device', sip, device);
      env.world.setBehaviour('pstn', target, { kind: 'answer', afterMs: 100 });
      const caller = await env.world.call(from, wp.number);
      const callerPbx = await env.pbxChannelOf(caller);
      const far = await env.world.waitForLeg('pstn', target);
      expect(far.callerNumbers[0], 'the target sees the original caller').toBe(from);
      await env.untilBridged(
        callerPbx,
        await env.pbxLegOf('pstn', target),
        'the caller bridged with the target',
      );
      if (rule === 'always') {
        expect(
          env.world.allLegs().filter((l) => l.target === sip),
          'forward always rings no device',
        ).toEqual([]);
      } else {
        const deskLeg = await env.world.waitForLeg('device', sip);
        expect(deskLeg.isEnded(), 'the desk leg is over before the forward').toBe(true);
        // how the desk leg ended is what picked the rule: busy 17, dial timeout 19, absent 20
        const cause = { busy: 17, noAnswer: 19, unreachable: 20 }[rule];
        expect(env.observer.destroyedCause(await env.pbxLegOf('device', sip))).toBe(cause);
      }
      expect(
        await env.store.liveCalls.get(wp.id),
        "a forwarded call is not the workplace's own",
      ).toBeUndefined();
      await caller.hangup();
      await far.ended;
    },
  );

  it('voicebox: no answer → greeting, beep, the caller hangs up mid-recording and the message is kept; the owner calls in from the desk phone, enters the PIN and hears it', async () => {
    const from = '+491511000002';
    const wp = await env.createWorkplace({
      forwarding: {
        always: { enabled: false },
        busy: { enabled: true, target: 'voicebox' },
        noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 5 },
        unreachable: { enabled: true, target: 'voicebox' },
      },
      voicebox: { enabled: true, pin: '4711' },
    });
    env.world.setBehaviour('device', wp.devices[0]!.sipUsername, { kind: 'ring' });
    const caller = await env.world.call(from, wp.number);
    const callerPbx = await env.pbxChannelOf(caller);
    const name = await env.observer.untilRecording(callerPbx, 40_000);
    expect(env.observer.heard(callerPbx)).toContain('sound:pbx/vb-unavailable');
    expect(env.observer.heardFully(callerPbx, 'sound:pbx/beep'), 'the beep before recording').toBe(true);
    await caller.speak();
    // still recording (5 s of silence would end it): the caller hangs up in the middle
    expect(env.observer.recordingState(name)).toBe('recording');
    await caller.hangup();

    const [message] = await env.observer.until(async () => {
      const list = await env.store.voicebox.list(wp.id);
      return list.length > 0 ? list : undefined;
    }, 'the voicebox message');
    expect(message).toMatchObject({ callerNumber: from, recordingName: name, status: 'new' });
    expect(env.observer.recordingState(name)).toBe('done');
    const wav = Buffer.from(
      (await env.pbxAri.recordings.getStoredFile({ recordingName: name })) as unknown as ArrayBuffer,
    );
    expect(wav.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(wav.length, 'what the caller said is in it').toBeGreaterThan(44 + 4000);

    // retrieval: the desk phone dials its own number
    const owner = await env.world.deviceCall(wp.id, wp.number);
    const ownerPbx = await env.pbxChannelOf(owner);
    await env.untilPlaying(ownerPbx, 'vb-enter-pin');
    await owner.press('4711#');
    await env.untilPlaying(ownerPbx, 'vb-main-menu');
    expect(env.observer.heard(ownerPbx)).toEqual(
      expect.arrayContaining(['sound:pbx/vb-you-have', 'sound:pbx/digit-1', 'sound:pbx/vb-new-messages']),
    );
    await owner.press('1');
    await env.observer.untilHeard(ownerPbx, `recording:${name}`, 40_000);
    expect(env.observer.heard(ownerPbx)).toContain('sound:pbx/vb-message-from');
    expect((await env.store.voicebox.list(wp.id))[0]!.status, 'heard now').toBe('heard');
    await owner.hangup();
  });

  it('opening hours: within them the desk rings; after closing the same call goes to the closed-hours number; do-not-disturb sends callers to the voicebox', async () => {
    const schedule = await env.api<{ id: string }>('POST', `/v1/companies/${env.cid}/schedules`, {
      name: 'Büro',
      timezone: 'Europe/Berlin',
      week: Object.fromEntries(
        ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ from: '08:00', to: '17:00' }]]),
      ),
    });
    const closedNumber = '+493099900021';
    const wp = await env.createWorkplace();
    const sip = wp.devices[0]!.sipUsername;
    // set before the first call: the controller has nothing of this workplace cached yet
    await env.api('PUT', `/v1/companies/${env.cid}/workplaces/${wp.id}/availability`, {
      doNotDisturb: false,
      scheduleId: schedule.id,
      closedTarget: { number: closedNumber },
    });
    env.world.setBehaviour('device', sip, { kind: 'ring' });
    env.world.setBehaviour('pstn', closedNumber, { kind: 'answer' });
    try {
      // 10:00 in Berlin (a winter date: UTC+1): open, the desk phone rings
      env.setClock(Date.parse('2026-12-07T09:00:00Z'));
      const during = await env.world.call('+491511000021', wp.number);
      await env.world.waitForLeg('device', sip);
      await during.hangup();
      // 17:00 local: closed (the end is exclusive); the call goes to the closed-hours number
      env.setClock(Date.parse('2026-12-07T16:00:00Z'));
      const after = await env.world.call('+491511000022', wp.number);
      const afterPbx = await env.pbxChannelOf(after);
      const target = await env.world.waitForLeg('pstn', closedNumber);
      await env.untilBridged(
        afterPbx,
        await env.pbxLegOf('pstn', closedNumber),
        'the caller with the closed-hours number',
      );
      await after.hangup();
      await target.ended;
    } finally {
      env.setClock(undefined);
    }
    const deskLegs = (target: string) =>
      env.world.allLegs().filter((l) => l.kind === 'device' && l.target === target);
    expect(deskLegs(sip), 'the desk rang only within the hours').toHaveLength(1);

    // do-not-disturb: straight to the voicebox, nothing rings
    const dnd = await env.createWorkplace({ voicebox: { enabled: true, pin: '4711' } });
    await env.api('PUT', `/v1/companies/${env.cid}/workplaces/${dnd.id}/availability`, {
      doNotDisturb: true,
    });
    const caller = await env.world.call('+491511000023', dnd.number);
    const callerPbx = await env.pbxChannelOf(caller);
    await env.observer.untilRecording(callerPbx, 40_000);
    expect(deskLegs(dnd.devices[0]!.sipUsername), 'the desk phone did not ring').toHaveLength(0);
    await caller.hangup();
  });

  it('selective forwarding: a caller a rule names goes to its target, every other caller rings the desk', async () => {
    const vip = '+491511000024';
    const assistant = '+493099900024';
    const wp = await env.createWorkplace();
    const sip = wp.devices[0]!.sipUsername;
    await env.api('PUT', `/v1/companies/${env.cid}/workplaces/${wp.id}/selective-forwarding`, {
      rules: [{ callers: [vip], target: { number: assistant } }],
    });
    env.world.setBehaviour('device', sip, { kind: 'ring' });
    env.world.setBehaviour('pstn', assistant, { kind: 'answer' });
    const fromVip = await env.world.call(vip, wp.number);
    const vipPbx = await env.pbxChannelOf(fromVip);
    await env.world.waitForLeg('pstn', assistant);
    await env.untilBridged(vipPbx, await env.pbxLegOf('pstn', assistant), 'the named caller with the target');
    expect(
      env.world.allLegs().filter((l) => l.kind === 'device' && l.target === sip),
      'the desk did not ring for the named caller',
    ).toHaveLength(0);
    await fromVip.hangup();
    const other = await env.world.call('+491511000025', wp.number);
    await env.world.waitForLeg('device', sip);
    await other.hangup();
  });

  it('parallel ringing: a delayed mobile rings only after its delay (never, when the desk answers first); a mobile marked "not while on a call" stays quiet while the workplace is on one', async () => {
    const delayed = '+491701000071';
    const quiet = '+491701000072';
    const wp = await env.createWorkplace({
      parallelRinging: {
        enabled: true,
        // 4 s: the desk's answer (after 200 ms) must win the first call even on a loaded machine
        numbers: [
          { number: delayed, delaySeconds: 4 },
          { number: quiet, notWhileOnCall: true },
        ],
        answerConfirmation: false,
      },
      // a delay ends at least 5 s before the ring time does
      forwarding: {
        always: { enabled: false },
        busy: { enabled: false },
        noAnswer: { enabled: false, ringSeconds: 20 },
        unreachable: { enabled: false },
      },
    });
    const sip = wp.devices[0]!.sipUsername;
    const legsTo = (kind: 'device' | 'pstn', target: string) =>
      env.world.allLegs().filter((l) => l.kind === kind && l.target === target);
    env.world.setBehaviour('pstn', delayed, { kind: 'ring' });
    env.world.setBehaviour('pstn', quiet, { kind: 'ring' });
    // the desk answers at once: the delayed mobile never rings; the other one did (no call yet)
    const first = await env.establishDeskCall(wp, '+491511000031');
    await env.observer.until(() => env.store.liveCalls.get(wp.id), 'the call registered');
    expect(legsTo('pstn', delayed), 'the delayed mobile never rang').toHaveLength(0);
    const quietBefore = legsTo('pstn', quiet).length;

    // a second call while the workplace is on the first one
    env.world.setBehaviour('device', sip, { kind: 'ring' });
    const placedAt = Date.now();
    const second = await env.world.call('+491511000032', wp.number);
    await env.world.waitForLeg('pstn', delayed);
    expect(Date.now() - placedAt, 'the delayed mobile waited its 4 s').toBeGreaterThanOrEqual(3900);
    expect(legsTo('device', sip).length, 'the desk rang at once').toBe(2);
    expect(legsTo('pstn', quiet), 'the quiet mobile was not rung during the call').toHaveLength(quietBefore);
    await second.hangup();
    await first.caller.hangup();
  });

  it('Anywhere portal with PIN: *11 pulls the running desk call to the mobile', async () => {
    const mobile = '+491701000003';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await env.createPortal({ silentMode: false, pinRequired: true });
    env.world.setBehaviour('pstn', mobile, { kind: 'ring' });
    const { callerPbx } = await env.establishDeskCall(wp, '+491511000003');
    const deskLeg = await env.world.waitForLeg('device', wp.devices[0]!.sipUsername);

    const { call: mobileCall, pbx: mobilePbx } = await signInAtPortal(mobile, portal.number);
    await mobileCall.press('*11');

    await env.observer.until(
      async () => ((await env.observer.bridgedWith(callerPbx)).includes(mobilePbx) ? true : undefined),
      'the caller bridged with the mobile',
    );
    await deskLeg.ended;
    await mobileCall.hangup();
  });

  it('*11 from the desk phone pulls the call the mobile answered back to the desk; the mobile is released', async () => {
    const mobile = '+491701000015';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    env.world.setBehaviour('device', wp.devices[0]!.sipUsername, { kind: 'ring' });
    env.world.setBehaviour('pstn', mobile, { kind: 'answer', afterMs: 100 });
    const caller = await env.world.call('+491511000015', wp.number);
    const callerPbx = await env.pbxChannelOf(caller);
    const mobilePbx = await env.pbxLegOf('pstn', mobile);
    await env.untilBridged(callerPbx, mobilePbx, 'the caller bridged with the mobile');
    const mobileLeg = await env.world.waitForLeg('pstn', mobile);

    const desk = await env.world.deviceCall(wp.id, '*11');
    const deskPbx = await env.pbxChannelOf(desk);
    await env.untilBridged(callerPbx, deskPbx, 'the caller bridged with the desk phone');
    await mobileLeg.ended;
    expect(caller.isEnded(), 'the caller was never dropped').toBe(false);
    await env.observer.until(
      async () => ((await env.store.liveCalls.get(wp.id))?.deviceChannelId === deskPbx ? true : undefined),
      'the registry points at the desk',
    );
    expect(await env.store.liveCalls.get(wp.id)).toMatchObject({
      remoteChannelId: callerPbx,
      deviceChannelId: deskPbx,
    });
    expect(env.observer.heard(deskPbx), 'no prompt on a successful pull').toEqual([]);
    await caller.hangup();
    await desk.waitEnded();
  });

  it('PIN lockout across calls: 3 wrong PINs refuse the first call, 2 more in the next lock it; then even the right PIN is refused', async () => {
    const mobile = '+491701000016';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await env.createPortal({ silentMode: false, pinRequired: true });
    /** a portal call from the mobile keying `digits` as soon as the PIN is asked for */
    const portalCall = async (digits: string) => {
      const call = await env.world.call(mobile, portal.number);
      const pbx = await env.pbxChannelOf(call);
      await env.untilPlaying(pbx, 'enter-pin');
      await call.press(digits);
      await env.untilHeard(pbx, 'access-denied');
      await call.waitEnded();
      expect(env.observer.heard(pbx), 'never the menu').not.toContain('sound:pbx/portal-welcome');
      return pbx;
    };

    // the PIN entries are keyed ahead: each one ends with '#', the retry prompt is skipped
    const first = await portalCall('1111#2222#3333#');
    expect(env.observer.heard(first).filter((m) => m === 'sound:pbx/pin-wrong')).toHaveLength(2);
    expect(await env.store.pinFailures.get(wp.id)).toBe(3);
    // a call is refused after its three entries (keyed ahead: no waiting for the entry timeout)
    await portalCall('4444#5555#6666#');
    expect(await env.store.pinFailures.get(wp.id)).toBeGreaterThanOrEqual(5);
    // locked: the right PIN is refused like a wrong one — the caller is never told why
    const locked = await portalCall('4711#4711#4711#');
    expect(env.observer.heard(locked).filter((m) => m === 'sound:pbx/pin-wrong')).toHaveLength(2);
    expect(await env.store.pinFailures.get(wp.id), 'the right PIN does not unlock').toBeGreaterThanOrEqual(5);
  });

  it('an unknown caller is refused by the portal (access-denied, hung up); an unknown number is released as unallocated (cause 1)', async () => {
    const portal = await env.createPortal({ silentMode: false, pinRequired: true });
    const stranger = await env.world.call('+491709999017', portal.number);
    const strangerPbx = await env.pbxChannelOf(stranger);
    await env.untilHeard(strangerPbx, 'access-denied');
    await stranger.waitEnded();
    expect(env.observer.heard(strangerPbx)).toEqual(['sound:pbx/access-denied']);
    expect(stranger.cause(), 'a normal clearing after the announcement').toBe(16);

    const wrongNumber = await env.world.call('+491511000017', env.number(9917));
    await wrongNumber.waitEnded();
    expect(wrongNumber.cause()).toBe(1);
  });

  it('overload: while the controller sheds, the trunk dialplan refuses new calls with cause 34 before they reach ARI; the gate opens when the controller says so, and by itself once its expiry passes', async () => {
    const wp = await env.createWorkplace();
    const reached = () => {
      const a = env.controller.admission();
      return a.admitted + a.refused;
    };
    // a controller that had to refuse every call of its last tick closes the gate completely
    // (maxPercent 100 and minRate 1 only here: the configuration lets a trickle through)
    const shedding = new EdgeShedding(
      env.pbxAri,
      {
        takeWindow: () => ({
          durationMs: 100,
          reached: 1000,
          fromTrunk: 1000,
          refused: 1000,
          peakInFlight: 0,
          oldestInFlightMs: 0,
          refusedFlood: 0,
          trunkSpanMs: 100,
          restLatencyMs: 1,
          setupMs: [],
        }),
      },
      { ...defaultSheddingOptions, maxPercent: 100, minRate: 1 },
      pino({ level: 'silent' }),
    );
    const before = reached();
    try {
      await shedding.tick();
      expect(shedding.stats().percent).toBe(100);
      const refused = await env.world.call('+491511000018', wp.number);
      await refused.waitEnded();
      expect(refused.cause(), 'congestion, from the dialplan').toBe(34);
      expect(reached(), 'the refused call never reached the controller').toBe(before);
    } finally {
      // the controller opens the gate again (also when the above failed: the next scenarios
      // must not meet a closed gate)
      await shedding.stop();
    }
    // the next call rings the desk phone and is answered
    const admitted = await env.establishDeskCall(wp, '+491511000019');
    expect(reached()).toBe(before + 1);
    await admitted.caller.hangup();

    // a gate nobody renews (its controller died) opens by itself
    const gate = gateVariables(PBX_APP);
    await env.pbxAri.asterisk.setGlobalVar({ variable: gate.percent, value: '100' });
    await env.pbxAri.asterisk.setGlobalVar({
      variable: gate.until,
      value: String(Math.floor(Date.now() / 1000) - 1),
    });
    try {
      const afterExpiry = await env.establishDeskCall(wp, '+491511000020');
      expect(reached()).toBe(before + 2);
      await afterExpiry.caller.hangup();
    } finally {
      await env.pbxAri.asterisk.setGlobalVar({ variable: gate.percent, value: '0' });
    }
  });

  it('silent mode: no prompt at all, *11 pulls at once', async () => {
    const mobile = '+491701000004';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await env.createPortal({ silentMode: true, pinRequired: false });
    env.world.setBehaviour('pstn', mobile, { kind: 'ring' });
    const { callerPbx } = await env.establishDeskCall(wp, '+491511000004');
    const deskLeg = await env.world.waitForLeg('device', wp.devices[0]!.sipUsername);

    const mobileCall = await env.world.call(mobile, portal.number);
    const mobilePbx = await env.observer.until(
      () => env.observer.channelId(mobileCall.pbxName),
      'the portal call',
    );
    await mobileCall.waitUp();
    await mobileCall.press('*11');
    await env.observer.until(
      async () => ((await env.observer.bridgedWith(callerPbx)).includes(mobilePbx) ? true : undefined),
      'the caller bridged with the mobile',
    );
    await deskLeg.ended;
    expect(env.observer.heard(mobilePbx)).toEqual([]);
    await mobileCall.hangup();
  });

  it('call-through to a blocked number is refused and never dialled', async () => {
    const mobile = '+491701000005';
    const profile = await env.api<{ id: string }>('POST', `/v1/companies/${env.cid}/blocking-profiles`, {
      name: 'no premium',
      incoming: [],
      outgoing: ['+49900'],
      forwarded: ['+49900'],
    });
    await env.createWorkplace({
      blockingProfileId: profile.id,
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await env.createPortal({ silentMode: false, pinRequired: true });

    const { call: mobileCall, pbx: mobilePbx } = await signInAtPortal(mobile, portal.number);
    await mobileCall.press('0900123456#');
    await env.observer.until(
      () => (env.observer.heard(mobilePbx).includes('sound:pbx/number-blocked') ? true : undefined),
      'number-blocked',
    );
    expect(env.world.allLegs().filter((l) => l.kind === 'pstn' && l.target.includes('900123456'))).toEqual(
      [],
    );
    await mobileCall.hangup();
  });

  it('call-through to 112 is refused with its prompt and never dialled (emergency calls go from the mobile)', async () => {
    const mobile = '+491701000025';
    await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await env.createPortal({ silentMode: false, pinRequired: true });

    const { call: mobileCall, pbx: mobilePbx } = await signInAtPortal(mobile, portal.number);
    const legsBefore = env.world.allLegs().length;
    await mobileCall.press('112#');
    await env.observer.until(
      () => (env.observer.heard(mobilePbx).includes('sound:pbx/emergency-dial-directly') ? true : undefined),
      'emergency-dial-directly',
    );
    // no leg of any kind: nothing went towards the carrier
    expect(env.world.allLegs().slice(legsBefore)).toEqual([]);
    await mobileCall.hangup();
  });

  it('call-through shows the workplace number to the far end, before and after answer; anonymous shows none', async () => {
    for (const presentation of ['number', 'anonymous'] as const) {
      const mobile = presentation === 'number' ? '+491701000006' : '+491701000007';
      const destination = presentation === 'number' ? '030555123' : '030555124';
      const wp = await env.createWorkplace({
        callerIdPresentation: presentation === 'number' ? 'number' : 'anonymous',
        parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
        voicebox: { enabled: true, pin: '4711' },
      });
      const portal = await env.createPortal({ silentMode: false, pinRequired: true });
      env.world.setBehaviour('pstn', `+49${destination.slice(1)}`, { kind: 'answer', afterMs: 100 });
      const { call: mobileCall, pbx: mobilePbx } = await signInAtPortal(mobile, portal.number);
      await mobileCall.press(`${destination}#`);
      const far = await env.world.waitForLeg('pstn', `+49${destination.slice(1)}`);
      await env.observer.until(
        async () => ((await env.observer.bridgedWith(mobilePbx)).length > 0 ? true : undefined),
        'the mobile bridged with the destination',
      );
      const expected = presentation === 'number' ? wp.number : '';
      expect(far.callerNumbers[0], `${presentation}: the number at ringing`).toBe(expected);
      // once bridged, Asterisk sends each side the other's caller ID as a connected-line update,
      // which a Local channel passes on as the far half's caller ID: that must not reveal the mobile
      await new Promise((r) => setTimeout(r, 300));
      const now = (await env.worldAri.channels.get({ channelId: far.channelId })) as unknown as {
        caller: { number: string };
      };
      expect(now.caller.number, `${presentation}: after the bridge`).toBe(expected);
      expect(
        far.callerNumbers.filter((n) => n !== expected),
        `${presentation}: updates`,
      ).toEqual([]);
      await mobileCall.hangup();
      await far.ended;
    }
  });

  it("a call-through to another company's number is an ordinary external call: out through the trunk, explained as one, nothing of that company shown", async () => {
    // company A holds the number; this run's company (B) calls it through its own portal
    const a = await env.api<{ id: string }>(
      'POST',
      '/v1/companies',
      { name: 'Andere GmbH' },
      env.platformToken,
    );
    const aGroup = await env.api<{ id: string }>(
      'POST',
      `/v1/companies/${a.id}/groups`,
      {
        name: 'Hamburg',
        timezone: 'Europe/Berlin',
        numberRanges: [{ first: '+4940999000', last: '+4940999099' }],
      },
      env.platformToken,
    );
    const theirs = await env.api<{ id: string; number: string }>(
      'POST',
      `/v1/companies/${a.id}/workplaces`,
      {
        firstName: 'Max',
        lastName: 'Andere',
        email: 'max@andere.example',
        username: `andere${String(Date.now() % 1e6)}`,
        groupId: aGroup.id,
        number: '+4940999001',
        language: 'de',
        timezone: 'Europe/Berlin',
        devices: [],
        parallelRinging: { enabled: true, numbers: ['+491709990001'], answerConfirmation: false },
      },
      env.platformToken,
    );
    const mobile = '+491701000018';
    const wp = await env.createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await env.createPortal({ silentMode: false, pinRequired: true });
    const explained = await env.api<Explanation>('POST', `/v1/companies/${env.cid}/routing/explain`, {
      from: mobile,
      via: portal.number,
      to: '040999001',
    });
    expect(explained.callThrough).toMatchObject({
      result: 'external',
      e164: theirs.number,
      callerId: wp.number,
    });
    expect(explained.plan).toBeUndefined();
    for (const secret of [a.id, theirs.id, '+491709990001'])
      expect(JSON.stringify(explained)).not.toContain(secret);

    env.world.setBehaviour('pstn', theirs.number, { kind: 'answer', afterMs: 100 });
    const { call, pbx } = await signInAtPortal(mobile, portal.number);
    await call.press('040999001#');
    const far = await env.world.waitForLeg('pstn', theirs.number);
    await env.observer.until(
      async () => ((await env.observer.bridgedWith(pbx)).length > 0 ? true : undefined),
      'the mobile bridged with the number, out through the trunk',
    );
    expect(far.callerNumbers[0]).toBe(wp.number);
    await call.hangup();
    await far.ended;
  });
}
