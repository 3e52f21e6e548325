/**
 * The bridge pool's rules without I/O: the pure decisions table-driven, then the pool against a
 * fake ARI (bridge requests recorded, events dispatched by the real event router).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AriError } from '../../../src/ari/contract.js';
import { EventRouter } from '../../../src/ari/events.js';
import {
  BridgePool,
  fateOfReleased,
  isForeignArrival,
  pooledBridgeName,
  type ReleasedFate,
} from '../../../src/calls/connected/bridge-pool.js';
import { OwnershipBook } from '../../../src/calls/engine/ownership.js';

const logger = pino({ level: 'silent' });

describe('fateOfReleased', () => {
  const base = { open: true, trusted: true, channelsIn: 0, idle: 0, max: 64 };
  const cases: Array<[string, Partial<typeof base>, ReleasedFate]> = [
    ['every channel seen leaving, room in the pool', {}, 'idle'],
    ['a channel may still be in it (its end not seen yet)', { channelsIn: 1 }, 'settle'],
    ['both channels may still be in it', { channelsIn: 2 }, 'settle'],
    ['the pool is full', { idle: 64 }, 'destroy'],
    ['one below the cap', { idle: 63 }, 'idle'],
    ['pool switched off (max 0)', { max: 0 }, 'destroy'],
    ['a stranger may have joined unseen', { trusted: false }, 'destroy'],
    ['a stranger may have joined, channels still in', { trusted: false, channelsIn: 1 }, 'destroy'],
    ['the pool is stopped (shutdown)', { open: false }, 'destroy'],
    ['stopped, channels still in', { open: false, channelsIn: 2 }, 'destroy'],
    ['full, channels still in: wait, the pool may have room by then', { idle: 64, channelsIn: 1 }, 'settle'],
  ];
  it.each(cases)('%s', (_what, over, fate) => {
    expect(fateOfReleased({ ...base, ...over })).toBe(fate);
  });
});

describe('isForeignArrival', () => {
  const cases: Array<[string, { args?: unknown; replace_channel?: unknown }, boolean]> = [
    ['a trunk call', { args: ['inbound'] }, false],
    ['a device call', { args: ['internal'] }, false],
    ['a leg of ours answered', { args: ['leg'] }, false],
    ['a channel pushed into a Stasis bridge (no arguments)', { args: [] }, true],
    ['no args at all', {}, true],
    ['another argument', { args: ['caller'] }, true],
    ['a transfer swapped it in for a channel of ours', { args: [], replace_channel: { id: 'x' } }, true],
    ['even with our arguments, a replacement', { args: ['leg'], replace_channel: { id: 'x' } }, true],
  ];
  it.each(cases)('%s', (_what, event, foreign) => {
    expect(isForeignArrival(event)).toBe(foreign);
  });
});

/** A pool over a fake ARI: bridge requests are recorded; events go through the real router. */
function fixture(opts: { max?: number; settleMs?: number; failCreate?: boolean } = {}) {
  const requests: string[] = [];
  const existing = new Map<string, { id: string; name: string; channels: string[] }>();
  const ari = {
    app: 'pbx',
    bridges: {
      create: vi.fn(async (p: { bridgeId?: string; name?: string }) => {
        requests.push(`create ${p.bridgeId}`);
        if (opts.failCreate) throw new AriError(500, 'bridges.create', 'Internal Error');
        existing.set(p.bridgeId!, { id: p.bridgeId!, name: p.name ?? '', channels: [] });
        return {};
      }),
      destroy: vi.fn(async (p: { bridgeId: string }) => {
        requests.push(`destroy ${p.bridgeId}`);
        if (!existing.delete(p.bridgeId)) throw new AriError(404, 'bridges.destroy', 'Bridge not found');
      }),
      list: vi.fn(async () => [...existing.values()]),
    },
  };
  const events = new EventRouter(logger);
  const ownership = new OwnershipBook();
  const pool = new BridgePool({
    ari: ari as never,
    ownership,
    logger,
    max: opts.max ?? 64,
    settleMs: opts.settleMs ?? 1000,
    route: (id, handler) => events.route(id, handler),
  });
  pool.watch(events);
  const emit = (type: string, fields: Record<string, unknown>) =>
    events.dispatch({ type, application: 'pbx', timestamp: '', ...fields } as never);
  const ended = (channelId: string, type = 'ChannelDestroyed') => emit(type, { channel: { id: channelId } });
  /** a call: leases a bridge, adds caller and leg, returns the lease */
  const call = async (caller: string, leg: string) => {
    const lease = pool.lease();
    await lease.ready;
    lease.adding([caller, leg]);
    return lease;
  };
  const settled = () => new Promise((r) => setImmediate(r));
  return { pool, requests, existing, events, ownership, emit, ended, call, settled };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BridgePool', () => {
  it('two consecutive calls share one bridge: created once, never destroyed, no request for the second', async () => {
    const f = fixture();
    const first = await f.call('caller-1', 'desk-1');
    expect(f.requests).toEqual([`create ${first.id}`]);
    first.release();
    f.ended('desk-1');
    f.ended('caller-1', 'StasisEnd'); // a caller of another app: only its StasisEnd reaches us
    await f.settled();
    expect(f.pool.stats()).toMatchObject({ idle: 1, busy: 0 });

    const second = await f.call('caller-2', 'desk-2');
    expect(second.id).toBe(first.id);
    expect(f.requests).toEqual([`create ${first.id}`]);
    expect(f.pool.stats()).toMatchObject({ created: 1, reused: 1, destroyed: 0 });
  });

  it('is not reused while a channel could still be in it: the desk hang-up not yet confirmed', async () => {
    const f = fixture();
    const first = await f.call('caller-1', 'desk-1');
    f.ended('caller-1', 'StasisEnd');
    first.release();
    await f.settled();
    // the desk was asked to hang up, but its StasisEnd / ChannelDestroyed has not come yet
    const second = await f.call('caller-2', 'desk-2');
    expect(second.id).not.toBe(first.id);
    expect(f.requests).toEqual([`create ${first.id}`, `create ${second.id}`]);
    // a hang-up REQUEST proves nothing: the channel is still in the bridge until it leaves
    f.emit('ChannelHangupRequest', { channel: { id: 'desk-1' }, cause: 16 });
    await f.settled();
    expect(f.pool.stats().idle).toBe(0);
    f.ended('desk-1');
    await f.settled();
    expect(f.pool.stats().idle).toBe(1);
    const third = await f.call('caller-3', 'desk-3');
    expect(third.id).toBe(first.id);
  });

  it('a channel seen leaving before the call is over counts: the bridge is idle at release', async () => {
    const f = fixture();
    const lease = await f.call('caller-1', 'desk-1');
    f.ended('desk-1', 'StasisEnd');
    f.ended('caller-1', 'StasisEnd');
    lease.release();
    await f.settled();
    expect(f.pool.stats()).toMatchObject({ idle: 1, busy: 0 });
  });

  it('a channel never seen leaving: destroyed after settleMs, never handed out', async () => {
    vi.useFakeTimers();
    const f = fixture({ settleMs: 10_000 });
    const lease = await f.call('caller-1', 'desk-1');
    f.ended('caller-1', 'StasisEnd');
    lease.release();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(f.requests).toEqual([`create ${lease.id}`]);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.requests).toEqual([`create ${lease.id}`, `destroy ${lease.id}`]);
    expect(f.ownership.has(lease.id)).toBe(false);
    f.ended('desk-1'); // too late: nothing happens
    expect(f.pool.stats()).toMatchObject({ idle: 0, busy: 0, destroyed: 1 });
  });

  it('a call that never added channels (the caller left during set-up) gives its bridge back at once', async () => {
    const f = fixture();
    const lease = f.pool.lease();
    lease.release(); // before the create has even answered
    await f.settled();
    expect(f.pool.stats()).toMatchObject({ idle: 1, busy: 0 });
    expect(f.requests).toEqual([`create ${lease.id}`]);
  });

  it('keeps at most max idle bridges; beyond that they are destroyed as before', async () => {
    const f = fixture({ max: 1 });
    const a = await f.call('c-a', 'l-a');
    const b = await f.call('c-b', 'l-b');
    for (const [lease, ids] of [
      [a, ['c-a', 'l-a']],
      [b, ['c-b', 'l-b']],
    ] as const) {
      lease.release();
      for (const id of ids) f.ended(id);
    }
    await f.settled();
    expect(f.pool.stats()).toMatchObject({ idle: 1, destroyed: 1 });
    expect(f.requests).toEqual([`create ${a.id}`, `create ${b.id}`, `destroy ${b.id}`]);
  });

  it('max 0: a bridge per call, created and destroyed (the behaviour without a pool)', async () => {
    const f = fixture({ max: 0 });
    const lease = await f.call('c', 'l');
    lease.release();
    f.ended('c');
    f.ended('l');
    await f.settled();
    expect(f.requests).toEqual([`create ${lease.id}`, `destroy ${lease.id}`]);
  });

  it('a channel entering Stasis that replaces one of ours: idle bridges destroyed at once, busy ones after their call', async () => {
    const f = fixture();
    const idle = await f.call('c-1', 'l-1');
    const busy = await f.call('c-2', 'l-2');
    idle.release();
    f.ended('c-1');
    f.ended('l-1');
    await f.settled();
    // e.g. a desk phone's blind transfer: a Local channel is swapped into the bridge for it
    f.emit('StasisStart', { args: [], channel: { id: 'Local/x;1' }, replace_channel: { id: 'l-2' } });
    await f.settled();
    expect(f.requests).toContain(`destroy ${idle.id}`);
    expect(f.requests).not.toContain(`destroy ${busy.id}`);
    busy.release();
    f.ended('c-2');
    f.ended('l-2');
    await f.settled();
    expect(f.requests).toContain(`destroy ${busy.id}`);
    expect(f.pool.stats()).toMatchObject({ idle: 0, busy: 0 });
  });

  it('our own arrivals change nothing', async () => {
    const f = fixture();
    const lease = await f.call('c-1', 'l-1');
    lease.release();
    f.ended('c-1');
    f.ended('l-1');
    for (const args of [['inbound'], ['internal'], ['leg']])
      f.emit('StasisStart', { args, channel: { id: 'n' } });
    await f.settled();
    expect(f.pool.stats().idle).toBe(1);
  });

  it('after an event-socket reconnect nothing pooled is trusted (events may have been missed)', async () => {
    const f = fixture();
    const idle = await f.call('c-1', 'l-1');
    const busy = await f.call('c-2', 'l-2');
    idle.release();
    f.ended('c-1');
    f.ended('l-1');
    await f.events.fireConnected({ reconnect: false });
    await f.settled();
    expect(f.pool.stats().idle).toBe(1); // the first connect: nothing was missed
    await f.events.fireConnected({ reconnect: true });
    await f.settled();
    expect(f.requests).toContain(`destroy ${idle.id}`);
    busy.release();
    f.ended('c-2');
    f.ended('l-2');
    await f.settled();
    expect(f.requests).toContain(`destroy ${busy.id}`);
  });

  it('every bridge of the pool is owned (a reconcile keeps it) until it is destroyed', async () => {
    const f = fixture({ max: 1 });
    const lease = f.pool.lease();
    expect(f.ownership.has(lease.id)).toBe(true); // claimed before Asterisk answers the create
    await lease.ready;
    lease.adding(['c', 'l']);
    lease.release();
    f.ended('c');
    f.ended('l');
    await f.settled();
    expect(f.ownership.has(lease.id)).toBe(true); // idle
    await lease.discard();
    expect(f.ownership.has(lease.id)).toBe(false);
    expect(f.pool.stats()).toMatchObject({ idle: 0, busy: 0 });
  });

  it('stop (shutdown): idle bridges and those of ended calls are destroyed, those of calls still up are not', async () => {
    const f = fixture();
    const idle = await f.call('c-1', 'l-1');
    const ending = await f.call('c-2', 'l-2');
    const up = await f.call('c-3', 'l-3'); // answered, left to the next controller
    idle.release();
    f.ended('c-1');
    f.ended('l-1');
    ending.release(); // its channels are still being hung up
    await f.pool.stop();
    expect(f.requests.filter((r) => r.startsWith('destroy')).sort()).toEqual(
      [`destroy ${idle.id}`, `destroy ${ending.id}`].sort(),
    );
    expect(f.existing.has(up.id)).toBe(true);
    // a stopped pool takes nothing back
    up.release();
    f.ended('c-3');
    f.ended('l-3');
    await f.settled();
    expect(f.requests).toContain(`destroy ${up.id}`);
  });

  it('a bridge that could not be created is destroyed all the same (it may exist) and not owned', async () => {
    const f = fixture({ failCreate: true });
    const lease = f.pool.lease();
    await expect(lease.ready).rejects.toThrow(/500/);
    await f.settled();
    expect(f.requests).toEqual([`create ${lease.id}`, `destroy ${lease.id}`]);
    expect(f.ownership.has(lease.id)).toBe(false);
    lease.release();
    expect(f.pool.stats()).toMatchObject({ idle: 0, busy: 0 });
  });

  it("sweep destroys only this app's empty pooled bridges that this process does not hold", async () => {
    const f = fixture();
    const mine = await f.call('c', 'l'); // in use, owned
    const name = pooledBridgeName('pbx');
    f.existing.set('earlier-idle', { id: 'earlier-idle', name, channels: [] });
    f.existing.set('earlier-busy', { id: 'earlier-busy', name, channels: ['x', 'y'] }); // adoption's
    f.existing.set('other-app', { id: 'other-app', name: pooledBridgeName('other'), channels: [] });
    f.existing.set('call-bridge', { id: 'call-bridge', name: 'pbx-call:r:w', channels: [] });
    expect(await f.pool.sweep()).toBe(1);
    expect([...f.existing.keys()].sort()).toEqual(
      ['call-bridge', 'earlier-busy', mine.id, 'other-app'].sort(),
    );
  });
});
