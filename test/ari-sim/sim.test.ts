import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { TestAri, README_DIALPLAN } from './helpers.js';

let sim: AriSimulator;
let pbx: TestAri;

beforeEach(async () => {
  // createToStasisMs leaves a wide window so the create/dial race test is not a race itself.
  sim = await startAriSimulator({
    timeScale: 0.02,
    dialplan: README_DIALPLAN,
    mediaDurationMs: (m) => (m.includes('long') ? 1e6 : 1000),
    createToStasisMs: 300,
  });
  pbx = new TestAri(sim.url, 'pbx');
  await pbx.connect();
});
afterEach(async () => {
  pbx.close();
  await sim.close();
});

describe('auth', () => {
  it('answers 401 without credentials and accepts Basic auth and api_key', async () => {
    const anon = await fetch(`${sim.url}/ari/asterisk/info`);
    expect(anon.status).toBe(401);
    const wrong = await fetch(`${sim.url}/ari/asterisk/info?api_key=ari:wrong`);
    expect(wrong.status).toBe(401);
    const key = await fetch(`${sim.url}/ari/asterisk/info?api_key=ari:ari`);
    expect(key.status).toBe(200);
    expect((await pbx.req('GET', '/asterisk/info')).body.system.version).toBe('22.10.1');
  });
});

