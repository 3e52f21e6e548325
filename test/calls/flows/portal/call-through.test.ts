/**
 * What a call-through's leg carries for a controller that takes it over after a restart
 * (src/calls/flows/portal/call-through.ts): the PBX_CT variable written from the guard's verdict and read
 * back, the ticket and the answer time a successor settles with, and the cut. Pure, plus the
 * cut on a stand-in session with fake timers.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  adoptedAnswerMs,
  CALL_THROUGH_VARIABLE,
  callThroughLeg,
  callThroughTag,
  callThroughVariables,
  holdUntilCut,
  parseCallThroughTag,
  ticketOf,
  type CallThroughLeg,
} from '../../../../src/calls/flows/portal/call-through.js';
import type { Admission } from '../../../../src/calls/flows/portal/fraud-guard.js';
import type { CallSession } from '../../../../src/calls/engine/session.js';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const workplace = { id: 'wp-1', companyId: 'c-1' };
const TO = '+4940555300041';

describe('the leg from the guard’s verdict', () => {
  const admitted = (secondsLeft: number): Admission => ({
    kind: 'admitted',
    ticket: { callId: 'portal-1', companyId: 'c-1', workplaceId: 'wp-1', startedAtMs: T0 },
    destinationClass: 'national',
    country: '49',
    secondsLeft,
  });
  const rows: Array<[string, Admission, CallThroughLeg, string]> = [
    [
      'admitted: the deadline is the admission plus the seconds left today',
      admitted(90),
      { companyId: 'c-1', workplaceId: 'wp-1', to: TO, guard: { admittedAtMs: T0, deadlineMs: T0 + 90_000 } },
      `c-1:wp-1:${TO}:${T0}:${T0 + 90_000}`,
    ],
    [
      'admitted with nothing left (cut at once)',
      admitted(0),
      { companyId: 'c-1', workplaceId: 'wp-1', to: TO, guard: { admittedAtMs: T0, deadlineMs: T0 } },
      `c-1:wp-1:${TO}:${T0}:${T0}`,
    ],
    [
      'the guard switched off: workplace and destination only',
      { kind: 'unguarded' },
      { companyId: 'c-1', workplaceId: 'wp-1', to: TO },
      `c-1:wp-1:${TO}::`,
    ],
  ];
  it.each(rows)('%s', (_name, admission, leg, tag) => {
    expect(callThroughLeg(workplace, TO, admission)).toEqual(leg);
    expect(callThroughTag(leg)).toBe(tag);
    expect(callThroughVariables(leg)).toEqual({ [CALL_THROUGH_VARIABLE]: tag });
    expect(parseCallThroughTag(tag)).toEqual(leg);
  });
});

describe('parseCallThroughTag: only what this controller writes', () => {
  const rows: Array<[string, string | undefined]> = [
    ['not set', undefined],
    ['empty (Asterisk answers an unset variable so, or not at all)', ''],
    ['a PBX_CALL tag', 'chan-1:wp-1'],
    ['too many parts', `c-1:wp-1:${TO}:${T0}:${T0}:x`],
    ['no company', `:wp-1:${TO}::`],
    ['no workplace', `c-1::${TO}::`],
    ['no destination', 'c-1:wp-1:::'],
    ['a deadline without its admission', `c-1:wp-1:${TO}::${T0}`],
    ['an admission without its deadline', `c-1:wp-1:${TO}:${T0}:`],
    ['a time that is no number', `c-1:wp-1:${TO}:${T0}:soon`],
    ['a negative time', `c-1:wp-1:${TO}:${T0}:-5`],
  ];
  it.each(rows)('%s', (_name, tag) => {
    expect(parseCallThroughTag(tag)).toBeUndefined();
  });
});

describe('what a successor settles', () => {
  const guarded: CallThroughLeg = {
    companyId: 'c-1',
    workplaceId: 'wp-1',
    to: TO,
    guard: { admittedAtMs: T0, deadlineMs: T0 + 60_000 },
  };
  const unguarded: CallThroughLeg = { companyId: 'c-1', workplaceId: 'wp-1', to: TO };

  it('the ticket: the portal call, the day it was admitted; none when the guard was off', () => {
    expect(ticketOf('portal-1', guarded)).toEqual({
      callId: 'portal-1',
      companyId: 'c-1',
      workplaceId: 'wp-1',
      startedAtMs: T0,
    });
    expect(ticketOf('portal-1', unguarded)).toBeUndefined();
  });

  const now = T0 + 120_000;
  const rows: Array<[string, CallThroughLeg, number | undefined, number]> = [
    ['the leg created after the admission: from its creation', guarded, T0 + 300, T0 + 300],
    ["Asterisk's clock behind: not before the admission", guarded, T0 - 5_000, T0],
    ['no creation time: the admission', guarded, undefined, T0],
    ['an unparsable creation time: the admission', guarded, Number.NaN, T0],
    ["Asterisk's clock ahead: not after now", guarded, now + 5_000, now],
    ['unguarded: the leg’s creation', unguarded, T0 + 300, T0 + 300],
    ['unguarded, nothing known: now', unguarded, undefined, now],
  ];
  it.each(rows)('answered: %s', (_name, leg, created, expected) => {
    expect(adoptedAnswerMs(leg, created, now)).toBe(expected);
  });
});

describe('holdUntilCut', () => {
  /** a stand-in session: its hang-up ends the call (aborts its signal), as CallSession's does */
  function fakeSession(opts: { detached?: boolean } = {}) {
    const abort = new AbortController();
    let ended!: () => void;
    const over = new Promise<void>((r) => (ended = r));
    const hangups: number[] = [];
    const session = {
      signal: abort.signal,
      isDetached: opts.detached ?? false,
      log: pino({ level: 'silent' }),
      hangup: () => {
        hangups.push(Date.now());
        abort.abort();
        ended();
        return Promise.resolve();
      },
    };
    return {
      session: session as unknown as CallSession,
      hangups,
      /** the call held until it ends */
      hold: () => over,
      callerHangsUp: () => {
        abort.abort();
        ended();
      },
    };
  }
  const log = pino({ level: 'silent' });

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hangs the caller up at the deadline', async () => {
    const s = fakeSession();
    const held = holdUntilCut(s.session, { atMs: T0 + 30_000, log, fields: {} }, s.hold);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(s.hangups).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.hangups).toEqual([T0 + 30_000]);
    await held;
  });

  it('at once when the deadline has passed (a call-through taken over too late)', async () => {
    vi.setSystemTime(T0 + 90_000);
    const s = fakeSession();
    const held = holdUntilCut(s.session, { atMs: T0 + 30_000, log, fields: {} }, s.hold);
    await vi.advanceTimersByTimeAsync(0);
    expect(s.hangups).toEqual([T0 + 90_000]);
    await held;
  });

  it('the caller hanging up first disarms it', async () => {
    const s = fakeSession();
    const held = holdUntilCut(s.session, { atMs: T0 + 30_000, log, fields: {} }, s.hold);
    await vi.advanceTimersByTimeAsync(10_000);
    s.callerHangsUp();
    await held;
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.hangups).toEqual([]);
  });

  it('a deadline beyond the longest timer (about 24.8 days) is not cut early', async () => {
    const s = fakeSession();
    const days = (n: number) => n * 24 * 3600 * 1000;
    const held = holdUntilCut(s.session, { atMs: T0 + days(30), log, fields: {} }, s.hold);
    await vi.advanceTimersByTimeAsync(days(30) - 1);
    expect(s.hangups).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.hangups).toEqual([T0 + days(30)]);
    await held;
  });

  it('a call left to the next controller is not cut here; no cut without a deadline', async () => {
    const detached = fakeSession({ detached: true });
    void holdUntilCut(detached.session, { atMs: T0 + 30_000, log, fields: {} }, detached.hold);
    const unguarded = fakeSession();
    void holdUntilCut(unguarded.session, undefined, unguarded.hold);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(detached.hangups).toEqual([]);
    expect(unguarded.hangups).toEqual([]);
  });
});
