import { describe, expect, it } from 'vitest';
import { validateForwarding, validateParallelRinging } from '../../src/domain/features.js';
import type { Forwarding, ParallelRinging } from '../../src/domain/model.js';

const ctx = { countryCode: '49', ownNumber: '+4930123456', voiceboxEnabled: true };

const off: Forwarding = {
  always: { enabled: false },
  busy: { enabled: false },
  noAnswer: { enabled: false, ringSeconds: 20 },
  unreachable: { enabled: false },
};

describe('validateForwarding', () => {
  it.each<[string, Forwarding]>([
    ['all off', off],
    [
      'SPEC example',
      {
        always: { enabled: false },
        busy: { enabled: true, target: 'voicebox' },
        noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 20 },
        unreachable: { enabled: false },
      },
    ],
    [
      'numbers everywhere',
      {
        always: { enabled: true, target: { number: '+491701234567' } },
        busy: { enabled: true, target: { number: '+4930123457' } },
        noAnswer: { enabled: true, target: { number: '+431234567' }, ringSeconds: 120 },
        unreachable: { enabled: true, target: 'voicebox' },
      },
    ],
    [
      'disabled rule may keep a target',
      { ...off, busy: { enabled: false, target: { number: '+491701234567' } } },
    ],
  ])('%s is valid', (_name, f) => {
    expect(validateForwarding(f, ctx)).toEqual([]);
  });

  it.each<[string, Forwarding, Array<{ path: string; message: RegExp }>]>([
    [
      'enabled without target',
      { ...off, always: { enabled: true } },
      [{ path: 'always.target', message: /required/ }],
    ],
    [
      'bad number',
      { ...off, busy: { enabled: true, target: { number: '0301234' } } },
      [{ path: 'busy.target.number', message: /E\.164/ }],
    ],
    [
      'own number loops',
      { ...off, unreachable: { enabled: true, target: { number: '+4930123456' } } },
      [{ path: 'unreachable.target.number', message: /own number/ }],
    ],
    [
      'ring time too short',
      { ...off, noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 4 } },
      [{ path: 'noAnswer.ringSeconds', message: /between 5 and 120/ }],
    ],
    [
      'ring time too long',
      { ...off, noAnswer: { enabled: false, ringSeconds: 121 } },
      [{ path: 'noAnswer.ringSeconds', message: /between 5 and 120/ }],
    ],
  ])('%s', (_name, f, expected) => {
    const issues = validateForwarding(f, ctx);
    expect(issues).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(issues[i]?.path).toBe(e.path);
      expect(issues[i]?.message).toMatch(e.message);
    });
  });

  it('a voicebox target needs an enabled voicebox', () => {
    const f: Forwarding = { ...off, busy: { enabled: true, target: 'voicebox' } };
    expect(validateForwarding(f, { ...ctx, voiceboxEnabled: false })).toEqual([
      { path: 'busy.target', message: 'the voicebox is disabled; enable it or forward to a number' },
    ]);
  });

  it('reports every failing rule at once', () => {
    const f: Forwarding = {
      always: { enabled: true },
      busy: { enabled: true, target: { number: 'x' } },
      noAnswer: { enabled: true, target: { number: '+4930123456' }, ringSeconds: 1 },
      unreachable: { enabled: false },
    };
    expect(validateForwarding(f, ctx).map((i) => i.path)).toEqual([
      'always.target',
      'busy.target.number',
      'noAnswer.target.number',
      'noAnswer.ringSeconds',
    ]);
  });
});

describe('validateParallelRinging', () => {
  const pr = (enabled: boolean, numbers: string[]): ParallelRinging => ({
    enabled,
    numbers,
    answerConfirmation: false,
  });

  it.each([
    pr(true, ['+491701234567']),
    pr(true, ['+491701234561', '+491701234562', '+491701234563', '+491701234564', '+491701234565']),
    pr(false, []),
    pr(false, ['+491701234567']),
  ])('%j is valid', (p) => {
    expect(validateParallelRinging(p, ctx)).toEqual([]);
  });

  it.each<[string, ParallelRinging, string[]]>([
    ['enabled without numbers', pr(true, []), ['numbers']],
    [
      'six numbers',
      pr(true, [
        '+491701234561',
        '+491701234562',
        '+491701234563',
        '+491701234564',
        '+491701234565',
        '+491701234566',
      ]),
      ['numbers'],
    ],
    ['bad number', pr(true, ['+491701234567', '0170']), ['numbers.1']],
    ['duplicate', pr(true, ['+491701234567', '+491701234567']), ['numbers.1']],
    ['own number', pr(false, ['+4930123456']), ['numbers.0']],
  ])('%s → issues at %j', (_name, p, paths) => {
    expect(validateParallelRinging(p, ctx).map((i) => i.path)).toEqual(paths);
  });
});
