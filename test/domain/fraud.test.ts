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
      { destinationClass: 'premium-rate', country: '49', premiumPrefix: '+49900', refusal: 'premium-rate' },
    ],
    [
      '0137 mass calling',
      '+491371234567',
      {},
      { destinationClass: 'premium-rate', country: '49', premiumPrefix: '+49137', refusal: 'premium-rate' },
    ],
    [
      '0180x service',
      '+491805123456',
      {},
      { destinationClass: 'premium-rate', country: '49', premiumPrefix: '+49180', refusal: 'premium-rate' },
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
      { destinationClass: 'premium-rate', country: '49', premiumPrefix: '+49900' },
    ],
    ['an allowed country', '+43112345678', {}, { destinationClass: 'international', country: '43' }],
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
  it.each(cases)('%s', (_name, e164, over, want) =>
    expect(classifyDestination(e164, { ...policy, ...over }, '49')).toEqual(want),
  );
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
