import { describe, expect, it } from 'vitest';
import type { NumberRange } from '../../src/domain/model.js';
import {
  availableNumbers,
  isE164,
  normaliseNumber,
  numberInRanges,
  rangeSize,
  rangesOverlap,
  toDialString,
  validateE164,
  validateNumberRange,
  validateNumberRanges,
} from '../../src/domain/numbers.js';

const de = { countryCode: '49' };

describe('normaliseNumber', () => {
  it.each([
    ['+4930123456', '+4930123456'],
    ['+49 30 123456', '+4930123456'],
    ['0049 30 123456', '+4930123456'],
    ['030 123456', '+4930123456'],
    ['030/123456', '+4930123456'],
    ['(030) 123-456', '+4930123456'],
    ['+49 (0)30 123456', '+4930123456'],
    ['+49(0)30123456', '+4930123456'],
    ['030.123456', '+4930123456'],
    ['  0170 1234567 ', '+491701234567'],
    ['+43 1 234567', '+431234567'],
    ['0043 1 234567', '+431234567'],
    ['+1 (212) 555-0100', '+12125550100'],
  ])('%j → %s', (input, expected) => {
    expect(normaliseNumber(input, de)).toBe(expected);
  });

  it('uses the configured country code for national numbers', () => {
    expect(normaliseNumber('01 234567', { countryCode: '43' })).toBe('+431234567');
    expect(normaliseNumber('01 234567', { countryCode: '+43' })).toBe('+431234567');
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['3456', 'internal extension'],
    ['30123456', 'no leading 0 or +'],
    ['*11', 'feature code'],
    ['+0301234567', 'country code starting with 0'],
    ['000301234567', '000 prefix'],
    ['+49', 'country code only'],
    ['0301', 'too short'],
    ['+1234567890123456', '16 digits'],
    ['030 12a456', 'letters'],
    ['+49+30123456', 'two plus signs'],
    ['anonymous', 'withheld caller id'],
  ])('%j (%s) → undefined', (input) => {
    expect(normaliseNumber(input, de)).toBeUndefined();
  });
});

describe('isE164', () => {
  it.each([
    ['+4930123456', true],
    ['+6834002', true],
    ['+123456789012345', true],
    ['+1234567890123456', false],
    ['+683400', false],
    ['4930123456', false],
    ['+04930123456', false],
    ['+49 30123456', false],
    ['', false],
  ])('%j → %s', (input, expected) => {
    expect(isE164(input)).toBe(expected);
  });
});

describe('validateE164', () => {
  it.each(['+4930123456', '+4930123456789', '+49301234567890', '+431234567', '+123456789012345'])(
    '%s is valid',
    (n) => {
      expect(validateE164(n, de)).toEqual([]);
    },
  );

  it.each([
    ['', /required/],
    ['030123456', /E\.164/],
    ['+49 30 123456', /only digits/],
    ['+0301234567', /country code/],
    ['+4912', /at least 7/],
    // seed: national number max 12 digits → +49 plus at most 12 = 14 digits after "+"
    ['+494012345678901', /national number has 13 digits/],
    ['+1234567890123456', /at most 15/],
  ])('%j is invalid (%s)', (n, pattern) => {
    const problems = validateE164(n, de);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('; ')).toMatch(pattern);
  });

  it('applies the national length rule to the home country only', () => {
    // 15 digits: too long for a German national number, fine for E.164 elsewhere
    expect(validateE164('+494012345678901', de)).not.toEqual([]);
    expect(validateE164('+494012345678901', { countryCode: '43' })).toEqual([]);
  });

  it('reports every problem at once', () => {
    expect(validateE164('+0123456789012345', de)).toHaveLength(2);
  });
});

describe('toDialString', () => {
  it('keeps the leading +', () => {
    expect(toDialString('+4930123456')).toBe('+4930123456');
  });
  it.each(['030123456', '4930123456', '', '3456'])('throws for %j', (n) => {
    expect(() => toDialString(n)).toThrow(RangeError);
  });
});

const berlin: NumberRange = { first: '+4930123400', last: '+4930123499' };
const munich: NumberRange = { first: '+4989555000', last: '+4989555009' };

