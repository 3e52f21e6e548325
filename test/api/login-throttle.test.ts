import { describe, expect, it } from 'vitest';
import {
  BASE_DELAY_MS,
  FORGET_AFTER_MS,
  FREE_FAILURES,
  LoginThrottle,
  MAX_DELAY_MS,
} from '../../src/api/login-throttle.js';

describe('LoginThrottle', () => {
  it('lets a few failures pass, then locks that login for a doubling delay up to the cap', () => {
    let now = 0;
    const throttle = new LoginThrottle(() => now);
    for (let i = 0; i < FREE_FAILURES - 1; i++) throttle.recordFailure('a');
    expect(throttle.retryAfterMs('a')).toBe(0);
    throttle.recordFailure('a');
    expect(throttle.retryAfterMs('a')).toBe(BASE_DELAY_MS);
    expect(throttle.retryAfterMs('b')).toBe(0);
    now += BASE_DELAY_MS;
    expect(throttle.retryAfterMs('a')).toBe(0);
    throttle.recordFailure('a');
    expect(throttle.retryAfterMs('a')).toBe(2 * BASE_DELAY_MS);
    for (let i = 0; i < 20; i++) throttle.recordFailure('a');
    expect(throttle.retryAfterMs('a')).toBe(MAX_DELAY_MS);
  });

  it('a success forgets the failures; so does a quiet hour', () => {
    let now = 0;
    const throttle = new LoginThrottle(() => now);
    for (let i = 0; i < FREE_FAILURES; i++) throttle.recordFailure('A');
    expect(throttle.retryAfterMs('a')).toBeGreaterThan(0);
    throttle.recordSuccess('a');
    expect(throttle.retryAfterMs('a')).toBe(0);
    for (let i = 0; i < FREE_FAILURES - 1; i++) throttle.recordFailure('a');
    now += FORGET_AFTER_MS + 1;
    throttle.recordFailure('a');
    expect(throttle.retryAfterMs('a')).toBe(0);
  });
});
