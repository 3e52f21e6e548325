/**
 * The ARI client against the ARI simulator (tools/ari-sim) over real HTTP and WebSocket on
 * loopback: every REST verb shape the call features use, event routing by object id, and the
 * event socket dropping mid-call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import { isNotFound, AriError } from '../../src/ari/contract.js';
import type { AriEvent, AriEventMap, AriEventType } from '../../src/ari/generated/models.js';

const logger = pino({ level: 'silent' });
let sim: AriSimulator;
let ari: AriClient;
let seq = 0;
const uid = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

/** resolves with the first event of `type` that mentions `objectId` (registered before the trigger) */
function next<K extends AriEventType>(objectId: string, type: K, timeoutMs = 5000): Promise<AriEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} for ${objectId} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = ari.events.route(objectId, (e: AriEvent) => {
      if (e.type !== type) return;
      clearTimeout(timer);
      off();
      resolve(e as AriEventMap[K]);
    });
  });
}

/** fails with a clear message instead of hanging until the test timeout */
function within<T>(promise: Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** collects every event mentioning `objectId` until stopped */
function collect(objectId: string): { events: AriEvent[]; stop: () => void } {
  const events: AriEvent[] = [];
  const stop = ari.events.route(objectId, (e: AriEvent) => events.push(e));
  return { events, stop };
}

/** an inbound call that the controller has seen enter Stasis */
async function inboundCall(to = '+4930123456', from = '+491701234567') {
  const started = new Promise<AriEventMap['StasisStart']>((resolve) => {
    const off = ari.events.on('StasisStart', (e) => {
      if (e.channel.dialplan?.exten !== to || e.channel.caller.number !== from) return;
      off();
      resolve(e);
    });
  });
  const sc = await sim.driver.placeCall({ from, to });
  const event = await started;
  return { sc, event, channelId: event.channel.id };
}

beforeAll(async () => {
  sim = await startAriSimulator({ timeScale: 0.02 });
  ari = createAriClient({
    url: sim.url,
    username: 'ari',
    password: 'ari',
    app: 'pbx',
    logger,
    reconnectMinMs: 10,
    reconnectMaxMs: 200,
  });
  await ari.connect();
});

afterAll(async () => {
  await ari?.close();
  await sim?.close();
});

describe('REST verbs against the simulator', () => {
  it('inbound StasisStart carries args, called and calling number; answer brings the channel Up', async () => {
    const { sc, event, channelId } = await inboundCall('+4930123400', '+491701234500');
    expect(event.args).toEqual(['inbound']);
    expect(event.channel.dialplan?.exten).toBe('+4930123400');
    expect(event.channel.caller.number).toBe('+491701234500');
    await ari.channels.answer({ channelId });
    await sc.waitForState('Up');
    const ch = await ari.channels.get({ channelId });
    expect(ch.state).toBe('Up');
    await ari.channels.hangup({ channelId });
    expect(await sc.waitForHangup()).toBeTypeOf('number');
  });

  it('play → PlaybackStarted and PlaybackFinished routed by playback id; the caller heard it', async () => {
    const { sc, channelId } = await inboundCall('+4930123401');
    await ari.channels.answer({ channelId });
    const playbackId = uid('pb');
    const started = next(playbackId, 'PlaybackStarted');
    const finished = next(playbackId, 'PlaybackFinished');
    const pb = await ari.channels.play({
      channelId,
      media: 'sound:pbx/portal-welcome',
      lang: 'de',
      playbackId,
    });
    expect(pb.id).toBe(playbackId);
    expect((await started).playback.media_uri).toBe('sound:pbx/portal-welcome');
    expect((await finished).playback.state).toBe('done');
    expect(sc.heard()).toContain('sound:pbx/portal-welcome');
    await ari.channels.hangup({ channelId });
  });

  it('play then stop → PlaybackFinished; stopping again is a 404', async () => {
    const { channelId } = await inboundCall('+4930123402');
    await ari.channels.answer({ channelId });
    const playbackId = uid('pb');
    const finished = next(playbackId, 'PlaybackFinished');
    await ari.channels.play({ channelId, media: ['sound:pbx/enter-pin', 'sound:pbx/goodbye'], playbackId });
    await ari.playbacks.stop({ playbackId });
    await finished;
    const err = await ari.playbacks.stop({ playbackId }).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    await ari.channels.hangup({ channelId });
  });

  it('create → StasisStart → dial: Dial "" / RINGING / ANSWER routed by the leg id', async () => {
    const { channelId: callerId } = await inboundCall('+4930123403');
    sim.driver.setEndpointBehaviour('PJSIP/erika-1', { kind: 'answer', afterMs: 100 });
    const legId = uid('leg');
    const leg = collect(legId);
    const inStasis = next(legId, 'StasisStart');
    const created = await ari.channels.create({
      endpoint: 'PJSIP/erika-1',
      app: 'pbx',
      appArgs: 'leg',
      channelId: legId,
    });
    expect(created.id).toBe(legId);
    expect((await inStasis).args).toEqual(['leg']);
    const answered = new Promise<void>((resolve) =>
      ari.events.route(legId, (e: AriEvent) => {
        if (e.type === 'Dial' && e.dialstatus === 'ANSWER') resolve();
      }),
    );
    await ari.channels.dial({ channelId: legId, caller: callerId, timeout: 20 });
    await answered;
    const statuses = leg.events
      .filter((e) => e.type === 'Dial')
      .map((e) => (e as AriEventMap['Dial']).dialstatus);
    expect(statuses).toEqual(['', 'RINGING', 'ANSWER']);
    leg.stop();
    await ari.channels.hangup({ channelId: legId });
    await ari.channels.hangup({ channelId: callerId });
  });

  it('a busy leg ends with its hangup cause (17) on ChannelDestroyed', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/busy-1', { kind: 'busy', afterMs: 50 });
    const legId = uid('leg');
    const inStasis = next(legId, 'StasisStart');
    const destroyed = next(legId, 'ChannelDestroyed');
    await ari.channels.create({ endpoint: 'PJSIP/busy-1', app: 'pbx', appArgs: 'leg', channelId: legId });
    await inStasis;
    await ari.channels.dial({ channelId: legId, timeout: 20 });
    expect((await destroyed).cause).toBe(17);
  });

  it('allocation failure → AriError 500 "Allocation failed"', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/nowhere', { kind: 'allocation-failure' });
    const err = await ari.channels.create({ endpoint: 'PJSIP/nowhere', app: 'pbx' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AriError);
    expect(err).toMatchObject({ status: 500, ariMessage: 'Allocation failed', operation: 'channels.create' });
  });

  it('bridges: create, addChannel, then move a channel into another bridge without hanging it up', async () => {
    const a = await inboundCall('+4930123404', '+491701230001');
    const b = await inboundCall('+4930123405', '+491701230002');
    await ari.channels.answer({ channelId: a.channelId });
    await ari.channels.answer({ channelId: b.channelId });
    const bridgeA = uid('br');
    const bridgeB = uid('br');
    const created = await ari.bridges.create({ type: 'mixing', bridgeId: bridgeA });
    expect(created).toMatchObject({ id: bridgeA, bridge_type: 'mixing' });
    await ari.bridges.create({ type: 'mixing', bridgeId: bridgeB });
    const entered = next(bridgeA, 'ChannelEnteredBridge');
    await ari.bridges.addChannel({ bridgeId: bridgeA, channel: [a.channelId, b.channelId] });
    await entered;
    expect(a.sc.bridgedWith()).toEqual([b.channelId]);

    const left = next(bridgeA, 'ChannelLeftBridge');
    const enteredB = next(bridgeB, 'ChannelEnteredBridge');
    await ari.bridges.addChannel({ bridgeId: bridgeB, channel: b.channelId });
    expect((await left).channel?.id).toBe(b.channelId);
    expect((await enteredB).channel?.id).toBe(b.channelId);
    expect(b.sc.isAlive()).toBe(true);
    const bridgeBNow = await ari.bridges.get({ bridgeId: bridgeB });
    expect(bridgeBNow.channels).toEqual([b.channelId]);

    await ari.bridges.removeChannel({ bridgeId: bridgeA, channel: a.channelId });
    await ari.bridges.destroy({ bridgeId: bridgeA });
    await ari.bridges.destroy({ bridgeId: bridgeB });
    expect(isNotFound(await ari.bridges.get({ bridgeId: bridgeA }).catch((e: unknown) => e))).toBe(true);
    await ari.channels.hangup({ channelId: a.channelId });
    await ari.channels.hangup({ channelId: b.channelId });
  });

  it('record, end with #, then download the stored WAV as a Buffer and delete it', async () => {
    const { sc, channelId } = await inboundCall('+4930123406');
    await ari.channels.answer({ channelId });
    const name = uid('vm');
    const started = next(name, 'RecordingStarted');
    const finished = next(name, 'RecordingFinished');
    const live = await ari.channels.record({
      channelId,
      name,
      format: 'wav',
      maxDurationSeconds: 60,
      terminateOn: '#',
      ifExists: 'fail',
    });
    expect(live.name).toBe(name);
    await started;
    await sc.speak(500);
    await sc.pressDigits('#');
    expect((await finished).recording.state).toBe('done');
    const stored = await ari.recordings.getStored({ recordingName: name });
    expect(stored).toMatchObject({ name, format: 'wav' });
    const file = await ari.recordings.getStoredFile({ recordingName: name });
    expect(Buffer.isBuffer(file)).toBe(true);
    expect(file.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(file.subarray(8, 12).toString('ascii')).toBe('WAVE');
    await ari.recordings.deleteStored({ recordingName: name });
    expect(
      isNotFound(await ari.recordings.getStoredFile({ recordingName: name }).catch((e: unknown) => e)),
    ).toBe(true);
    await ari.channels.hangup({ channelId });
  });

  it('channel variables: set, get; unknown variable is an error', async () => {
    const { sc, channelId } = await inboundCall('+4930123407');
    await ari.channels.setChannelVar({ channelId, variable: 'PBX_CALL', value: 'c-42' });
    expect(await ari.channels.getChannelVar({ channelId, variable: 'PBX_CALL' })).toEqual({ value: 'c-42' });
    expect(sc.variables()).toMatchObject({ PBX_CALL: 'c-42' });
    const err = await ari.channels
      .getChannelVar({ channelId, variable: 'NEVER_SET' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, operation: 'channels.getChannelVar' });
    await ari.channels.hangup({ channelId });
  });

  it('create with variables in the JSON body', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/vars-1', { kind: 'manual' });
    const legId = uid('leg');
    const inStasis = next(legId, 'StasisStart');
    await ari.channels.create({
      endpoint: 'PJSIP/vars-1',
      app: 'pbx',
      channelId: legId,
      variables: { PBX_LEG: 'yes' },
    });
    await inStasis;
    expect(sim.driver.channel(legId)?.variables()).toMatchObject({ PBX_LEG: 'yes' });
    await ari.channels.hangup({ channelId: legId });
  });

  it('dynamic config: PUT, GET, DELETE; deleting twice is a 404', async () => {
    const id = uid('dev');
    const fields = [
      { attribute: 'auth_type', value: 'userpass' },
      { attribute: 'username', value: id },
      { attribute: 'password', value: 'S3cret-pass' },
    ];
    const put = await ari.asterisk.updateObject({ configClass: 'res_pjsip', objectType: 'auth', id, fields });
    expect(put).toEqual(expect.arrayContaining([{ attribute: 'username', value: id }]));
    expect(sim.driver.dynamicConfig().get(`res_pjsip/auth/${id}`)).toMatchObject({ username: id });
    const got = await ari.asterisk.getObject({ configClass: 'res_pjsip', objectType: 'auth', id });
    expect(got).toEqual(expect.arrayContaining([{ attribute: 'auth_type', value: 'userpass' }]));
    await ari.asterisk.deleteObject({ configClass: 'res_pjsip', objectType: 'auth', id });
    const again = await ari.asterisk
      .deleteObject({ configClass: 'res_pjsip', objectType: 'auth', id })
      .catch((e: unknown) => e);
    expect(isNotFound(again)).toBe(true);
  });

  it.each([
    ['channels.get', () => ari.channels.get({ channelId: 'no-such-channel' }), 404, 'Channel not found'],
    [
      'channels.answer',
      () => ari.channels.answer({ channelId: 'no-such-channel' }),
      404,
      'Channel not found',
    ],
    ['bridges.get', () => ari.bridges.get({ bridgeId: 'no-such-bridge' }), 404, 'Bridge not found'],
    [
      'recordings.getStoredFile',
      () => ari.recordings.getStoredFile({ recordingName: 'no-such-rec' }),
      404,
      'Recording not found',
    ],
  ] as const)('%s of an unknown object → AriError, isNotFound', async (_name, call, status, message) => {
    const err = await (call as () => Promise<unknown>)().catch((e: unknown) => e);
    expect(err).toMatchObject({ status, ariMessage: message });
    expect(isNotFound(err)).toBe(true);
  });

  it('adding an unknown channel to a bridge → 400 "Channel not found", isNotFound', async () => {
    const bridgeId = uid('br');
    await ari.bridges.create({ type: 'mixing', bridgeId });
    const err = await ari.bridges
      .addChannel({ bridgeId, channel: 'no-such-channel' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, ariMessage: 'Channel not found' });
    expect(isNotFound(err)).toBe(true);
    await ari.bridges.destroy({ bridgeId });
  });
});

