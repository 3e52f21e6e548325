/**
 * explainRingPlan (pure): the ring-plan part of routing explain, table-driven — which steps it
 * lists, which rule it names, and that its plan tree is exactly what planInbound /
 * afterRingFailure / afterForwardFailure decide (the simulator comparison is in
 * routing-explain.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ringDecision } from '../../../src/calls/decisions/ring.js';
import { explainRingPlan, type ExplainStep } from '../../../src/calls/decisions/explain.js';
import type { BlockingProfile, Forwarding, Workplace } from '../../../src/domain/model.js';
import { afterRingFailure, planInbound, type PlanInput } from '../../../src/domain/ring-plan.js';

const NOW = '2026-11-25T07:00:00.000Z';
const templates = { device: 'PJSIP/{endpoint}', external: 'PJSIP/{number}@trunk' };
const forwarding = (over: Partial<Forwarding> = {}): Forwarding => ({
  always: { enabled: false },
  busy: { enabled: false },
  noAnswer: { enabled: false, ringSeconds: 20 },
  unreachable: { enabled: false },
  ...over,
});
const workplace = (over: Partial<Workplace> = {}): Workplace =>
  ({
    id: 'wp1',
    companyId: 'c1',
    groupId: 'g1',
    number: '+4930123456',
    extension: '3456',
    language: 'de',
    status: 'active',
    callerIdPresentation: 'number',
    devices: [{ id: 'd1', type: 'deskphone', sipUsername: 'erika-1', sipPassword: 'x', createdAt: NOW }],
    parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
    forwarding: forwarding(),
    voicebox: { enabled: true },
    ...over,
  }) as Workplace;
const profile: BlockingProfile = {
  id: 'bp1',
  companyId: 'c1',
  name: 'no premium',
  incoming: ['+4989'],
  outgoing: [],
  forwarded: ['+49900'],
  createdAt: NOW,
  updatedAt: NOW,
};

const cases: Array<[string, Partial<Workplace>, string, BlockingProfile | undefined, string[], string]> = [
  [
    'rings, then voicebox on every failure',
    {},
    '+4940111',
    undefined,
    [
      'blocking-profile',
      'incoming-blocking',
      'ring-plan',
      'if-busy',
      'if-noanswer',
      'if-unreachable',
      'voicebox',
    ],
    'ring 1 leg(s) at once for 20 s',
  ],
  [
    'an incoming-blocked caller is rejected',
    {},
    '+4989111',
    profile,
    ['blocking-profile', 'incoming-blocking', 'ring-plan'],
    'reject with cause 21 (incoming-blocked)',
  ],
  [
    'forward always, with what follows a failing target',
    { forwarding: forwarding({ always: { enabled: true, target: { number: '+4940555' } } }) },
    '+4940111',
    undefined,
    ['blocking-profile', 'incoming-blocking', 'ring-plan', 'if-forward-fails'],
    'forward (always) to +4940555 for 20 s',
  ],
  [
    'forward always to a blocked target: the voicebox, and why',
    { forwarding: forwarding({ always: { enabled: true, target: { number: '+49900123' } } }) },
    '+4940111',
    profile,
    ['blocking-profile', 'incoming-blocking', 'ring-plan', 'forward-blocked', 'voicebox'],
    'voicebox (forward-target-blocked)',
  ],
  [
    'a pending workplace: nothing can ring',
    { status: 'pending', voicebox: { enabled: false } },
    '+4940111',
    undefined,
    ['blocking-profile', 'incoming-blocking', 'ring-plan'],
    'release with cause 20 (unreachable)',
  ],
  [
    'busy forwards, no voicebox otherwise',
    {
      voicebox: { enabled: false },
      forwarding: forwarding({ busy: { enabled: true, target: { number: '+4940777' } } }),
    },
    '+4940111',
    undefined,
    [
      'blocking-profile',
      'incoming-blocking',
      'ring-plan',
      'if-busy',
      'if-noanswer',
      'if-unreachable',
      'if-forward-fails',
    ],
    'ring 1 leg(s) at once for 20 s',
  ],
];

describe('explainRingPlan', () => {
  it.each(cases)('%s', (_name, over, callerNumber, blocking, stepNames, firstOutcome) => {
    const input: PlanInput = { workplace: workplace(over), callerNumber, blocking, templates };
    const steps: ExplainStep[] = [];
    const tree = explainRingPlan(
      ringDecision(input, { profile: blocking, level: blocking ? 'workplace' : undefined, dangling: [] }),
      steps,
    );
    expect(steps.map((s) => s.step)).toEqual(stepNames);
    expect(steps.find((s) => s.step === 'ring-plan')!.outcome).toBe(firstOutcome);
    for (const s of steps) expect(s.rule.length).toBeGreaterThan(10);
    // the tree is the ring plan's own decisions
    expect(tree.first).toEqual(planInbound(input));
    if (tree.ifNobodyAnswers) {
      for (const f of ['busy', 'noanswer', 'unreachable'] as const) {
        expect(tree.ifNobodyAnswers[f]).toEqual(afterRingFailure(f, input));
      }
    }
  });

  it('names the blocking prefix and the level of the profile', () => {
    const steps: ExplainStep[] = [];
    explainRingPlan(
      ringDecision(
        { workplace: workplace(), callerNumber: '+498912345', templates },
        { profile, level: 'group', dangling: [{ level: 'workplace', id: 'deleted' }] },
      ),
      steps,
    );
    expect(steps[0]!.detail).toEqual({
      profileId: 'bp1',
      profileName: 'no premium',
      level: 'group',
      skippedDeleted: [{ level: 'workplace', id: 'deleted' }],
    });
    expect(steps[1]!.detail).toEqual({ blocked: true, prefix: '+4989', callerNumber: '+498912345' });
  });
});
