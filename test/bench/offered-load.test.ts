import { describe, expect, it } from 'vitest';
import { callsDueBy } from '../../bench/common.js';

describe('callsDueBy (a step of the bench: the calls offered by a moment)', () => {
  it('without a ramp-in: the rate from the first call', () => {
    expect(callsDueBy({ rate: 200 }, 0)).toBe(0);
    expect(callsDueBy({ rate: 200 }, 500)).toBe(100);
    expect(callsDueBy({ rate: 200 }, 4000)).toBe(800);
  });

  it('with a ramp-in: the rate rises linearly from the step below over its first second', () => {
    const step = { rate: 150, rampFromRate: 100, rampInMs: 1000 };
    // half way through the ramp the rate is 125/s: 100·0.5 + 50·0.25/2 = 56.25 calls
    expect(callsDueBy(step, 500)).toBeCloseTo(56.25);
    // the ramp offers the mean of both rates for its second, then the rate
    expect(callsDueBy(step, 1000)).toBeCloseTo(125);
    expect(callsDueBy(step, 4000)).toBeCloseTo(125 + 3 * 150);
  });

  it('a ramp from the same rate is no ramp', () => {
    expect(callsDueBy({ rate: 100, rampFromRate: 100, rampInMs: 1000 }, 2000)).toBe(200);
  });
});