describe('inbound call', () => {
  it('enters Stasis with exten, caller and args; answer, play, DTMF and caller hangup emit Asterisk events', async () => {
    const call = await sim.driver.placeCall({ from: '+491701234567', to: '4930123456' });
    const start = await pbx.waitFor((e) => e.type === 'StasisStart');
    expect(start.args).toEqual(['inbound']);
    expect(start.channel.dialplan.exten).toBe('4930123456');
    expect(start.channel.caller.number).toBe('+491701234567');
    expect(start.channel.state).toBe('Ring');
    expect(start.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(start.asterisk_id).toBeTruthy();
    expect(call.id).toMatch(/^\d+\.\d+$/);
    expect(call.name).toMatch(/^PJSIP\/trunk-[0-9a-f]{8}$/);

    expect((await pbx.req('POST', `/channels/${call.id}/answer`)).status).toBe(204);
    await call.waitForState('Up');
    const play = await pbx.req('POST', `/channels/${call.id}/play`, {
      media: 'sound:pbx/welcome',
      playbackId: 'pb1',
    });
    expect(play.status).toBe(201);
    expect(play.body).toEqual({
      id: 'pb1',
      media_uri: 'sound:pbx/welcome',
      target_uri: `channel:${call.id}`,
      language: 'en',
      state: 'queued',
    });
    await pbx.waitFor((e) => e.type === 'PlaybackFinished' && e.playback.id === 'pb1');
    expect(call.heard()).toEqual(['sound:pbx/welcome']);

    await call.pressDigits('12#', 0);
    const digits = pbx.events.filter((e) => e.type === 'ChannelDtmfReceived');
    await pbx.waitFor((e) => e.type === 'ChannelDtmfReceived' && e.digit === '#');
    expect(
      pbx.events.filter((e) => e.type === 'ChannelDtmfReceived').map((e) => [e.digit, e.duration_ms]),
    ).toEqual([
      ['1', 100],
      ['2', 100],
      ['#', 100],
    ]);
    expect(digits.length).toBeLessThanOrEqual(3);

    await call.hangup();
    await pbx.waitFor((e) => e.type === 'StasisEnd');
    expect(pbx.typesFor(call.id)).toEqual([
      'StasisStart',
      'ChannelStateChange',
      'ChannelDtmfReceived',
      'ChannelDtmfReceived',
      'ChannelDtmfReceived',
      'ChannelHangupRequest',
      'StasisEnd',
    ]);
    expect(pbx.events.find((e) => e.type === 'ChannelHangupRequest')!.cause).toBe(16);
    expect(call.isAlive()).toBe(false);
    expect(call.hangupCause()).toBe(16);
    expect((await pbx.req('GET', `/channels/${call.id}`)).body).toEqual({ message: 'Channel not found' });
  });

  it('stopping a playback finishes it with state done and the next queued one starts', async () => {
    const call = await sim.driver.placeCall({ from: '+49301', to: '100' });
    await pbx.waitFor((e) => e.type === 'StasisStart');
    await pbx.req('POST', `/channels/${call.id}/play`, { media: 'sound:long-a', playbackId: 'p-a' });
    await pbx.req('POST', `/channels/${call.id}/play`, { media: 'sound:b', playbackId: 'p-b' });
    await call.waitForPlayback('sound:long-a');
    expect((await pbx.req('GET', '/playbacks/p-a')).body.state).toBe('playing');
    expect((await pbx.req('DELETE', '/playbacks/p-a')).status).toBe(204);
    const fin = await pbx.waitFor((e) => e.type === 'PlaybackFinished' && e.playback.id === 'p-a');
    expect(fin.playback.state).toBe('done');
    await call.waitForPlayback('sound:b');
    expect(call.heard()).toEqual(['sound:long-a', 'sound:b']);
    expect((await pbx.req('DELETE', '/playbacks/nope')).body).toEqual({ message: 'Playback not found' });
  });
});

describe('outbound legs', () => {
  it('create answers before StasisStart: dial at once is 409, after StasisStart Dial goes "" → RINGING → ANSWER', async () => {
    const caller = await sim.driver.placeCall({ from: '+49301', to: '100' });
    sim.driver.setEndpointBehaviour('PJSIP/erika-1', { kind: 'answer', afterMs: 100 });
    const created = await pbx.req('POST', '/channels/create', {
      endpoint: 'PJSIP/erika-1',
      app: 'pbx',
      appArgs: 'leg',
    });
    expect(created.status).toBe(200);
    const id = created.body.id as string;
    expect(created.body.name).toMatch(/^PJSIP\/erika-1-[0-9a-f]{8}$/);
    const early = await pbx.req('POST', `/channels/${id}/dial`, { caller: caller.id, timeout: 20 });
    expect(early).toEqual({ status: 409, body: { message: 'Channel not in Stasis application' } });
    await pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === id);
    expect((await pbx.req('POST', `/channels/${id}/dial`, { caller: caller.id, timeout: 20 })).status).toBe(
      204,
    );
    const leg = sim.driver.channel(id)!;
    await leg.waitForState('Up');
    await pbx.waitFor((e) => e.type === 'Dial' && e.dialstatus === 'ANSWER');
    expect(pbx.events.filter((e) => e.type === 'Dial').map((e) => e.dialstatus)).toEqual([
      '',
      'RINGING',
      'ANSWER',
    ]);
    // dialling with `caller` copies the caller's identity into the leg's connected line
    expect(leg.callerNumber()).toBe('+49301');
  });

  it.each([
    ['busy', { kind: 'busy' as const }, 17],
    ['unreachable', { kind: 'unreachable' as const }, 20],
    ['reject', { kind: 'reject' as const }, 21],
    ['noanswer (dial timeout)', { kind: 'noanswer' as const }, 19],
  ])('a %s leg ends with its hangup cause and no final Dial status', async (_name, behaviour, cause) => {
    sim.driver.setEndpointBehaviour(/^PJSIP\/x-/, behaviour);
    const created = await pbx.req('POST', '/channels/create', { endpoint: 'PJSIP/x-1', app: 'pbx' });
    const id = created.body.id as string;
    await pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === id);
    await pbx.req('POST', `/channels/${id}/dial`, { timeout: 2 });
    const destroyed = await pbx.waitFor((e) => e.type === 'ChannelDestroyed' && e.channel.id === id);
    expect(destroyed.cause).toBe(cause);
    expect(destroyed.cause_txt).toBeTruthy();
    const statuses = pbx.events.filter((e) => e.type === 'Dial').map((e) => e.dialstatus);
    expect(statuses.every((s) => s === '' || s === 'RINGING')).toBe(true);
    expect(pbx.typesFor(id).slice(-4)).toEqual([
      'ChannelHangupRequest',
      'StasisEnd',
      'ChannelVarset',
      'ChannelDestroyed',
    ]);
  });

  it('manual legs ring until the test answers; allocation failures answer 500', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/bad', { kind: 'allocation-failure' });
    expect(await pbx.req('POST', '/channels/create', { endpoint: 'PJSIP/bad', app: 'pbx' })).toEqual({
      status: 500,
      body: { error: 'Allocation failed' },
    });
    expect((await pbx.req('POST', '/channels', { endpoint: 'Bogus/thing', app: 'pbx' })).body).toEqual({
      error: 'Allocation failed',
    });
    sim.driver.setEndpointBehaviour('PJSIP/m', { kind: 'manual' });
    const waiting = sim.driver.waitForChannel('PJSIP/m');
    const created = await pbx.req('POST', '/channels/create', { endpoint: 'PJSIP/m', app: 'pbx' });
    const leg = await waiting;
    expect(leg.id).toBe(created.body.id);
    await pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === leg.id);
    await pbx.req('POST', `/channels/${leg.id}/dial`);
    await leg.waitForState('Ringing');
    await leg.answer();
    await pbx.waitFor((e) => e.type === 'Dial' && e.dialstatus === 'ANSWER');
    await pbx.req('DELETE', `/channels/${leg.id}`, { reason: 'answered_elsewhere' });
    expect(await leg.waitForHangup()).toBe(26);
    expect((await pbx.req('DELETE', `/channels/${leg.id}`)).status).toBe(404);
  });
});

