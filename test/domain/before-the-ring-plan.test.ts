import { describe, expect, it } from 'vitest';
import { availabilityOf } from '../../src/domain/availability.js';
import type { BlockingProfile, Workplace } from '../../src/domain/model.js';
import { planInbound, type PlanInput } from '../../src/domain/ring-plan.js';
import type { Schedule } from '../../src/domain/schedules.js';
import { NOW, templates, workplace as baseWorkplace } from './fixtures.js';

/** one desk phone, no parallel numbers: what rings is the desk or nothing */
const workplace = (over: Partial<Workplace> = {}): Workplace =>
  baseWorkplace({
    devices: [{ id: 'd1', type: 'deskphone', sipUsername: 'erika-1', sipPassword: 'x', createdAt: NOW }],
    parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
    ...over,
  });

const office: Schedule = {
  id: 's1',
  companyId: 'c1',
  name: 'Büro',
  week: { mon: [{ from: '08:00', to: '17:00' }] },
  holidays: { country: 'DE', state: 'BE' },
  closedDays: [],
  createdAt: NOW,
  updatedAt: NOW,
};
const MONDAY_10 = Date.parse('2026-12-07T09:00:00Z'); // 10:00 in Berlin
const MONDAY_18 = Date.parse('2026-12-07T17:00:00Z'); // 18:00 in Berlin

const plan = (w: Workplace, instant: number, schedule?: Schedule, blocking?: BlockingProfile) => {
  const input: PlanInput = {
    workplace: w,
    callerNumber: '+4940111',
    blocking,
    templates,
    availability: availabilityOf(w, schedule, instant),
  };
  return planInbound(input);
};

describe('availability decides before the ring plan', () => {
  it('within opening hours the workplace rings as before', () => {
    const w = workplace({ scheduleId: 's1', closedTarget: 'voicebox' });
    expect(plan(w, MONDAY_10, office)).toMatchObject({ action: 'ring' });
    expect(availabilityOf(w, office, MONDAY_10)).toMatchObject({
      kind: 'available',
      schedule: { id: 's1', state: { open: true } },
    });
  });

  it('outside opening hours the call goes to the closed-hours target: the voicebox or a number', () => {
    expect(plan(workplace({ scheduleId: 's1', closedTarget: 'voicebox' }), MONDAY_18, office)).toEqual({
      action: 'voicebox',
      reason: 'closed',
    });
    expect(
      plan(workplace({ scheduleId: 's1', closedTarget: { number: '+4930999' } }), MONDAY_18, office),
    ).toMatchObject({ action: 'forward', reason: 'closed', leg: { number: '+4930999' } });
  });

  it('a closed-hours target the blocking profile forbids falls to the voicebox', () => {
    const blocking: BlockingProfile = {
      id: 'bp',
      companyId: 'c1',
      name: 'no mobiles',
      incoming: [],
      outgoing: [],
      forwarded: ['+4917'],
      createdAt: NOW,
      updatedAt: NOW,
    };
    const w = workplace({ scheduleId: 's1', closedTarget: { number: '+491701234' } });
    expect(plan(w, MONDAY_18, office, blocking)).toEqual({
      action: 'voicebox',
      reason: 'forward-target-blocked',
    });
  });

  it('a holiday closes the whole day', () => {
    const christmasMonday = Date.parse('2028-12-25T10:00:00Z'); // a Monday, 1. Weihnachtstag
    const w = workplace({ scheduleId: 's1', closedTarget: 'voicebox' });
    expect(availabilityOf(w, office, christmasMonday)).toMatchObject({
      kind: 'closed',
      schedule: { state: { reason: 'holiday', name: '1. Weihnachtstag' } },
    });
  });

  it('an incoming-blocked caller is rejected whatever the hours', () => {
    const blocking: BlockingProfile = {
      id: 'bp',
      companyId: 'c1',
      name: 'x',
      incoming: ['+4940'],
      outgoing: [],
      forwarded: [],
      createdAt: NOW,
      updatedAt: NOW,
    };
    expect(plan(workplace({ scheduleId: 's1' }), MONDAY_18, office, blocking)).toMatchObject({
      action: 'reject',
    });
  });

  it('a schedule that is gone (or another one) closes nothing', () => {
    const w = workplace({ scheduleId: 's-deleted', closedTarget: 'voicebox' });
    expect(availabilityOf(w, undefined, MONDAY_18)).toEqual({ kind: 'available' });
    expect(availabilityOf(w, office, MONDAY_18)).toEqual({ kind: 'available' });
  });
});

