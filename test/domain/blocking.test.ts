import { describe, expect, it } from 'vitest';
import type { BlockingProfile } from '../../src/domain/model.js';
import {
  effectiveBlockingProfile,
  isBlocked,
  matchesPrefix,
  stricterOf,
  validateBlockingPrefixes,
} from '../../src/domain/blocking.js';

function profile(
  id: string,
  lists: Partial<Pick<BlockingProfile, 'incoming' | 'outgoing' | 'forwarded'>>,
): BlockingProfile {
  return {
    id,
    companyId: 'c1',
    name: `profile ${id}`,
    incoming: lists.incoming ?? [],
    outgoing: lists.outgoing ?? [],
    forwarded: lists.forwarded ?? [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: `2026-01-0${id.length}T00:00:00.000Z`,
  };
}

describe('matchesPrefix', () => {
  it.each([
    ['+499001234567', ['+49900'], true],
    ['+491371234567', ['+49900', '+49137'], true],
    ['+4930123456', ['+49900', '+49137'], false],
    ['+4930123456', ['+4930123456'], true], // a full number is its own prefix
    ['+4930123456', ['+49301234567'], false], // prefix longer than the number
    ['+4930123456', [], false],
    ['+4930123456', ['', '+'], false], // degenerate prefixes never block everything
    ['+4930123456', ['+'], false],
    ['+12125550100', ['+1'], true],
  ])('%s vs %j → %s', (number, prefixes, expected) => {
    expect(matchesPrefix(number, prefixes)).toBe(expected);
  });
});

describe('effectiveBlockingProfile', () => {
  const own = profile('own', {});
  const grp = profile('grp', {});
  const dflt = profile('dflt', {});
  const asMap = new Map([own, grp, dflt].map((p) => [p.id, p]));
  const asRecord = Object.fromEntries([own, grp, dflt].map((p) => [p.id, p]));

  it.each([
    ['workplace own wins', { blockingProfileId: 'own' }, { blockingProfileId: 'grp' }, 'own'],
    ['group when workplace has none', {}, { blockingProfileId: 'grp' }, 'grp'],
    ['company default last', {}, {}, 'dflt'],
    ['company default without workplace or group', undefined, undefined, 'dflt'],
    [
      'dangling workplace id falls through to group',
      { blockingProfileId: 'gone' },
      { blockingProfileId: 'grp' },
      'grp',
    ],
    [
      'dangling ids fall through to default',
      { blockingProfileId: 'gone' },
      { blockingProfileId: 'gone' },
      'dflt',
    ],
  ] as const)('%s', (_name, workplace, group, expected) => {
    for (const profiles of [asMap, asRecord]) {
      const company = { defaultBlockingProfileId: 'dflt' };
      expect(effectiveBlockingProfile({ workplace, group, company, profiles })?.id).toBe(expected);
    }
  });

  it('is undefined when nothing is configured', () => {
    expect(
      effectiveBlockingProfile({ workplace: {}, group: {}, company: {}, profiles: asMap }),
    ).toBeUndefined();
  });

  it('does not find inherited object properties as profiles', () => {
    const company = { defaultBlockingProfileId: 'toString' };
    expect(effectiveBlockingProfile({ company, profiles: asRecord })).toBeUndefined();
  });
});

describe('isBlocked', () => {
  const p = profile('p', {
    incoming: ['+49190'],
    outgoing: ['+49900', '+49137'],
    forwarded: ['+49900', '+44'],
  });
  it.each([
    ['incoming', '+491901234', true],
    ['incoming', '+499001234', false],
    ['outgoing', '+499001234', true],
    ['outgoing', '+491371234', true],
    ['outgoing', '+4930123456', false],
    ['forwarded', '+442071234567', true],
    ['forwarded', '+491371234', false],
  ] as const)('%s %s → %s', (direction, number, expected) => {
    expect(isBlocked(p, direction, number)).toBe(expected);
  });
  it('no profile blocks nothing', () => {
    expect(isBlocked(undefined, 'outgoing', '+499001234')).toBe(false);
  });
});

describe('stricterOf', () => {
  const a = profile('a', { outgoing: ['+49900', '+49137'], forwarded: ['+49900'] });
  const bb = profile('bb', { incoming: ['+49190'], outgoing: ['+49900', '+44'] });

  it('blocks whatever either profile blocks', () => {
    const s = stricterOf(a, bb)!;
    expect(s.incoming).toEqual(['+49190']);
    expect(s.outgoing).toEqual(['+44', '+49137', '+49900']);
    expect(s.forwarded).toEqual(['+49900']);
    expect(s.id).toBe('a+bb');
    expect(isBlocked(s, 'outgoing', '+442071234567')).toBe(true);
    expect(isBlocked(s, 'outgoing', '+491371234')).toBe(true);
    expect(isBlocked(s, 'outgoing', '+4930123456')).toBe(false);
    expect(s.updatedAt).toBe(bb.updatedAt);
  });
  it('ignores missing profiles', () => {
    expect(stricterOf(undefined, a, undefined)).toBe(a);
  });
  it('is undefined without profiles', () => {
    expect(stricterOf()).toBeUndefined();
    expect(stricterOf(undefined, undefined)).toBeUndefined();
  });
  it('does not change its inputs', () => {
    stricterOf(a, bb);
    expect(a.outgoing).toEqual(['+49900', '+49137']);
  });
});

describe('validateBlockingPrefixes', () => {
  it.each([[[]], [['+49900']], [['+4', '+49137', '+123456789012345']]])('%j is valid', (prefixes) => {
    expect(validateBlockingPrefixes(prefixes)).toEqual([]);
  });
  it.each([
    [['49900'], ['0: must be "+" followed by 1 to 15 digits (e.g. +49900)']],
    [['+49900', '+'], ['1: must be "+" followed by 1 to 15 digits (e.g. +49900)']],
    [['+1234567890123456'], ['0: must be "+" followed by 1 to 15 digits (e.g. +49900)']],
    [
      ['+49 900', '', '+49900'],
      [
        '0: must be "+" followed by 1 to 15 digits (e.g. +49900)',
        '1: must be "+" followed by 1 to 15 digits (e.g. +49900)',
      ],
    ],
  ])('%j → %j', (prefixes, expected) => {
    expect(validateBlockingPrefixes(prefixes)).toEqual(expected);
  });
  it('caps the list length', () => {
    const many = Array.from({ length: 501 }, (_, i) => `+49${i}`);
    expect(validateBlockingPrefixes(many)).toEqual(['at most 500 prefixes are allowed (got 501)']);
  });
});
