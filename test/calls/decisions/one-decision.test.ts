/**
 * Decisions once, by construction: the router and routing explain consume one entry decision
 * value (decisions/entry.ts). Each is handed a decision that contradicts the configuration —
 * a number that belongs to a workplace, decided "unallocated"; a caller the configuration
 * knows, decided "unknown" — and both follow the value: neither looks anything up or checks
 * anything of its own after the planner.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CallContext } from '../../../src/calls/flows/context.js';
import type { EntryDecision } from '../../../src/calls/decisions/entry.js';
import type { CallLookups } from '../../../src/calls/decisions/lookups.js';
import { explainEntry, type ExplainDeps } from '../../../src/calls/decisions/explain.js';
import { carryOutEntry } from '../../../src/calls/flows/router.js';
import type { CallSession } from '../../../src/calls/engine/session.js';

/** Lookups that fail the test when asked: after the decision nothing may be looked up. */
const noLookups = new Proxy({} as CallLookups, {
  get: (_t, name) => () => {
    throw new Error(`looked up ${String(name)} after the decision`);
  },
});

const deps: ExplainDeps = {
  lookups: noLookups,
  pinFailures: { get: () => Promise.reject(new Error('read a PIN counter')) },
  liveCalls: { get: () => Promise.reject(new Error('read the live-call registry')) },
  usage: { usage: () => Promise.reject(new Error('read the counters')) },
  config: { COUNTRY_CODE: '49', DIAL_DEVICE: 'PJSIP/{endpoint}', DIAL_EXTERNAL: 'PJSIP/{number}@trunk' },
};
const request = { companyId: 'c1', from: '+4989111222', to: '+4930123456', at: new Date(0) };

function fakeSession() {
  const done: string[] = [];
  const session = {
    calledExten: '+4930123456',
    callerNumber: '+4989111222',
    log: { info: () => {}, warn: () => {} },
    answer: vi.fn(async () => void done.push('answer')),
    play: vi.fn(async (media: string[]) => void done.push(`play ${media.join(',')}`)),
    hangup: vi.fn(async (cause?: number) => void done.push(`hangup ${cause ?? ''}`.trim())),
  };
  return { session: session as unknown as CallSession, done };
}
const ctx = { cache: noLookups } as unknown as CallContext;

describe('one entry decision, carried out and explained', () => {
  it('"unallocated" for a number of a workplace: released with cause 1, and explained so', async () => {
    const decision: EntryDecision = {
      callerNumber: '+4989111222',
      dialled: { kind: 'number', e164: '+4930123456' },
      route: { kind: 'unallocated', reason: 'unknown-number' },
    };
    const { session, done } = fakeSession();
    await carryOutEntry(session, ctx, {}, decision, undefined);
    expect(done).toEqual(['hangup 1']);
    const e = await explainEntry(deps, request, decision, undefined);
    expect(e.route).toBe('unallocated');
    expect(e.steps.at(-1)!.outcome).toBe('released with cause 1 (unallocated)');
  });

  it('an unknown caller at the voicebox access number: "access denied", and explained so', async () => {
    const decision: EntryDecision = {
      callerNumber: '+4989111222',
      dialled: { kind: 'voicebox-access' },
      route: { kind: 'voicebox-access', workplace: undefined },
    };
    const { session, done } = fakeSession();
    await carryOutEntry(session, ctx, {}, decision, undefined);
    expect(done).toEqual(['answer', 'play sound:pbx/access-denied', 'hangup']);
    const e = await explainEntry(deps, request, decision, undefined);
    expect(e).toMatchObject({ route: 'voicebox-access' });
    expect(e.workplaceId).toBeUndefined();
    expect(e.steps.at(-1)!.outcome).toContain('unknown caller');
  });
});
