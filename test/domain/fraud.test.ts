/** The call-through fraud guard's pure rules, table-driven. */
import { describe, expect, it } from 'vitest';
import {
  callingCode,
  classifyDestination,
  dayBucket,
  DEFAULT_CALL_THROUGH_POLICY,
  effectiveCallThroughPolicy,
  hourBucket,
  isLimitReason,
  limitReached,
  type CallThroughUsage,
  type DestinationVerdict,
} from '../../src/domain/fraud.js';
import { normaliseNumber } from '../../src/domain/numbers.js';

describe('callingCode', () => {
  const cases: Array<[string, string]> = [
    ['+4930123456', '49'],
    ['+12125550100', '1'],
    ['+74951234567', '7'],
    ['+442079460001', '44'],
    ['+353112345678', '353'],
    ['+41441234567', '41'],
    ['+43112345678', '43'],
    ['+8821234567', '882'],
    ['+2125221234', '212'],
    ['+201234567890', '20'],
  ];
  it.each(cases)('%s → %s', (e164, code) => expect(callingCode(e164)).toBe(code));
});

describe('classifyDestination', () => {
  const policy = effectiveCallThroughPolicy({ allowedCountries: ['43', '41'] });
  const cases: Array<[string, string, Partial<typeof policy>, DestinationVerdict]> = [
    ['national', '+4930555123', {}, { destinationClass: 'national', country: '49' }],
    [
      '0900 premium-rate',
      '+499001234567',
      {},
      {
        destinationClass: 'premium-rate',
        country: '49',
        numberType: 'PREMIUM_RATE',
        refusal: 'premium-rate',
      },
    ],
    [
      '0137 mass calling',
      '+491371234567',
      {},
      { destinationClass: 'premium-rate', country: '49', numberType: 'SHARED_COST', refusal: 'premium-rate' },
    ],
    [
      '0180x service',
      '+491805123456',
      {},
      { destinationClass: 'premium-rate', country: '49', numberType: 'SHARED_COST', refusal: 'premium-rate' },
    ],
    [
      '118xx directory',
      '+4911833',
      {},
      { destinationClass: 'premium-rate', country: '49', premiumPrefix: '+49118', refusal: 'premium-rate' },
    ],
    [
      'premium allowed by the company',
      '+499001234567',
      { allowPremiumRate: true },
      { destinationClass: 'premium-rate', country: '49', numberType: 'PREMIUM_RATE' },
    ],
    [
      'an allowed country (was +43 112…, which the Austrian plan has no category for)',
      '+43512345678',
      {},
      { destinationClass: 'international', country: '43' },
    ],
    [
      'a country not allowed',
      '+442079460001',
      {},
      { destinationClass: 'international', country: '44', refusal: 'country-not-allowed' },
    ],
    [
      'far away, not allowed',
      '+8821234567',
      {},
      { destinationClass: 'international', country: '882', refusal: 'country-not-allowed' },
    ],
    [
      'own premium list',
      '+4930999',
      { premiumRatePrefixes: ['+4930999'] },
      { destinationClass: 'premium-rate', country: '49', premiumPrefix: '+4930999', refusal: 'premium-rate' },
    ],
  ];
  // 0900/0137/0180 used to be asserted with the hand-written premiumPrefix that found them; the
  // numbering plan's category (numberType) finds them now, so those rows name it instead
  it.each(cases)('%s', (_name, e164, over, want) => {
    const got = classifyDestination(e164, { ...policy, ...over }, '49');
    expect(got).toMatchObject(want);
    expect(got.refusal).toBe(want.refusal);
    expect(got.premiumPrefix).toBe(want.premiumPrefix);
  });

  // the cases: the numbering plan's categories instead of hand-written prefixes
  const plan: Array<[string, string, string[], Partial<DestinationVerdict>]> = [
    ['+1 900: premium-rate in the USA even when "1" is allowed', '+19005551234', ['1'], { destinationClass: 'premium-rate', region: 'US', refusal: 'premium-rate' }],
    ['+1 876 is Jamaica, not the USA: "1" does not allow it', '+18765551234', ['1'], { destinationClass: 'international', region: 'JM', refusal: 'country-not-allowed' }],
    ['Jamaica allowed by its region', '+18765551234', ['JM'], { destinationClass: 'international', region: 'JM', refusal: undefined }],
    ['"1" allows the USA', '+12125551234', ['1'], { destinationClass: 'international', region: 'US', refusal: undefined }],
    ['+44 7781 is Guernsey, not the UK', '+447781123456', ['44'], { region: 'GG', refusal: 'country-not-allowed' }],
    ['0700 personal numbers forward anywhere', '+4970012345678', [], { destinationClass: 'premium-rate', numberType: 'PERSONAL_NUMBER', refusal: 'premium-rate' }],
    ['012… is no number of the German plan', '+4912345678', [], { destinationClass: 'national', refusal: 'invalid-number' }],
    ['019… is no number of the German plan', '+4919123456', [], { destinationClass: 'national', refusal: 'invalid-number' }],
    ['a German mobile', '+491701234567', [], { destinationClass: 'national', numberType: 'MOBILE', refusal: undefined }],
    ['a German mobile a digit short is still a mobile', '+491511000001', [], { destinationClass: 'national', numberType: 'MOBILE', refusal: undefined }],
    ['a 0900 number a digit short is still premium-rate', '+49900123456', [], { destinationClass: 'premium-rate', refusal: 'premium-rate' }],
    ['Austrian premium-rate, Austria allowed', '+43900123456', ['43'], { destinationClass: 'premium-rate', refusal: 'premium-rate' }],
  ]; // prettier-ignore
  it.each(plan)('%s', (_name, e164, allowedCountries, want) => {
    const got = classifyDestination(e164, { ...policy, allowedCountries }, '49');
    const { refusal, ...rest } = want;
    expect(got).toMatchObject(rest);
    expect(got.refusal).toBe(refusal);
  });
  it('the home country comes from COUNTRY_CODE (with or without +)', () => {
    expect(classifyDestination('+43112345678', DEFAULT_CALL_THROUGH_POLICY, '+43').destinationClass).toBe(
      'national',
    );
    expect(classifyDestination('+4930555123', DEFAULT_CALL_THROUGH_POLICY, '43').refusal).toBe(
      'country-not-allowed',
    );
  });
});