describe('event routing by id', () => {
  it('events reach only the handlers of the ids they mention', async () => {
    const one = await inboundCall('+4930123410', '+491701230010');
    const two = await inboundCall('+4930123411', '+491701230011');
    const gotOne = collect(one.channelId);
    const gotTwo = collect(two.channelId);
    await ari.channels.answer({ channelId: one.channelId });
    await ari.channels.answer({ channelId: two.channelId });
    const fourOnOne = new Promise<void>((resolve) =>
      ari.events.route(one.channelId, (e: AriEvent) => {
        if (e.type === 'ChannelDtmfReceived' && e.digit === '4') resolve();
      }),
    );
    await one.sc.pressDigits('1234');
    await fourOnOne;
    const hungUp = next(two.channelId, 'StasisEnd');
    await ari.channels.hangup({ channelId: two.channelId });
    await hungUp;

    const digitsOne = gotOne.events
      .filter((e) => e.type === 'ChannelDtmfReceived')
      .map((e) => (e as AriEventMap['ChannelDtmfReceived']).digit);
    expect(digitsOne).toEqual(['1', '2', '3', '4']);
    expect(gotTwo.events.some((e) => e.type === 'ChannelDtmfReceived')).toBe(false);
    for (const e of gotOne.events) expect(JSON.stringify(e)).toContain(one.channelId);
    for (const e of gotTwo.events) expect(JSON.stringify(e)).toContain(two.channelId);
    expect(gotTwo.events.map((e) => e.type)).toContain('StasisEnd');
    expect(gotOne.events.map((e) => e.type)).not.toContain('StasisEnd');
    gotOne.stop();
    gotTwo.stop();
    await ari.channels.hangup({ channelId: one.channelId });
  });
});

