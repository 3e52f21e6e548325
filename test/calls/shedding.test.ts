import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { AdmissionWindow } from '../../src/calls/admission.js';
import {
  defaultSheddingOptions,
  EdgeShedding,
  gateVariables,
  nextShedState,
  openGate,
  percentile,
  type ShedState,
} from '../../src/calls/shedding.js';

const opts = {
  targetSetupMs: 150,
  maxPercent: 95,
  tickMs: 100,
  minRate: 50,
  inFlightTarget: 12,
  restLatencyTarget: 50,
};
const w = (
  reached: number,
  refused: number,
  setupMs: number[] = [],
  peakInFlight = 0,
  restLatencyMs = 2,
): AdmissionWindow => ({
  durationMs: 100,
  restLatencyMs,
  reached,
  fromTrunk: reached,
  refused,
  peakInFlight,
  setupMs,
});
const fast = (n: number) => Array<number>(n).fill(10);
const slow = (n: number) => Array<number>(n).fill(400);

describe('nextShedState', () => {
  const calm: ShedState = { ...openGate, limit: 200, proven: 150, arrivals: 100, admitted: 100 };
  it.each([
    // [why, state before, window (0.1 s), expected percent, expected limit (calls/s)]
    ['an idle system: open, room for minRate and growing', openGate, w(0, 0), 0, 53],
    ['quiet load within the target: open, the limit grows 5 %', calm, w(10, 0, fast(10)), 0, 210],
    ['one slow call in ten does not trip it (p90)', calm, w(10, 0, [...fast(9), 900]), 0, 210],
    ['set-ups fast but several in flight at once: the limit holds', calm, w(10, 0, fast(10), 8), 0, 200],
    ['between half the target and the target: the limit holds', calm, w(10, 0, Array(10).fill(100)), 0, 200],
    [
      'set-ups 2.7× the target: the limit drops to just under the rate set-ups completed',
      calm,
      w(10, 0, slow(10)),
      5,
      95,
    ],
    [
      'the controller refused calls: the limit drops to just under what was carried (the 100/s let in before, proven)',
      calm,
      w(10, 2, fast(8)),
      5,
      95,
    ],
    [
      'the controller refused calls: … or the completions, when more than was let in before',
      { ...calm, admitted: 50 },
      w(10, 2, fast(8)),
      24,
      76,
    ],
    [
      'more set-ups in flight at once than the in-flight target: the limit drops',
      calm,
      w(10, 0, fast(10), 24),
      5,
      95,
    ],
    ['ARI REST latency over its target: the limit drops', calm, w(10, 0, fast(10), 0, 100), 5, 95],
    ['REST latency over half its target: the limit holds', calm, w(10, 0, fast(10), 0, 30), 0, 200],
    ['an onset of 6× the recent rate is shed in its first tick', calm, w(60, 0, fast(10)), 65, 210],
    ['never below minRate', { ...calm, limit: 50 }, w(10, 0, slow(10)), 50, 50],
    ['never above maxPercent', { ...calm, limit: 50 }, w(500, 0, slow(10)), 95, 50],
    ['a cut is not repeated for the next three ticks', { ...calm, sinceOver: 1 }, w(10, 0, slow(10)), 0, 200],
  ] as const)('%s', (_why, before, window, percent, limit) => {
    const next = nextShedState(before, window, opts);
    expect(next.percent).toBe(percent);
    expect(Math.round(next.limit)).toBe(limit);
  });

  it('a handful of calls at once on a slow machine is no overload: nothing is shed', () => {
    let state: ShedState = openGate;
    for (let t = 0; t < 5; t++) {
      state = nextShedState(state, w(6, 0, slow(6)), { ...opts, minRate: 100 });
      expect(state.percent).toBe(0);
    }
  });

  it('the gate is off with a target of 0', () => {
    expect(nextShedState({ ...openGate, percent: 50 }, w(100, 100), { ...opts, targetSetupMs: 0 })).toEqual(
      openGate,
    );
  });

  it('arrivals are estimated through the gate: 10 calls past a 75 % gate are 400/s', () => {
    const next = nextShedState(
      { ...openGate, percent: 75, arrivals: 400, limit: 100, proven: 100 },
      w(10, 0, fast(10)),
      opts,
    );
    expect(Math.round(next.arrivals)).toBe(400);
  });

  it("devices' calls are no arrivals at the gate (they never pass it)", () => {
    const state = { ...openGate, percent: 50, arrivals: 100, limit: 100, proven: 100 };
    const trunkOnly = nextShedState(state, w(10, 0, fast(10)), opts);
    const withDevices = nextShedState(state, { ...w(30, 0, fast(30)), fromTrunk: 10 }, opts);
    expect(withDevices.arrivals).toBe(trunkOnly.arrivals);
  });

  it('after a cut the limit grows 5 % a tick back to 90 % of what was carried at the cut, shedding or not; 1 % beyond', () => {
    const cut = nextShedState({ ...calm, limit: 200, proven: 200 }, w(20, 0, slow(20)), opts);
    expect(cut.limit).toBeLessThan(180);
    expect(cut.percent).toBeGreaterThan(0);
    expect(cut.lastTrouble).toBe(200);
    const shedding = nextShedState(cut, w(10, 0, fast(10)), opts);
    expect(shedding.limit / cut.limit).toBeCloseTo(1.05);
    const open = { ...cut, percent: 0, arrivals: 50 };
    expect(nextShedState(open, w(5, 0, fast(5)), opts).limit / cut.limit).toBeCloseTo(1.05);
    for (const state of [open, { ...cut, limit: 185 }]) {
      const near = nextShedState({ ...state, limit: 185 }, w(5, 0, fast(5)), opts);
      expect(near.limit / 185).toBeCloseTo(1.01);
    }
  });

  it('a hiccup (one slow tick that completes few set-ups) is judged by the rate let in before it, as far as proven: a cut to just under it, not a collapse', () => {
    const before = { ...calm, limit: 250, arrivals: 250, proven: 200, admitted: 175 };
    const cut = nextShedState(before, w(5, 0, slow(5)), opts);
    // just under the 175/s let in before, not under the 50/s the slow tick completed
    expect(cut.limit).toBeCloseTo(0.95 * 175);
    expect(cut.lastTrouble).toBe(175);
    let state = cut;
    for (let i = 0; i < 3; i++) state = nextShedState(state, w(5, 0, fast(5)), opts);
    // above 90 % of where the trouble began: probing on slowly
    expect(state.limit / cut.limit).toBeCloseTo(1.01 ** 3);
  });

  it('while shedding with no trouble in memory (5 s without a cut) the limit grows 1 % a tick', () => {
    const steady = { ...calm, percent: 50, arrivals: 400, limit: 200, proven: 200, sinceOver: 100 };
    expect(nextShedState(steady, w(20, 0, fast(20)), opts).limit / 200).toBeCloseTo(1.01);
  });

  /**
   * Closed loop against a model of an overloaded Asterisk: it sets up `capacity` calls/s; what
   * is admitted beyond that queues, and the queue is the wait (set-up time) and the set-ups in
   * flight. The decision sees the calls of its own tick (the burst trigger decides as they
   * come), their set-up times and the set-ups in flight only a tick late.
   */
  function runLoop(offered: number, capacity: number, seconds: number) {
    let state: ShedState = { ...openGate, proven: 60, arrivals: 50, admitted: 50 };
    let backlog = 0;
    let wait = 10;
    let peak = 0;
    const admittedPerS: number[] = [];
    const waits: number[] = [];
    let completed = 5;
    for (let t = 0; t < seconds * 10; t++) {
      const reached = Math.round((offered / 10) * (1 - state.percent / 100));
      state = nextShedState(state, w(reached, 0, Array<number>(completed).fill(wait), peak), opts);
      const admitted = (offered / 10) * (1 - state.percent / 100);
      completed = Math.round(Math.min(backlog + admitted, capacity / 10));
      backlog = Math.max(0, backlog + admitted - capacity / 10);
      wait = 10 + (backlog / capacity) * 1000;
      peak = Math.round(backlog + capacity * 0.01);
      admittedPerS.push(admitted * 10);
      waits.push(wait);
    }
    // after the onset (the limit reaches a capacity far above the rate proven before slowly)
    const settled = admittedPerS.slice(100);
    return { admitted: settled.reduce((a, b) => a + b, 0) / settled.length, worstWait: Math.max(...waits) };
  }

  it.each([
    [400, 200],
    [400, 300],
    [1000, 200],
    [300, 100],
    [600, 200],
  ])(
    'closed loop: %i calls/s offered to a capacity of %i/s — the capacity used, set-ups kept near the target',
    (offered, capacity) => {
      const r = runLoop(offered, capacity, 30);
      expect(r.admitted).toBeGreaterThan(0.9 * capacity);
      expect(r.admitted).toBeLessThan(1.05 * capacity);
      expect(r.worstWait).toBeLessThan(200);
    },
  );

  it('closed loop: load within capacity is never shed', () => {
    const r = runLoop(150, 300, 30);
    expect(r.admitted).toBeCloseTo(150, 0);
  });
});