describe('originate', () => {
  it('an answered originate enters the app Up; a busy one only reports its destruction', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/+4917011@trunk', { kind: 'answer', afterMs: 100 });
    sim.driver.setEndpointBehaviour('PJSIP/+4917022@trunk', { kind: 'busy', afterMs: 10 });
    const up = await pbx.req('POST', '/channels', {
      endpoint: 'PJSIP/+4917011@trunk',
      app: 'pbx',
      appArgs: 'out,1',
      callerId: '+4930999',
    });
    expect(up.body.name).toMatch(/^PJSIP\/trunk-[0-9a-f]{8}$/);
    const start = await pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === up.body.id);
    expect(start.channel.state).toBe('Up');
    expect(start.args).toEqual(['out', '1']);
    expect(sim.driver.channel(up.body.id)!.callerNumber()).toBe('+4930999');
    const busy = await pbx.req('POST', '/channels', { endpoint: 'PJSIP/+4917022@trunk', app: 'pbx' });
    const gone = await pbx.waitFor((e) => e.type === 'ChannelDestroyed' && e.channel.id === busy.body.id);
    expect(gone.cause).toBe(17);
    expect(pbx.typesFor(busy.body.id)).not.toContain('StasisStart');
  });
});

describe('bridges', () => {
  it('moving a channel between bridges emits ChannelLeftBridge then ChannelEnteredBridge; errors like Asterisk', async () => {
    const a = await sim.driver.placeCall({ from: '1', to: '100' });
    const b = await sim.driver.placeCall({ from: '2', to: '100' });
    const c = await sim.driver.placeCall({ from: '3', to: '100' });
    const b1 = (await pbx.req('POST', '/bridges', { type: 'mixing', name: 'one' })).body;
    expect(b1).toMatchObject({
      technology: 'simple_bridge',
      bridge_type: 'mixing',
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: 'one',
      channels: [],
    });
    const b2 = (await pbx.req('POST', '/bridges/b-two', { type: 'mixing' })).body;
    expect(b2.id).toBe('b-two');
    await pbx.req('POST', `/bridges/${b1.id}/addChannel`, { channel: `${a.id},${b.id}` });
    expect(a.bridgedWith()).toEqual([b.id]);
    expect(a.variables().BRIDGEPEER).toBe(b.name);
    const mark = pbx.events.length;
    await pbx.req('POST', `/bridges/b-two/addChannel`, { channel: `${c.id},${a.id}` });
    const moved = pbx.events.slice(mark).filter((e) => e.channel?.id === a.id && e.type.includes('Bridge'));
    expect(moved.map((e) => [e.type, e.bridge.id])).toEqual([
      ['ChannelLeftBridge', b1.id],
      ['ChannelEnteredBridge', 'b-two'],
    ]);
    expect(a.isAlive()).toBe(true);
    expect(sim.driver.bridges().find((x) => x.id === 'b-two')!.channelIds).toEqual([c.id, a.id]);
    expect((await pbx.req('GET', `/applications/pbx`)).body.bridge_ids.sort()).toEqual(
      [b1.id, 'b-two'].sort(),
    );

    expect(await pbx.req('POST', '/bridges/nope/addChannel', { channel: 'x' })).toEqual({
      status: 404,
      body: { message: 'Bridge not found' },
    });
    expect(await pbx.req('POST', `/bridges/${b1.id}/addChannel`, { channel: 'x' })).toEqual({
      status: 400,
      body: { message: 'Channel not found' },
    });
    await pbx.req('POST', `/bridges/b-two/play`, { media: 'sound:x', playbackId: 'bp' });
    await c.waitForPlayback('sound:x');
    expect(a.heard()).toContain('sound:x');
    expect((await pbx.req('DELETE', '/bridges/b-two')).status).toBe(204);
    await pbx.waitFor((e) => e.type === 'BridgeDestroyed' && e.bridge.id === 'b-two');
    expect(c.bridgedWith()).toEqual([]);
  });
});

