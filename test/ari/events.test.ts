import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { EventRouter, mentionedIds, type RawEvent } from '../../src/ari/events.js';
import { backoffDelay } from '../../src/ari/client.js';

const silent = pino({ level: 'silent' });
const ev = (type: string, fields: Record<string, unknown>): RawEvent => ({
  type,
  application: 'pbx',
  timestamp: '2026-11-25T07:00:00.000+0000',
  ...fields,
});

describe('mentionedIds', () => {
  it.each([
    ['StasisStart', { channel: { id: 'c1' }, args: ['inbound', 'x9'] }, ['c1']],
    ['StasisStart', { channel: { id: 'c2' }, replace_channel: { id: 'c1' }, args: [] }, ['c2', 'c1']],
    ['Dial', { peer: { id: 'leg' }, caller: { id: 'caller' }, dialstatus: 'RINGING' }, ['leg']],
    ['PlaybackFinished', { playback: { id: 'p1', target_uri: 'channel:c1' } }, ['p1']],
    ['RecordingFinished', { recording: { name: 'vm-1', target_uri: 'channel:c1' } }, ['vm-1']],
    ['ChannelEnteredBridge', { bridge: { id: 'b1' }, channel: { id: 'c1' } }, ['c1', 'b1']],
    ['ChannelDtmfReceived', { channel: { id: 'c1' }, digit: '5', duration_ms: 100 }, ['c1']],
    ['BridgeDestroyed', { bridge: { id: 'b1' } }, ['b1']],
    ['ApplicationReplaced', {}, []],
    ['ChannelVarset', { channel: { id: 'c1' }, variable: 'X', value: 'channel' }, ['c1']],
  ])('%s %j → %j', (type, fields, ids) => {
    expect(mentionedIds(ev(type, fields))).toEqual(ids);
  });
});

describe('EventRouter', () => {
  it('delivers an event only to the handlers of ids it mentions, then to type handlers', () => {
    const router = new EventRouter(silent);
    const got: string[] = [];
    router.route('c1', (e) => got.push(`c1:${e.type}`));
    router.route('c2', (e) => got.push(`c2:${e.type}`));
    router.route('b1', (e) => got.push(`b1:${e.type}`));
    router.on('ChannelEnteredBridge', (e) => got.push(`type:${e.type}`));
    router.dispatch(ev('ChannelEnteredBridge', { bridge: { id: 'b1' }, channel: { id: 'c1' } }));
    router.dispatch(ev('ChannelDtmfReceived', { channel: { id: 'c3' }, digit: '1' }));
    expect(got).toEqual(['c1:ChannelEnteredBridge', 'b1:ChannelEnteredBridge', 'type:ChannelEnteredBridge']);
  });

  it('calls a handler registered under two ids of one event once', () => {
    const router = new EventRouter(silent);
    let calls = 0;
    const h = () => calls++;
    router.route('c1', h);
    router.route('b1', h);
    router.dispatch(ev('ChannelLeftBridge', { bridge: { id: 'b1' }, channel: { id: 'c1' } }));
    expect(calls).toBe(1);
  });

  it('unsubscribe removes the handler and forgets empty ids', () => {
    const router = new EventRouter(silent);
    let calls = 0;
    const off = router.route('c1', () => calls++);
    expect(router.routedIdCount()).toBe(1);
    off();
    off();
    router.dispatch(ev('ChannelHangupRequest', { channel: { id: 'c1' } }));
    expect(calls).toBe(0);
    expect(router.routedIdCount()).toBe(0);
  });

  it('a throwing or rejecting handler is counted and does not stop the others', async () => {
    let errors = 0;
    const router = new EventRouter(silent, () => errors++);
    const got: string[] = [];
    router.route('c1', () => {
      throw new Error('boom');
    });
    router.route('c1', () => got.push('second'));
    router.on('StasisEnd', async () => {
      throw new Error('async boom');
    });
    router.on('StasisEnd', () => got.push('type'));
    router.dispatch(ev('StasisEnd', { channel: { id: 'c1' } }));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['second', 'type']);
    expect(errors).toBe(2);
  });

  it('a handler added during dispatch does not receive that same event', () => {
    const router = new EventRouter(silent);
    const got: string[] = [];
    router.on('StasisStart', (e) => {
      const id = (e.channel as { id: string }).id;
      router.route(id, (later) => got.push(`route:${later.type}`));
    });
    router.dispatch(ev('StasisStart', { channel: { id: 'c1' }, args: [] }));
    router.dispatch(ev('ChannelDtmfReceived', { channel: { id: 'c1' }, digit: '1' }));
    expect(got).toEqual(['route:ChannelDtmfReceived']);
  });

  it('typed on() narrows the event', () => {
    const router = new EventRouter(silent);
    const seen: string[] = [];
    router.on('Dial', (e) => seen.push(`${e.peer.id}:${e.dialstatus}`));
    router.dispatch(ev('Dial', { peer: { id: 'leg' }, dialstatus: 'ANSWER' }));
    expect(seen).toEqual(['leg:ANSWER']);
  });

  it('onConnected handlers all run even if one fails', async () => {
    let errors = 0;
    const router = new EventRouter(silent, () => errors++);
    const infos: boolean[] = [];
    router.onConnected(async () => {
      throw new Error('reconcile failed');
    });
    router.onConnected((info) => {
      infos.push(info.reconnect);
    });
    await router.fireConnected({ reconnect: true });
    expect(infos).toEqual([true]);
    expect(errors).toBe(1);
  });
});

describe('backoffDelay (full jitter, capped)', () => {
  it.each([
    [0, 0.999, 99],
    [1, 0.999, 199],
    [3, 0.5, 400],
    [10, 0.999, 4995],
    [50, 0.999, 4995],
    [5, 0, 0],
  ])('attempt %i with random %d → %i ms', (attempt, r, expected) => {
    expect(backoffDelay(attempt, 100, 5000, () => r)).toBe(expected);
  });
});

describe('contract', () => {
  it('the router is usable wherever the contract AriEvents is expected', () => {
    const router = new EventRouter(silent);
    const asContract: import('../../src/ari/contract.js').AriEvents = router;
    let got = '';
    asContract.route('c9', (e) => (got = e.type));
    router.dispatch(ev('ChannelHangupRequest', { channel: { id: 'c9' }, cause: 16 }));
    expect(got).toBe('ChannelHangupRequest');
  });
});

describe('generated event types', () => {
  it('every generated event fits the contract event shape (type-checked) and narrows by type', () => {
    const dial: import('../../src/ari/generated/models.js').AriEvent = {
      type: 'Dial',
      application: 'pbx',
      timestamp: 't',
      peer: { id: 'leg' } as never,
      dialstatus: 'RINGING',
    };
    const asContractEvent: import('../../src/ari/contract.js').AriEventBase & Record<string, unknown> = dial;
    expect(asContractEvent.type).toBe('Dial');
    if (dial.type === 'Dial') expect(dial.dialstatus).toBe('RINGING');
  });
});