describe('percentile', () => {
  it('nearest rank', () => {
    expect(percentile([], 0.9)).toBe(0);
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
    expect(
      percentile(
        Array.from({ length: 10 }, (_, i) => i + 1),
        0.9,
      ),
    ).toBe(9);
  });
});

describe('EdgeShedding', () => {
  function setup(windows: AdmissionWindow[], fail = false) {
    const writes: Array<[string, string]> = [];
    let now = 1_800_000_000_000;
    const ari = {
      app: 'pbx',
      asterisk: {
        setGlobalVar: async ({ variable, value }: { variable: string; value?: string }) => {
          if (fail) throw new Error('Asterisk away');
          writes.push([variable, value ?? '']);
        },
      },
    } as never;
    let burst: (() => void) | undefined;
    let burstAt = Infinity;
    const admission = {
      takeWindow: () => windows.shift() ?? w(0, 0),
      watchBursts: (threshold: number, onBurst: () => void) => {
        burstAt = threshold;
        burst = onBurst;
      },
    };
    const shedding = new EdgeShedding(
      ari,
      admission,
      defaultSheddingOptions,
      pino({ level: 'silent' }),
      () => now,
    );
    return {
      shedding,
      writes,
      advance: (ms: number) => (now += ms),
      burst: () => ({ at: burstAt, run: burst }),
    };
  }
  const gate = gateVariables('pbx');
  const overload = w(100, 0, slow(20));

  it('closes the gate with its expiry first, renews the expiry while shedding, opens it once the load is gone', async () => {
    const { shedding, writes, advance } = setup([overload, overload, ...Array(200).fill(w(5, 0, fast(5)))]);
    await shedding.tick();
    expect(writes[0]).toEqual([gate.until, '1800000003']);
    expect(writes[1]![0]).toBe(gate.percent);
    expect(Number(writes[1]![1])).toBeGreaterThan(50);
    writes.length = 0;
    advance(2100);
    await shedding.tick();
    // the expiry comes within a second: renewed
    expect(writes[0]).toEqual([gate.until, '1800000005']);
    for (let i = 0; i < 200 && shedding.stats().percent > 0; i++) await shedding.tick();
    expect(shedding.stats().percent).toBe(0);
    expect(writes.at(-1)).toEqual([gate.percent, '0']);
  });

  it('asks admission control to call it early when a burst beyond the room arrives', async () => {
    const { shedding, burst } = setup([w(1, 0, fast(1))]);
    await shedding.tick();
    // room: minRate (100/s, nothing proven yet) → half again its share of a tick + 2
    expect(burst().at).toBe(1.5 * 100 * 0.1 + 2);
    expect(burst().run).toBeTypeOf('function');
  });

  it('estimates the calls the dialplan refused: those that passed a gate shedding p % stand for p/(100 - p) as many', async () => {
    const { shedding } = setup([overload, w(10, 0, fast(10)), w(10, 0, fast(10))]);
    await shedding.tick();
    // the first window arrived at an open gate: nothing was shed
    expect(shedding.stats().shedEstimated).toBe(0);
    const p1 = shedding.stats().percent;
    await shedding.tick();
    const p2 = shedding.stats().percent;
    await shedding.tick();
    expect(p1).toBeGreaterThan(50);
    expect(shedding.stats().shedEstimated).toBe(Math.round((10 * p1) / (100 - p1) + (10 * p2) / (100 - p2)));
  });

  it('writes nothing while nothing changes', async () => {
    const { shedding, writes } = setup([w(2, 0, fast(2)), w(2, 0, fast(2))]);
    await shedding.tick();
    await shedding.tick();
    expect(writes).toEqual([]);
  });

  it('reset opens the gate (a predecessor may have closed it); stop opens it when it was closed', async () => {
    const { shedding, writes } = setup([overload]);
    await shedding.reset();
    expect(writes).toEqual([[gate.percent, '0']]);
    writes.length = 0;
    await shedding.tick();
    expect(shedding.stats().percent).toBeGreaterThan(50);
    writes.length = 0;
    await shedding.stop();
    expect(writes).toEqual([[gate.percent, '0']]);
  });

  it('logs when shedding starts and stops, and at most every 5 s while it goes on', async () => {
    const lines: Array<{ level: number; msg: string; percent: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const windows = [
      ...Array<AdmissionWindow>(80).fill(overload),
      ...Array<AdmissionWindow>(30).fill(w(100, 0, fast(10))),
      ...Array<AdmissionWindow>(400).fill(w(0, 0)),
    ];
    let now = 1_800_000_000_000;
    const ari = { app: 'pbx', asterisk: { setGlobalVar: async () => {} } } as never;
    const shedding = new EdgeShedding(
      ari,
      { takeWindow: () => windows.shift() ?? w(0, 0) },
      defaultSheddingOptions,
      logger,
      () => now,
    );
    let sheddingTicks = 0;
    for (let i = 0; i < 520 && (i === 0 || shedding.stats().percent > 0); i++) {
      await shedding.tick();
      if (shedding.stats().percent > 0) sheddingTicks += 1;
      now += 100;
    }
    expect(shedding.stats().percent).toBe(0);
    expect(sheddingTicks, 'shedding went on for more than 5 s').toBeGreaterThan(50);
    const warns = lines.filter((l) => l.level === 40);
    const infos = lines.filter((l) => l.level === 30);
    expect(warns[0]!.msg).toContain('the dialplan refuses new trunk calls');
    expect(warns[0]!.percent).toBeGreaterThan(0);
    expect(infos).toHaveLength(1);
    expect(infos[0]!.msg).toContain('lets every trunk call through');
    // far fewer lines than ticks: one per 5 s at most while shedding
    expect(warns.length).toBeGreaterThanOrEqual(2);
    expect(warns.length).toBeLessThanOrEqual(Math.ceil(sheddingTicks / 50) + 1);
  });

  it('a failed write is counted and logged, never thrown', async () => {
    const { shedding } = setup([overload], true);
    await expect(shedding.tick()).resolves.toBeUndefined();
    expect(shedding.stats().writeErrors).toBe(2);
  });
});