describe('recordings', () => {
  const record = (id: string, extra: Record<string, string | number | boolean> = {}) =>
    pbx.req('POST', `/channels/${id}/record`, {
      name: 'vm/one',
      format: 'wav',
      maxDurationSeconds: 30,
      maxSilenceSeconds: 5,
      beep: true,
      terminateOn: '#',
      ...extra,
    });

  it('# ends a recording after the ChannelDtmfReceived and stores a real WAV of the recorded length', async () => {
    const call = await sim.driver.placeCall({ from: '1', to: '100' });
    await pbx.req('POST', `/channels/${call.id}/answer`);
    const started = await record(call.id);
    expect(started).toEqual({
      status: 201,
      body: { name: 'vm/one', format: 'wav', state: 'queued', target_uri: `channel:${call.id}` },
    });
    await pbx.waitFor((e) => e.type === 'RecordingStarted');
    await call.speak(2000);
    await call.pressDigits('#', 0);
    const fin = await pbx.waitFor((e) => e.type === 'RecordingFinished');
    const types = pbx.events.map((e) => e.type);
    expect(types.indexOf('ChannelDtmfReceived')).toBeLessThan(types.indexOf('RecordingFinished'));
    expect(fin.recording).toMatchObject({ name: 'vm/one', state: 'done', talking_duration: 2 });
    const stored = sim.driver.storedRecordings()[0]!;
    expect(stored.durationMs).toBeGreaterThanOrEqual(2000);
    const file = await fetch(
      `${sim.url}/ari/recordings/stored/${encodeURIComponent('vm/one')}/file?api_key=ari:ari`,
    );
    expect(file.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await file.arrayBuffer());
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(Math.abs((wav.length - 44) / 16 - stored.durationMs)).toBeLessThan(2);
    expect(readFileSync(stored.file).equals(wav)).toBe(true);
    // ifExists=fail on a stored name: refused at once (test/ari-sim/traces/rest-errors-controller.jsonl); the stored one stays
    expect(await record(call.id)).toEqual({
      status: 409,
      body: { message: "Recording 'vm/one' already exists and can not be overwritten" },
    });
    expect(sim.driver.storedRecordings()[0]!.durationMs).toBe(stored.durationMs);
    expect((await pbx.req('GET', '/recordings/stored/nope')).body).toEqual({
      message: 'Recording not found',
    });
  });

  it('caller hangup ends it done with the file kept; maxSilence and maxDuration end it; ifExists append adds up', async () => {
    const call = await sim.driver.placeCall({ from: '1', to: '100' });
    await pbx.req('POST', `/channels/${call.id}/answer`);
    await record(call.id);
    await pbx.waitFor((e) => e.type === 'RecordingStarted');
    await call.hangup();
    const fin = await pbx.waitFor((e) => e.type === 'RecordingFinished');
    expect(fin.recording.state).toBe('done');
    const types = pbx.typesFor(call.id);
    expect(types.slice(-2)).toEqual(['ChannelHangupRequest', 'StasisEnd']);
    expect((await pbx.req('GET', '/recordings/stored/vm%2Fone')).status).toBe(200);

    const c2 = await sim.driver.placeCall({ from: '2', to: '100' });
    await record(c2.id, { name: 'silent', maxSilenceSeconds: 1, maxDurationSeconds: 0 });
    const f2 = await pbx.waitFor((e) => e.type === 'RecordingFinished' && e.recording.name === 'silent');
    expect(f2.recording.duration).toBe(1);
    await record(c2.id, { name: 'silent', maxSilenceSeconds: 0, maxDurationSeconds: 2, ifExists: 'append' });
    await pbx.waitFor(
      (e) => e.type === 'RecordingFinished' && e.recording.name === 'silent',
      3000,
      pbx.events.indexOf(f2) + 1,
    );
    const appended = sim.driver.storedRecordings().find((r) => r.name === 'silent')!;
    expect(appended.durationMs).toBeGreaterThanOrEqual(3000);
    await record(c2.id, {
      name: 'silent',
      maxSilenceSeconds: 0,
      maxDurationSeconds: 1,
      ifExists: 'overwrite',
    });
    await c2.waitForState('Ring');
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.driver.storedRecordings().find((r) => r.name === 'silent')!.durationMs).toBeLessThan(2500);
  });

  it('close() removes the recordings directory it made itself, never one the caller gave it', async () => {
    /** A simulator of its own that stores one recording; returns the stored file, after close(). */
    const storeOneAndClose = async (recordingsDir?: string): Promise<string> => {
      const own = await startAriSimulator({ timeScale: 0.02, dialplan: README_DIALPLAN, recordingsDir });
      const app = new TestAri(own.url, 'pbx');
      await app.connect();
      try {
        const call = await own.driver.placeCall({ from: '1', to: '100' });
        await app.req('POST', `/channels/${call.id}/answer`);
        await app.req('POST', `/channels/${call.id}/record`, {
          name: 'one',
          format: 'wav',
          terminateOn: '#',
        });
        await app.waitFor((e) => e.type === 'RecordingStarted');
        await call.hangup();
        await app.waitFor((e) => e.type === 'RecordingFinished');
        const file = own.driver.storedRecordings()[0]!.file;
        expect(existsSync(file)).toBe(true);
        return file;
      } finally {
        app.close();
        await own.close();
      }
    };

    const made = await storeOneAndClose();
    expect(dirname(made)).toMatch(/ari-sim-rec-/);
    expect(existsSync(dirname(made))).toBe(false);

    const given = mkdtempSync(join(tmpdir(), 'ari-sim-test-given-'));
    try {
      const kept = await storeOneAndClose(given);
      expect(dirname(kept)).toBe(given);
      expect(existsSync(kept)).toBe(true);
    } finally {
      rmSync(given, { recursive: true, force: true });
    }
  });
});

