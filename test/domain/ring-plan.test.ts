import { describe, expect, it } from 'vitest';
import type { BlockingProfile, Forwarding, Workplace } from '../../src/domain/model.js';
import { forwarding, NOW, templates, workplace } from './fixtures.js';
import {
  afterForwardFailure,
  afterRingFailure,
  combineLegFailures,
  legFailureOfCause,
  planInbound,
  ringLegs,
  type CallStep,
  type LegFailure,
  type PlanInput,
  type RingFailure,
} from '../../src/domain/ring-plan.js';

function profile(over: Partial<BlockingProfile> = {}): BlockingProfile {
  return {
    id: 'bp',
    companyId: 'c1',
    name: 'p',
    incoming: [],
    outgoing: [],
    forwarded: [],
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}

function input(wp: Workplace, blocking?: BlockingProfile, callerNumber = '+4989111222'): PlanInput {
  return { workplace: wp, callerNumber, blocking, templates };
}

describe('ringLegs', () => {
  it('rings every device and every parallel number, with the DIAL_* templates', () => {
    expect(ringLegs(workplace(), templates)).toEqual([
      { kind: 'device', endpoint: 'PJSIP/erika-1', deviceId: 'd1' },
      { kind: 'device', endpoint: 'PJSIP/erika-2', deviceId: 'd2' },
      { kind: 'external', endpoint: 'PJSIP/+491701234567@trunk', number: '+491701234567', confirm: false },
    ]);
  });
  it('leaves parallel numbers out when parallel ringing is off, and marks confirmation', () => {
    const off = workplace({
      parallelRinging: { enabled: false, numbers: ['+491701234567'], answerConfirmation: true },
    });
    expect(ringLegs(off, templates).map((l) => l.kind)).toEqual(['device', 'device']);
    const confirm = workplace({
      devices: [],
      parallelRinging: { enabled: true, numbers: ['+491701234567'], answerConfirmation: true },
    });
    expect(ringLegs(confirm, { device: 'Local/{endpoint}@dev', external: 'Local/{number}@pstn' })).toEqual([
      { kind: 'external', endpoint: 'Local/+491701234567@pstn', number: '+491701234567', confirm: true },
    ]);
  });
});

describe('planInbound', () => {
  const vbOff = { voicebox: { enabled: false } };
  const cases: Array<{
    name: string;
    wp: Partial<Workplace>;
    blocking?: Partial<BlockingProfile>;
    expected: Partial<CallStep>;
  }> = [
    { name: 'plain workplace rings', wp: {}, expected: { action: 'ring', ringSeconds: 20 } },
    {
      name: 'incoming-blocked caller is rejected',
      wp: {},
      blocking: { incoming: ['+4989'] },
      expected: { action: 'reject', reason: 'incoming-blocked', cause: 21 },
    },
    {
      name: 'a non-matching incoming prefix does not block',
      wp: {},
      blocking: { incoming: ['+4930'] },
      expected: { action: 'ring' },
    },
    {
      name: 'forward always dials the target',
      wp: { forwarding: forwarding({ always: { enabled: true, target: { number: '+4940555' } } }) },
      expected: { action: 'forward', reason: 'always' },
    },
    {
      name: 'forward always to a forward-blocked target falls to the voicebox',
      wp: { forwarding: forwarding({ always: { enabled: true, target: { number: '+49900123' } } }) },
      blocking: { forwarded: ['+49900'] },
      expected: { action: 'voicebox', reason: 'forward-target-blocked' },
    },
    {
      name: 'forward always to a forward-blocked target without voicebox releases',
      wp: {
        ...vbOff,
        forwarding: forwarding({ always: { enabled: true, target: { number: '+49900123' } } }),
      },
      blocking: { forwarded: ['+49900'] },
      expected: { action: 'release', reason: 'forward-target-blocked', cause: 20 },
    },
    {
      name: 'forward always to the voicebox',
      wp: { forwarding: forwarding({ always: { enabled: true, target: 'voicebox' } }) },
      expected: { action: 'voicebox', reason: 'always' },
    },
    {
      name: 'nothing to ring is unreachable → voicebox',
      wp: { devices: [], parallelRinging: { enabled: false, numbers: [], answerConfirmation: false } },
      expected: { action: 'voicebox', reason: 'unreachable' },
    },
    {
      name: 'a pending workplace cannot receive calls: unreachable handling',
      wp: { status: 'pending', ...vbOff },
      expected: { action: 'release', reason: 'unreachable', cause: 20 },
    },
    {
      name: 'ring time comes from the no-answer rule',
      wp: { forwarding: forwarding({ noAnswer: { enabled: false, ringSeconds: 45 } }) },
      expected: { action: 'ring', ringSeconds: 45 },
    },
  ];
  it.each(cases)('$name', ({ wp, blocking, expected }) => {
    const step = planInbound(input(workplace(wp), blocking ? profile(blocking) : undefined));
    expect(step).toMatchObject(expected);
  });

  it('forward always shows the external leg for the target', () => {
    const step = planInbound(
      input(
        workplace({ forwarding: forwarding({ always: { enabled: true, target: { number: '+4940555' } } }) }),
      ),
    );
    expect(step).toEqual({
      action: 'forward',
      reason: 'always',
      ringSeconds: 20,
      leg: { kind: 'external', endpoint: 'PJSIP/+4940555@trunk', number: '+4940555', confirm: false },
    });
  });
});

describe('afterRingFailure', () => {
  const fwdNumber = { enabled: true, target: { number: '+4940555' } } as const;
  const cases: Array<{
    failure: RingFailure;
    fw: Partial<Forwarding>;
    vb: boolean;
    blocked?: boolean;
    expected: Partial<CallStep>;
  }> = [
    { failure: 'busy', fw: { busy: fwdNumber }, vb: true, expected: { action: 'forward', reason: 'busy' } },
    { failure: 'busy', fw: {}, vb: true, expected: { action: 'voicebox', reason: 'busy' } },
    { failure: 'busy', fw: {}, vb: false, expected: { action: 'release', cause: 17 } },
    {
      failure: 'noanswer',
      fw: { noAnswer: { ...fwdNumber, ringSeconds: 30 } },
      vb: true,
      expected: { action: 'forward', reason: 'noanswer', ringSeconds: 30 },
    },
    { failure: 'noanswer', fw: {}, vb: true, expected: { action: 'voicebox', reason: 'noanswer' } },
    { failure: 'noanswer', fw: {}, vb: false, expected: { action: 'release', cause: 19 } },
    {
      failure: 'unreachable',
      fw: { unreachable: fwdNumber },
      vb: true,
      expected: { action: 'forward', reason: 'unreachable' },
    },
    { failure: 'unreachable', fw: {}, vb: true, expected: { action: 'voicebox', reason: 'unreachable' } },
    { failure: 'unreachable', fw: {}, vb: false, expected: { action: 'release', cause: 20 } },
    {
      failure: 'busy',
      fw: { busy: { enabled: true, target: 'voicebox' } },
      vb: false,
      expected: { action: 'release', cause: 17, reason: 'busy' },
    },
    {
      failure: 'busy',
      fw: { busy: fwdNumber },
      vb: true,
      blocked: true,
      expected: { action: 'voicebox', reason: 'forward-target-blocked' },
    },
    {
      failure: 'noanswer',
      fw: { noAnswer: { ...fwdNumber, ringSeconds: 20 } },
      vb: false,
      blocked: true,
      expected: { action: 'release', cause: 19, reason: 'forward-target-blocked' },
    },
    // a disabled rule with a target is ignored
    {
      failure: 'busy',
      fw: { busy: { enabled: false, target: { number: '+4940555' } } },
      vb: true,
      expected: { action: 'voicebox' },
    },
  ];
  it.each(cases)(
    '$failure, forwarding $fw, voicebox $vb, blocked $blocked',
    ({ failure, fw, vb, blocked, expected }) => {
      const wp = workplace({ forwarding: forwarding(fw), voicebox: { enabled: vb } });
      const blocking = blocked ? profile({ forwarded: ['+4940'] }) : undefined;
      expect(afterRingFailure(failure, input(wp, blocking))).toMatchObject(expected);
    },
  );

  it('a failed forward ends like a call to the target', () => {
    expect(afterForwardFailure('busy')).toEqual({ action: 'release', cause: 17, reason: 'forward-failed' });
    expect(afterForwardFailure('noanswer')).toMatchObject({ cause: 19 });
    expect(afterForwardFailure('unreachable')).toMatchObject({ cause: 20 });
  });
});

describe('leg outcomes', () => {
  it.each([
    [17, 'busy'],
    [21, 'busy'],
    [19, 'noanswer'],
    [18, 'noanswer'],
    [20, 'unreachable'],
    [undefined, 'unreachable'],
    [34, 'unreachable'],
  ] as const)('cause %s → %s', (cause, expected) => {
    expect(legFailureOfCause(cause)).toBe(expected);
  });

  it.each([
    [['busy', 'busy'], 'busy'],
    [['busy', 'unreachable'], 'busy'],
    [['unreachable', 'unreachable'], 'unreachable'],
    [['busy', 'noanswer', 'unreachable'], 'noanswer'],
    [[], 'unreachable'],
  ] as Array<[LegFailure[], RingFailure]>)('%j → %s', (failures, expected) => {
    expect(combineLegFailures(failures)).toBe(expected);
  });
});
