import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { TestAri } from './helpers.js';

let sim: AriSimulator;
let pbx: TestAri;
beforeEach(async () => {
  sim = await startAriSimulator({
    timeScale: 0.02,
    mediaDurationMs: () => 1000,
    username: 'u1',
    password: 'p1',
  });
  pbx = new TestAri(sim.url, 'pbx', 'Basic ' + Buffer.from('u1:p1').toString('base64'));
  await pbx.connect();
});
afterEach(async () => {
  pbx.close();
  await sim.close();
});

describe('REST details', () => {
  it('refuses an event socket without valid credentials', async () => {
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/ari/events?app=pbx&api_key=u1:wrong`);
    ws.on('error', () => {}); // the refused handshake also surfaces as an error
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
    ws.terminate();
  });

  it('an app connected with subscribeAll=true hears channels of other apps', async () => {
    const auth = 'Basic ' + Buffer.from('u1:p1').toString('base64');
    const watcher = new TestAri(sim.url, 'watcher&subscribeAll=true', auth);
    await watcher.connect();
    const call = await sim.driver.placeCall({ from: '1', to: '2' });
    await pbx.req('POST', `/channels/${call.id}/answer`);
    expect((await watcher.waitFor((e) => e.type === 'ChannelStateChange')).channel.id).toBe(call.id);
    expect(watcher.events.every((e) => e.application === 'watcher')).toBe(true);
    watcher.close();
  });

  it('channel variables, move, hangup reasons and bad input answer like Asterisk', async () => {
    const call = await sim.driver.placeCall({ from: '+4930111', to: '200' });
    expect((await pbx.req('GET', `/channels/${call.id}/variable`, { variable: 'NOPE' })).body).toEqual({
      message: 'Provided variable was not found',
    });
    expect((await pbx.req('GET', `/channels/${call.id}/variable`)).status).toBe(400);
    expect(
      (await pbx.req('POST', `/channels/${call.id}/variable`, { variable: 'X', value: '1' })).status,
    ).toBe(204);
    expect((await pbx.waitFor((e) => e.type === 'ChannelVarset' && e.variable === 'X')).value).toBe('1');
    expect((await pbx.req('GET', `/channels/${call.id}/variable`, { variable: 'X' })).body).toEqual({
      value: '1',
    });
    expect(call.variables().X).toBe('1');
    expect(
      (await pbx.req('GET', `/channels/${call.id}/variable`, { variable: 'CALLERID(num)' })).body,
    ).toEqual({ value: '+4930111' });

    const other = new TestAri(sim.url, 'other', 'Basic ' + Buffer.from('u1:p1').toString('base64'));
    await other.connect();
    expect(
      (await pbx.req('POST', `/channels/${call.id}/move`, { app: 'other', appArgs: 'a,b' })).status,
    ).toBe(204);
    await pbx.waitFor((e) => e.type === 'StasisEnd');
    expect((await other.waitFor((e) => e.type === 'StasisStart')).args).toEqual(['a', 'b']);
    expect((await pbx.req('GET', '/applications/other')).body.channel_ids).toEqual([call.id]);
    expect((await pbx.req('GET', '/applications/pbx')).body.channel_ids).toEqual([]);
    expect((await pbx.req('GET', '/applications/nope')).status).toBe(404);

    expect((await pbx.req('DELETE', `/channels/${call.id}`, { reason: 'nonsense' })).body).toEqual({
      message: 'Invalid reason for hangup provided',
    });
    expect(call.isAlive()).toBe(true);
    expect((await pbx.req('DELETE', `/channels/${call.id}`, { reason_code: 21 })).status).toBe(204);
    expect(await call.waitForHangup()).toBe(21);
    other.close();
  });

  it('missing or bad parameters are refused with a message naming the field, nothing half-applied', async () => {
    const call = await sim.driver.placeCall({ from: '1', to: '2' });
    expect((await pbx.req('POST', '/channels/create', {})).body.message).toContain('endpoint');
    expect((await pbx.req('POST', `/channels/${call.id}/play`, {})).body.message).toContain('media');
    expect((await pbx.req('POST', `/channels/${call.id}/dial`, { timeout: 'soon' })).body.message).toContain(
      'timeout',
    );
    expect((await pbx.req('POST', `/channels/${call.id}/record`, { name: 'r', format: 'mp9' })).status).toBe(
      422,
    );
    expect((await pbx.req('POST', `/channels/${call.id}/record`, { format: 'wav' })).body.message).toContain(
      'name',
    );
    expect((await pbx.req('POST', '/bridges', { type: 'weird' })).body.message).toContain('weird');
    expect(sim.driver.bridges()).toEqual([]);
    const b = (await pbx.req('POST', '/bridges')).body;
    expect((await pbx.req('POST', `/bridges/${b.id}/removeChannel`, { channel: call.id })).status).toBe(422);
    expect((await pbx.req('GET', '/no/such/thing')).status).toBe(404);
    expect((await pbx.req('PATCH', '/channels')).status).toBe(405);
  });

  it('a live recording can be stopped, copied or cancelled; a name in live use is refused', async () => {
    const c2 = await sim.driver.placeCall({ from: '1', to: '2' });
    await pbx.req('POST', `/channels/${c2.id}/record`, { name: 'kept', format: 'wav' });
    await pbx.waitFor((e) => e.type === 'RecordingStarted' && e.recording.name === 'kept');
    expect((await pbx.req('GET', '/recordings/live/kept')).body.state).toBe('recording');
    const c3 = await sim.driver.placeCall({ from: '1', to: '2' });
    expect(
      (await pbx.req('POST', `/channels/${c3.id}/record`, { name: 'kept', format: 'wav' })).body,
    ).toEqual({
      message: "Recording 'kept' already exists and can not be overwritten",
    });
    await pbx.req('POST', '/recordings/live/kept/stop');
    expect(
      (await pbx.waitFor((e) => e.type === 'RecordingFinished' && e.recording.name === 'kept')).recording
        .state,
    ).toBe('done');
    expect(
      (await pbx.req('POST', '/recordings/stored/kept/copy', { destinationRecordingName: 'copy' })).body,
    ).toEqual({ name: 'copy', format: 'wav' });
    expect(
      (await pbx.req('GET', '/recordings/stored')).body.map((r: { name: string }) => r.name).sort(),
    ).toEqual(['copy', 'kept']);

    await pbx.req('POST', `/channels/${c2.id}/record`, { name: 'dropped', format: 'wav' });
    await pbx.waitFor((e) => e.type === 'RecordingStarted' && e.recording.name === 'dropped');
    await pbx.req('DELETE', '/recordings/live/dropped');
    expect(
      (await pbx.waitFor((e) => e.type === 'RecordingFinished' && e.recording.name === 'dropped')).recording
        .state,
    ).toBe('canceled');
    expect((await pbx.req('GET', '/recordings/stored/dropped')).status).toBe(404);
    expect((await pbx.req('GET', '/recordings/live/dropped')).body).toEqual({
      message: 'Recording not found',
    });
  });
});