describe('effectiveCallThroughPolicy', () => {
  it('defaults are safe for a small company', () => {
    expect(effectiveCallThroughPolicy(undefined)).toEqual(DEFAULT_CALL_THROUGH_POLICY);
    expect(DEFAULT_CALL_THROUGH_POLICY).toMatchObject({
      enabled: true,
      allowPremiumRate: false,
      allowedCountries: [],
      perWorkplace: { perHour: 10, concurrent: 2, minutesPerDay: 120 },
      perCompany: { perHour: 30, concurrent: 5, minutesPerDay: 600 },
      lockAfterRefusals: 5,
    });
  });
  it('stored settings override field by field, limits too', () => {
    const p = effectiveCallThroughPolicy({ perWorkplace: { concurrent: 1 }, allowedCountries: ['43'] });
    expect(p.perWorkplace).toEqual({ perHour: 10, concurrent: 1, minutesPerDay: 120 });
    expect(p.allowedCountries).toEqual(['43']);
    expect(p.perCompany).toEqual(DEFAULT_CALL_THROUGH_POLICY.perCompany);
  });
  it('does not share arrays with the defaults', () => {
    effectiveCallThroughPolicy(undefined).premiumRatePrefixes.push('+1900');
    expect(DEFAULT_CALL_THROUGH_POLICY.premiumRatePrefixes).not.toContain('+1900');
  });
});

describe('limitReached (the order the store checks in)', () => {
  const zero = (): CallThroughUsage => ({
    workplace: { thisHour: 0, active: 0, secondsToday: 0 },
    company: { thisHour: 0, active: 0, secondsToday: 0 },
    refusalsToday: 0,
  });
  const p = DEFAULT_CALL_THROUGH_POLICY;
  const cases: Array<[string, (u: CallThroughUsage) => void, string | undefined]> = [
    ['nothing used', () => {}, undefined],
    ['workplace hour', (u) => (u.workplace.thisHour = 10), 'workplace-per-hour'],
    ['workplace concurrent', (u) => (u.workplace.active = 2), 'workplace-concurrent'],
    ['workplace minutes', (u) => (u.workplace.secondsToday = 7200), 'workplace-minutes'],
    ['just below the minutes', (u) => (u.workplace.secondsToday = 7199), undefined],
    ['company hour', (u) => (u.company.thisHour = 30), 'company-per-hour'],
    ['company concurrent', (u) => (u.company.active = 5), 'company-concurrent'],
    ['company minutes', (u) => (u.company.secondsToday = 36_000), 'company-minutes'],
    [
      'workplace before company',
      (u) => ((u.company.active = 5), (u.workplace.thisHour = 10)),
      'workplace-per-hour',
    ],
  ];
  it.each(cases)('%s', (_name, set, want) => {
    const u = zero();
    set(u);
    expect(limitReached(p, u)).toBe(want);
  });
  it('isLimitReason tells limits from class refusals and the lock', () => {
    expect(isLimitReason('company-minutes')).toBe(true);
    expect(isLimitReason('locked')).toBe(false);
    expect(isLimitReason('premium-rate')).toBe(false);
  });
});

describe('windows', () => {
  it('hour and day buckets (UTC)', () => {
    const t = Date.UTC(2026, 10, 30, 23, 59, 59);
    expect(hourBucket(t)).not.toBe(hourBucket(t + 1000));
    expect(hourBucket(t)).toBe(hourBucket(t - 3_599_000));
    expect(dayBucket(t)).toBe('2026-11-30');
    expect(dayBucket(t + 1000)).toBe('2026-12-01');
  });
});

describe('a dialled number is normalised once, by the numbering plan, before any rule', () => {
  // 0049 0900 …: the trunk prefix 0 after the country code is not part of the number; it was
  // classified +490900123456 "national" and dialled while 0900123456 was refused
  const policy = effectiveCallThroughPolicy(undefined);
  it.each([
    '0900123456789',
    '00490900123456789',
    '+490900123456789',
    '+49 (0)900 123456789',
    '0049900123456789',
  ])('%s is the premium-rate +49900123456789, refused', (dialled) => {
    const e164 = normaliseNumber(dialled, { countryCode: '49' });
    expect(e164).toBe('+49900123456789');
    expect(classifyDestination(e164!, policy, '49')).toMatchObject({
      destinationClass: 'premium-rate',
      refusal: 'premium-rate',
    });
  });
  it('the issue’s own digits: 00490900123456 and 0900123456 end up alike', () => {
    const a = normaliseNumber('00490900123456', { countryCode: '49' })!;
    const b = normaliseNumber('0900123456', { countryCode: '49' })!;
    expect(a).toBe(b);
    expect(classifyDestination(a, policy, '49').refusal).toBe('premium-rate');
  });
  it('Italy keeps its leading 0: it is part of the number there', () => {
    expect(normaliseNumber('0039 06 12345678', { countryCode: '49' })).toBe('+390612345678');
  });
});