describe('Local channels and the README dialplan', () => {
  it('a caller originated by labdriver enters pbx via ;2; answering ;2 puts ;1 into labdriver', async () => {
    const lab = new TestAri(sim.url, 'labdriver');
    await lab.connect();
    const res = await lab.req('POST', '/channels', {
      endpoint: 'Local/4930123456@from-trunk',
      app: 'labdriver',
      appArgs: 'caller',
      callerId: '+491701234567',
    });
    expect(res.body.name).toMatch(/^Local\/4930123456@from-trunk-[0-9a-f]{8};1$/);
    expect(res.body.dialplan).toMatchObject({ app_name: 'AppDial2', app_data: '(Outgoing Line)' });
    const start = await pbx.waitFor((e) => e.type === 'StasisStart');
    expect(start.channel.name).toBe(res.body.name.replace(';1', ';2'));
    expect(start.channel.dialplan).toMatchObject({
      context: 'from-trunk',
      exten: '4930123456',
      app_name: 'Stasis',
      app_data: 'pbx,inbound',
    });
    await pbx.req('POST', `/channels/${start.channel.id}/answer`);
    const labStart = await lab.waitFor((e) => e.type === 'StasisStart' && e.channel.id === res.body.id);
    expect(labStart.args).toEqual(['caller']);

    // a device leg created by pbx runs [lab-devices] with ${EXTEN}
    const leg = await pbx.req('POST', '/channels/create', {
      endpoint: 'Local/desk1@lab-devices',
      app: 'pbx',
      appArgs: 'leg',
    });
    await pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === leg.body.id);
    await pbx.req('POST', `/channels/${leg.body.id}/dial`, { caller: start.channel.id, timeout: 20 });
    const dev = await lab.waitFor((e) => e.type === 'StasisStart' && e.args[0] === 'device');
    expect(dev.args).toEqual(['device', 'desk1']);
    await lab.req('POST', `/channels/${dev.channel.id}/ring`);
    await lab.req('POST', `/channels/${dev.channel.id}/answer`);
    await pbx.waitFor((e) => e.type === 'Dial' && e.dialstatus === 'ANSWER');
    // DTMF sent on ;1 arrives on ;2
    await lab.req('POST', `/channels/${res.body.id}/dtmf`, { dtmf: '5' });
    expect((await pbx.waitFor((e) => e.type === 'ChannelDtmfReceived')).channel.id).toBe(start.channel.id);
    // a busy device: hangup propagates to ;1 with the cause
    await lab.req('DELETE', `/channels/${dev.channel.id}`, { reason: 'busy' });
    expect(
      (await pbx.waitFor((e) => e.type === 'ChannelDestroyed' && e.channel.id === leg.body.id)).cause,
    ).toBe(17);
    lab.close();
  });
});