describe('do-not-disturb', () => {
  it('sends callers to the voicebox, or gives busy when the voicebox is off', () => {
    expect(plan(workplace({ doNotDisturb: true }), MONDAY_10)).toEqual({
      action: 'voicebox',
      reason: 'do-not-disturb',
    });
    expect(plan(workplace({ doNotDisturb: true, voicebox: { enabled: false } }), MONDAY_10)).toEqual({
      action: 'release',
      cause: 17,
      reason: 'do-not-disturb',
    });
  });

  it('forward always still forwards; closed hours come first', () => {
    const forwarded = workplace({
      doNotDisturb: true,
      forwarding: {
        always: { enabled: true, target: { number: '+4930777' } },
        busy: { enabled: false },
        noAnswer: { enabled: false, ringSeconds: 20 },
        unreachable: { enabled: false },
      },
    });
    expect(plan(forwarded, MONDAY_10)).toMatchObject({ action: 'forward', reason: 'always' });
    const closed = workplace({ doNotDisturb: true, scheduleId: 's1', closedTarget: { number: '+4930888' } });
    expect(plan(closed, MONDAY_18, office)).toMatchObject({ action: 'forward', reason: 'closed' });
    expect(plan(closed, MONDAY_10, office)).toMatchObject({ action: 'voicebox', reason: 'do-not-disturb' });
  });
});

describe('selective forwarding', () => {
  const rules = (over: Partial<Workplace> = {}) =>
    workplace({
      selectiveForwarding: [
        { enabled: false, callers: ['+4940111'], anonymous: false, target: { number: '+4930000001' } },
        {
          enabled: true,
          callers: ['+4989*', '+4940111'],
          anonymous: false,
          target: { number: '+4930000002' },
        },
        { enabled: true, callers: [], anonymous: true, target: 'voicebox' },
      ],
      ...over,
    });

  it('the first enabled rule naming the caller (a number or a prefix) forwards to its target', () => {
    expect(plan(rules(), MONDAY_10)).toMatchObject({
      action: 'forward',
      reason: 'selective',
      leg: { number: '+4930000002' },
    });
    const byPrefix = planInbound({
      workplace: rules(),
      callerNumber: '+4989123456',
      blocking: undefined,
      templates,
    });
    expect(byPrefix).toMatchObject({
      action: 'forward',
      reason: 'selective',
      leg: { number: '+4930000002' },
    });
    expect(
      planInbound({ workplace: rules(), callerNumber: '+4930555', blocking: undefined, templates }),
    ).toMatchObject({ action: 'ring' });
  });

  it('anonymous callers have a rule of their own', () => {
    expect(planInbound({ workplace: rules(), callerNumber: '', blocking: undefined, templates })).toEqual({
      action: 'voicebox',
      reason: 'selective',
    });
  });

  it('comes before opening hours and do-not-disturb, after incoming blocking', () => {
    const w = rules({ doNotDisturb: true, scheduleId: 's1', closedTarget: 'voicebox' });
    expect(plan(w, MONDAY_18, office)).toMatchObject({ action: 'forward', reason: 'selective' });
    const blocking: BlockingProfile = {
      id: 'bp',
      companyId: 'c1',
      name: 'x',
      incoming: ['+4940'],
      outgoing: [],
      forwarded: [],
      createdAt: NOW,
      updatedAt: NOW,
    };
    expect(plan(w, MONDAY_18, office, blocking)).toMatchObject({ action: 'reject' });
  });
});

describe('parallel ringing options', () => {
  const withOptions = workplace({
    parallelRinging: {
      enabled: true,
      numbers: ['+491700000001', '+491700000002', '+491700000003'],
      answerConfirmation: false,
      options: {
        '+491700000001': { delaySeconds: 10 },
        '+491700000002': { notWhileOnCall: true },
        '+491700000003': { delaySeconds: 90 },
      },
    },
  });
  const legs = (onCall: boolean) => {
    const step = planInbound({
      workplace: withOptions,
      callerNumber: '+4940',
      blocking: undefined,
      templates,
      onCall,
    });
    return step.action === 'ring' ? step.legs : [];
  };

  it('a delayed number rings after its delay, never later than 5 s before the ring time ends', () => {
    expect(
      legs(false)
        .filter((l) => l.kind === 'external')
        .map((l) => [l.kind === 'external' && l.number, l.kind === 'external' && l.delaySeconds]),
    ).toEqual([
      ['+491700000001', 10],
      ['+491700000002', undefined],
      ['+491700000003', 15], // ring time 20 s
    ]);
  });

  it('a number marked "not while on a call" stays quiet while the workplace is on one; the desk rings', () => {
    const numbers = legs(true).map((l) => (l.kind === 'external' ? l.number : l.kind));
    expect(numbers).toEqual(['device', '+491700000001', '+491700000003']);
  });
});
