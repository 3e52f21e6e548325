import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { AdmissionWindow } from '../../src/calls/admission.js';
import {
  defaultSheddingOptions,
  EdgeShedding,
  gateVariables,
  nextShedPercent,
  percentile,
} from '../../src/calls/shedding.js';

const opts = { targetSetupMs: 150, maxPercent: 95 };
const w = (reached: number, refused: number, setupMs: number[] = []): AdmissionWindow => ({
  reached,
  refused,
  setupMs,
});

describe('nextShedPercent', () => {
  it.each([
    // [why, current, window, next]
    ['quiet: nothing to shed', 0, w(50, 0, [5, 6, 7]), 0],
    ['no calls at all: nothing to shed', 0, w(0, 0), 0],
    ['set-ups over the target: shed at least 10 points more', 0, w(50, 0, Array(50).fill(400)), 10],
    ['one slow call in ten does not trip it (p90)', 0, w(10, 0, [...Array(9).fill(10), 900]), 0],
    ['the controller refused half: shed half of all arrivals', 0, w(100, 50, [20]), 50],
    ['already shedding 50 %, still refusing half: 75 %', 50, w(100, 50), 75],
    ['refusals but few: at least 10 points more', 20, w(100, 1, [20]), 30],
    ['never above the maximum', 90, w(100, 90), 95],
    ['well under half the target: 2 points less per tick', 40, w(100, 0, [10, 20]), 38],
    ['no call reached us while shedding: probe back', 40, w(0, 0), 38],
    ['between half the target and the target: hold', 40, w(100, 0, Array(10).fill(100)), 40],
    ['never below 0', 1, w(10, 0, [1]), 0],
  ] as const)('%s', (_why, current, window, next) => {
    expect(nextShedPercent(current, window, opts)).toBe(next);
  });

  it('the gate is off with a target of 0', () => {
    expect(nextShedPercent(50, w(100, 100), { targetSetupMs: 0, maxPercent: 95 })).toBe(0);
  });

  it('percentile', () => {
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
    const admission = { takeWindow: () => windows.shift() ?? w(0, 0) };
    const shedding = new EdgeShedding(
      ari,
      admission,
      defaultSheddingOptions,
      pino({ level: 'silent' }),
      () => now,
    );
    return { shedding, writes, advance: (ms: number) => (now += ms) };
  }
  const gate = gateVariables('pbx');

  it('closes the gate with an expiry first, renews the expiry while shedding, opens it when the load is gone', async () => {
    const slow = w(100, 0, Array(100).fill(500));
    const fast = w(100, 0, Array(100).fill(5));
    const { shedding, writes, advance } = setup([slow, slow, ...Array(20).fill(fast)]);
    await shedding.tick();
    expect(writes).toEqual([
      [gate.until, '1800000003'],
      [gate.percent, '10'],
    ]);
    writes.length = 0;
    advance(250);
    await shedding.tick();
    // the expiry is still 3 s ahead: only the share changes
    expect(writes).toEqual([[gate.percent, '20']]);
    writes.length = 0;
    advance(2000);
    await shedding.tick(); // 18, and the expiry comes within a second: renewed
    expect(writes).toEqual([
      [gate.until, '1800000005'],
      [gate.percent, '18'],
    ]);
    for (let i = 0; i < 9; i++) await shedding.tick();
    expect(shedding.stats().percent).toBe(0);
    expect(writes.at(-1)).toEqual([gate.percent, '0']);
  });

  it('estimates what the dialplan refused from the calls that got through', async () => {
    const slow = w(100, 0, Array(100).fill(500));
    const { shedding } = setup([slow, w(90, 0, Array(90).fill(500))]);
    await shedding.tick(); // → 10 %
    await shedding.tick(); // 90 got through at 10 %: ~10 were shed
    expect(shedding.stats().shedEstimate).toBe(10);
  });

  it('writes nothing while nothing changes', async () => {
    const { shedding, writes } = setup([w(100, 0, [5]), w(100, 0, [5])]);
    await shedding.tick();
    await shedding.tick();
    expect(writes).toEqual([]);
  });

  it('reset opens the gate (a predecessor may have closed it); stop opens it when it was closed', async () => {
    const { shedding, writes } = setup([w(10, 10)]);
    await shedding.reset();
    expect(writes).toEqual([[gate.percent, '0']]);
    writes.length = 0;
    await shedding.tick();
    expect(shedding.stats().percent).toBe(95);
    writes.length = 0;
    await shedding.stop();
    expect(writes).toEqual([[gate.percent, '0']]);
  });

  it('a failed write is counted and logged, never thrown', async () => {
    const { shedding } = setup([w(10, 10)], true);
    await expect(shedding.tick()).resolves.toBeUndefined();
    expect(shedding.stats().writeErrors).toBe(2);
  });
});