describe('event socket drop mid-call', () => {
  it('reconnects, fires onConnected {reconnect: true}, still owns the channel and still gets its events', async () => {
    const { sc, channelId } = await inboundCall('+4930123420');
    await ari.channels.answer({ channelId });
    await sc.waitForState('Up');

    const reconnectsBefore = ari.metrics.reconnects;
    let owned: string[] | undefined;
    const reconciled = new Promise<{ reconnect: boolean }>((resolve) => {
      const off = ari.events.onConnected(async (info) => {
        off();
        // what the calls layer does on reconnect: ask which channels the app still owns
        owned = (await ari.applications.get({ applicationName: 'pbx' })).channel_ids;
        resolve(info);
      });
    });
    sim.driver.dropEventSockets();
    expect(await within(reconciled, 'onConnected after the drop')).toEqual({ reconnect: true });
    expect(owned).toContain(channelId);
    expect(ari.metrics.reconnects).toBe(reconnectsBefore + 1);
    expect(ari.isConnected()).toBe(true);
    expect(sc.state()).toBe('Up');

    const digit = next(channelId, 'ChannelDtmfReceived');
    await sc.pressDigits('7');
    expect((await digit).digit).toBe('7');

    // and again: every drop is followed by a reconnect
    const second = new Promise<void>((resolve) => {
      const off = ari.events.onConnected(() => {
        off();
        resolve();
      });
    });
    sim.driver.dropEventSockets();
    await within(second, 'onConnected after the second drop');
    expect(ari.metrics.reconnects).toBe(reconnectsBefore + 2);
    const digit2 = next(channelId, 'ChannelDtmfReceived');
    await sc.pressDigits('8');
    expect((await digit2).digit).toBe('8');

    const ended = next(channelId, 'StasisEnd');
    await sc.hangup();
    await ended;
  });
});

describe('bounded pool against the simulator', () => {
  it('500 concurrent requests over connections: 8 all succeed', async () => {
    const small = createAriClient({
      url: sim.url,
      username: 'ari',
      password: 'ari',
      app: 'pbx-pool',
      logger,
      connections: 8,
    });
    try {
      const infos = await Promise.all(Array.from({ length: 500 }, () => small.asterisk.ping()));
      expect(infos).toHaveLength(500);
      for (const info of infos) expect(info.asterisk_id).toBeTypeOf('string');
      expect(small.metrics.restRequests).toBe(500);
      expect(small.metrics.restErrors).toBe(0);
    } finally {
      await small.close();
    }
  });
});