describe('numberInRanges', () => {
  it.each([
    ['+4930123400', true],
    ['+4930123499', true],
    ['+4930123450', true],
    ['+4989555005', true],
    ['+4930123399', false],
    ['+4930123500', false],
    ['+49301234500', false], // longer: not in the 10-digit block
    ['+493012345', false], // shorter
    ['+4989555010', false],
    ['030123450', false],
  ])('%s → %s', (n, expected) => {
    expect(numberInRanges(n, [berlin, munich])).toBe(expected);
  });
  it('is false without ranges', () => {
    expect(numberInRanges('+4930123450', [])).toBe(false);
  });
});

describe('validateNumberRange', () => {
  it.each([
    berlin,
    munich,
    { first: '+4930123456', last: '+4930123456' },
    { first: '+4930120000', last: '+4930129999' },
  ])('%j is valid', (r) => {
    expect(validateNumberRange(r)).toEqual([]);
  });

  it.each([
    [{ first: '030123400', last: '+4930123499' }, /^first:/],
    [{ first: '+4930123400', last: 'x' }, /^last:/],
    [{ first: '+4930123400', last: '+49301234999' }, /same number of digits/],
    [{ first: '+4930123499', last: '+4930123400' }, /not be greater/],
    [{ first: '+4930120000', last: '+4930130000' }, /10001 numbers/],
  ])('%j is invalid (%s)', (r, pattern) => {
    const problems = validateNumberRange(r);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('names both bad bounds', () => {
    expect(validateNumberRange({ first: 'a', last: 'b' })).toHaveLength(2);
  });
});

describe('rangeSize', () => {
  it('counts inclusively', () => {
    expect(rangeSize(berlin)).toBe(100);
    expect(rangeSize({ first: '+4930123456', last: '+4930123456' })).toBe(1);
  });
});

describe('rangesOverlap', () => {
  it.each([
    [berlin, berlin, true],
    [berlin, { first: '+4930123499', last: '+4930123599' }, true],
    [berlin, { first: '+4930123300', last: '+4930123400' }, true],
    [berlin, { first: '+4930123410', last: '+4930123420' }, true],
    [{ first: '+4930123410', last: '+4930123420' }, berlin, true],
    [berlin, { first: '+4930123500', last: '+4930123599' }, false],
    [berlin, munich, false],
    [berlin, { first: '+49301234000', last: '+49301234999' }, false],
  ])('%j vs %j → %s', (a, b, expected) => {
    expect(rangesOverlap(a, b)).toBe(expected);
    expect(rangesOverlap(b, a)).toBe(expected);
  });
});

describe('validateNumberRanges', () => {
  it('accepts disjoint valid ranges', () => {
    expect(validateNumberRanges([berlin, munich])).toEqual([]);
  });
  it('names each bad range and each overlap by index', () => {
    const problems = validateNumberRanges([
      berlin,
      { first: 'x', last: '+4930123499' },
      { first: '+4930123450', last: '+4930123460' },
    ]);
    expect(problems).toEqual(['1: first: must be an E.164 number (e.g. +4930123400)', '2: overlaps range 0']);
  });
});

describe('availableNumbers', () => {
  const small: NumberRange = { first: '+4930123400', last: '+4930123404' };
  it('lists free numbers in order up to the limit', () => {
    expect(availableNumbers([small], new Set(['+4930123401', '+4930123403']), 10)).toEqual([
      '+4930123400',
      '+4930123402',
      '+4930123404',
    ]);
  });
  it('stops at the limit', () => {
    expect(availableNumbers([small], new Set(), 2)).toEqual(['+4930123400', '+4930123401']);
  });
  it('continues into the next range and lists each number once', () => {
    const next: NumberRange = { first: '+4930123403', last: '+4930123406' };
    expect(availableNumbers([small, next], new Set(['+4930123400']), 100)).toEqual([
      '+4930123401',
      '+4930123402',
      '+4930123403',
      '+4930123404',
      '+4930123405',
      '+4930123406',
    ]);
  });
  it('returns nothing for a zero or negative limit, or when all are taken', () => {
    expect(availableNumbers([small], new Set(), 0)).toEqual([]);
    expect(availableNumbers([small], new Set(), -1)).toEqual([]);
    const all = new Set(['+4930123400', '+4930123401', '+4930123402', '+4930123403', '+4930123404']);
    expect(availableNumbers([small], all, 5)).toEqual([]);
  });
  it('skips invalid ranges instead of walking them', () => {
    const huge: NumberRange = { first: '+4930000000', last: '+4939999999' };
    expect(availableNumbers([huge, small], new Set(), 1)).toEqual(['+4930123400']);
  });
});