describe('dynamic config, applications, reconnect', () => {
  it('PUT/GET/DELETE res_pjsip objects with validation and 404s', async () => {
    const put = await pbx.req(
      'PUT',
      '/asterisk/config/dynamic/res_pjsip/auth/dev-1',
      {},
      { fields: [{ attribute: 'password', value: 'x' }] },
    );
    expect(put.status).toBe(200);
    expect(put.body).toContainEqual({ attribute: 'password', value: 'x' });
    expect(put.body.length).toBe(12);
    expect(sim.driver.dynamicConfig().get('res_pjsip/auth/dev-1')!.password).toBe('x');
    const bad = await pbx.req(
      'PUT',
      '/asterisk/config/dynamic/res_pjsip/endpoint/dev-1',
      {},
      { fields: [{ attribute: 'no_such_option', value: 'x' }] },
    );
    expect(bad).toEqual({
      status: 400,
      body: { message: "Update of object 'dev-1' failed field value validation" },
    });
    expect(
      (await pbx.req('PUT', '/asterisk/config/dynamic/res_pjsip/bogus/dev-1', {}, { fields: [] })).body,
    ).toEqual({ message: "objectType 'bogus' not found" });
    expect((await pbx.req('DELETE', '/asterisk/config/dynamic/res_pjsip/auth/dev-1')).status).toBe(204);
    expect((await pbx.req('DELETE', '/asterisk/config/dynamic/res_pjsip/auth/dev-1')).body).toEqual({
      message: "Object with id 'dev-1' not found",
    });
  });

  it('channels survive a dropped event socket; a reconnected socket gets their events and GET /applications lists them', async () => {
    const call = await sim.driver.placeCall({ from: '1', to: '100' });
    await pbx.req('POST', `/channels/${call.id}/answer`);
    sim.driver.dropEventSockets();
    await new Promise((r) => setTimeout(r, 50));
    expect(call.isAlive()).toBe(true);
    const again = new TestAri(sim.url, 'pbx');
    await again.connect();
    const app = (await again.req('GET', '/applications/pbx')).body;
    expect(app.channel_ids).toEqual([call.id]);
    await call.pressDigits('7', 0);
    expect((await again.waitFor((e) => e.type === 'ChannelDtmfReceived')).digit).toBe('7');
    again.close();
    expect(sim.driver.restLog().some((r) => r.path === '/applications/pbx' && r.status === 200)).toBe(true);
  });
});

describe('playbacks that fail, as on Asterisk (test/ari-sim/traces/playback-failures.jsonl)', () => {
  it('a prompt missing from the project sounds fails at once; a core sound plays; a prompt hung up on fails', async () => {
    // the default media lengths: the project's sounds/ decide what exists
    const own = await startAriSimulator({ timeScale: 0.02, dialplan: README_DIALPLAN });
    const app = new TestAri(own.url, 'pbx');
    await app.connect();
    try {
      const call = await own.driver.placeCall({ from: '+49301', to: '100' });
      await app.waitFor((e) => e.type === 'StasisStart');
      await app.req('POST', `/channels/${call.id}/answer`);
      const finished = async (playbackId: string) =>
        (await app.waitFor((e) => e.type === 'PlaybackFinished' && e.playback.id === playbackId)).playback
          .state;
      const play = (media: string, playbackId: string) =>
        app.req('POST', `/channels/${call.id}/play`, { media, lang: 'de', playbackId });

      expect((await play('sound:pbx/no-such-prompt', 'missing')).status).toBe(201);
      expect(await finished('missing')).toBe('failed');
      expect(app.events.filter((e) => e.playback?.id === 'missing').map((e) => e.type)).toEqual([
        'PlaybackStarted',
        'PlaybackFinished',
      ]);
      expect((await app.req('DELETE', '/playbacks/missing')).body).toEqual({ message: 'Playback not found' });
      await play('recording:no-such-recording', 'no-recording');
      expect(await finished('no-recording')).toBe('failed');
      await play('sound:beep', 'core');
      expect(await finished('core')).toBe('done');
      await play('sound:pbx/beep', 'own');
      expect(await finished('own')).toBe('done');

      await play('sound:pbx/vb-unavailable', 'cut');
      await app.waitFor((e) => e.type === 'PlaybackStarted' && e.playback.id === 'cut');
      await call.hangup();
      expect(await finished('cut')).toBe('failed');
      const types = app.events.map((e) => e.type);
      expect(types.lastIndexOf('ChannelHangupRequest')).toBeLessThan(types.lastIndexOf('PlaybackFinished'));
      expect((await play('sound:pbx/beep', 'gone')).body).toEqual({ message: 'Channel not found' });
    } finally {
      app.close();
      await own.close();
    }
  });
});
