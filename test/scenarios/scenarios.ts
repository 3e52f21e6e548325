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
import type { PbxEvent } from '../../src/events/model.js';
import { promptsInAllLanguages, type ScenarioEnv } from './env.js';

export function callScenarios(getEnv: () => ScenarioEnv): void {
  const prompts = promptsInAllLanguages();
  let env: ScenarioEnv;
  let playedBefore = 0;
  let failedBefore = 0;

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

  it('no answer → voicebox: greeting, beep, the caller speaks and hangs up, the message is kept as a WAV', async () => {
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
    const caller = await env.world.call('+491511000002', wp.number);
    const callerPbx = await env.observer.until(
      () => env.observer.channelId(caller.pbxName),
      'the call reached the controller',
    );
    await env.observer.until(
      () => (env.observer.heard(callerPbx).includes('sound:pbx/beep') ? true : undefined),
      'the beep',
      40_000,
    );
    expect(env.observer.heard(callerPbx)).toContain('sound:pbx/vb-unavailable');
    await caller.waitUp();
    await caller.speak();
    await new Promise((r) => setTimeout(r, 1500));
    await caller.hangup();

    const messages = await env.observer.until(async () => {
      const list = await env.store.voicebox.list(wp.id);
      return list.length > 0 ? list : undefined;
    }, 'the voicebox message');
    expect(messages[0]!.callerNumber).toBe('+491511000002');
    const wav = (await env.pbxAri.recordings.getStoredFile({
      recordingName: messages[0]!.recordingName,
    })) as unknown as Buffer;
    expect(Buffer.from(wav).subarray(0, 4).toString('ascii')).toBe('RIFF');
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

    const mobileCall = await env.world.call(mobile, portal.number);
    const mobilePbx = await env.observer.until(
      () => env.observer.channelId(mobileCall.pbxName),
      'the portal call',
    );
    await env.observer.until(
      () => (env.observer.heard(mobilePbx).includes('sound:pbx/enter-pin') ? true : undefined),
      'enter-pin',
    );
    await mobileCall.waitUp();
    await mobileCall.press('4711#');
    await env.observer.until(
      () => (env.observer.heard(mobilePbx).includes('sound:pbx/portal-welcome') ? true : undefined),
      'the portal menu',
    );
    await mobileCall.press('*11');

    await env.observer.until(
      async () => ((await env.observer.bridgedWith(callerPbx)).includes(mobilePbx) ? true : undefined),
      'the caller bridged with the mobile',
    );
    await deskLeg.ended;
    await mobileCall.hangup();
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

    const mobileCall = await env.world.call(mobile, portal.number);
    const mobilePbx = await env.observer.until(
      () => env.observer.channelId(mobileCall.pbxName),
      'the portal call',
    );
    await env.observer.until(
      () => (env.observer.heard(mobilePbx).includes('sound:pbx/enter-pin') ? true : undefined),
      'enter-pin',
    );
    await mobileCall.waitUp();
    await mobileCall.press('4711#');
    await env.observer.until(
      () => (env.observer.heard(mobilePbx).includes('sound:pbx/portal-welcome') ? true : undefined),
      'the portal menu',
    );
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
      const mobileCall = await env.world.call(mobile, portal.number);
      const mobilePbx = await env.pbxChannelOf(mobileCall);
      await env.observer.until(
        () => (env.observer.heard(mobilePbx).includes('sound:pbx/enter-pin') ? true : undefined),
        'enter-pin',
      );
      await mobileCall.press('4711#');
      await env.observer.until(
        () => (env.observer.heard(mobilePbx).includes('sound:pbx/portal-welcome') ? true : undefined),
        'the portal menu',
      );
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
}
