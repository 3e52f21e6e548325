/**
 * The call-through fraud guard's rules, pure: the company's policy (safe defaults for a small
 * company, every value configurable), the destination class of a number (premium-rate,
 * international, national) and the country it is in, and what the guard decides before it
 * asks the counters (src/store: one atomic round trip per call-through).
 *
 * Toll fraud through DISA-like features is the classic loss of hosted telephony: a spoofed
 * caller number (or a guessed PIN) and then hours of calls to premium-rate or far-away
 * numbers. So: premium-rate is refused, abroad only to the countries a company allows, the
 * number, concurrency and minutes of call-throughs are capped per workplace and per company,
 * and a workplace whose call-throughs keep being refused is locked until an admin lifts it.
 */

export interface CallThroughLimits {
  /** call-throughs started per clock hour (UTC) */
  perHour: number;
  /** call-throughs at the same time */
  concurrent: number;
  /** talk minutes per day (UTC); a call-through is refused once they are used up */
  minutesPerDay: number;
}

export interface CallThroughPolicy {
  /** false: no guard at all (not recommended) */
  enabled: boolean;
  perWorkplace: CallThroughLimits;
  perCompany: CallThroughLimits;
  /** premium-rate numbers (premiumRatePrefixes) may be called through */
  allowPremiumRate: boolean;
  /** E.164 prefixes of premium-rate / expensive service numbers */
  premiumRatePrefixes: string[];
  /** country calling codes (e.g. "43", "41", "1") besides the home country that may be called */
  allowedCountries: string[];
  /** refusals of one workplace per day (UTC) after which its call-through is locked; 0: never */
  lockAfterRefusals: number;
}

/** German premium-rate and expensive service ranges: 0900, 0137, 0180x, 118xx. */
export const GERMAN_PREMIUM_RATE_PREFIXES = ['+49900', '+49137', '+49180', '+49118'] as const;

/**
 * Defaults that are safe for a small company (a handful of employees calling through now and
 * then): a few call-throughs per hour each, two at once, two hours a day; abroad only once an
 * admin allows a country; premium-rate never; locked after five refusals in a day.
 */
export const DEFAULT_CALL_THROUGH_POLICY: CallThroughPolicy = {
  enabled: true,
  perWorkplace: { perHour: 10, concurrent: 2, minutesPerDay: 120 },
  perCompany: { perHour: 30, concurrent: 5, minutesPerDay: 600 },
  allowPremiumRate: false,
  premiumRatePrefixes: [...GERMAN_PREMIUM_RATE_PREFIXES],
  allowedCountries: [],
  lockAfterRefusals: 5,
};

/** What a company stores: any subset; the rest comes from the defaults. */
export type CallThroughPolicySettings = Partial<
  Omit<CallThroughPolicy, 'perWorkplace' | 'perCompany'> & {
    perWorkplace: Partial<CallThroughLimits>;
    perCompany: Partial<CallThroughLimits>;
  }
>;

export function effectiveCallThroughPolicy(
  settings: CallThroughPolicySettings | undefined,
): CallThroughPolicy {
  const d = DEFAULT_CALL_THROUGH_POLICY;
  const s = settings ?? {};
  return {
    enabled: s.enabled ?? d.enabled,
    perWorkplace: { ...d.perWorkplace, ...s.perWorkplace },
    perCompany: { ...d.perCompany, ...s.perCompany },
    allowPremiumRate: s.allowPremiumRate ?? d.allowPremiumRate,
    premiumRatePrefixes: s.premiumRatePrefixes ?? [...d.premiumRatePrefixes],
    allowedCountries: s.allowedCountries ?? [...d.allowedCountries],
    lockAfterRefusals: s.lockAfterRefusals ?? d.lockAfterRefusals,
  };
}

/** Country calling codes of two digits (ITU-T E.164 assignments); 1 and 7 are one digit, all others three. */
const TWO_DIGIT_CODES = new Set([
  '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48',
  '49', '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81',
  '82', '84', '86', '90', '91', '92', '93', '94', '95', '98',
]); // prettier-ignore

/** The country calling code of an E.164 number ("+4930…" → "49", "+1212…" → "1", "+353…" → "353"). */
export function callingCode(e164: string): string {
  const digits = e164.replace(/^\+/, '');
  if (digits.startsWith('1') || digits.startsWith('7')) return digits.slice(0, 1);
  if (TWO_DIGIT_CODES.has(digits.slice(0, 2))) return digits.slice(0, 2);
  return digits.slice(0, 3);
}

export type DestinationClass = 'national' | 'international' | 'premium-rate';

export interface DestinationVerdict {
  destinationClass: DestinationClass;
  /** country calling code */
  country: string;
  /** the prefix that made it premium-rate */
  premiumPrefix?: string;
  /** why the policy refuses it before any counter is asked; undefined: the counters decide */
  refusal?: 'premium-rate' | 'country-not-allowed';
}

/** The class of a call-through destination and whether the policy refuses it outright. */
export function classifyDestination(
  e164: string,
  policy: Pick<CallThroughPolicy, 'allowPremiumRate' | 'premiumRatePrefixes' | 'allowedCountries'>,
  homeCountryCode: string,
): DestinationVerdict {
  const country = callingCode(e164);
  const premiumPrefix = policy.premiumRatePrefixes.find((p) => p.length > 1 && e164.startsWith(p));
  if (premiumPrefix) {
    return {
      destinationClass: 'premium-rate',
      country,
      premiumPrefix,
      ...(policy.allowPremiumRate ? {} : { refusal: 'premium-rate' as const }),
    };
  }
  const home = homeCountryCode.replace(/^\+/, '');
  if (country === home) return { destinationClass: 'national', country };
  return {
    destinationClass: 'international',
    country,
    ...(policy.allowedCountries.includes(country) ? {} : { refusal: 'country-not-allowed' as const }),
  };
}

/** What the counters refused for (workplace or company level). */
export type LimitReason =
  | 'workplace-per-hour'
  | 'workplace-concurrent'
  | 'workplace-minutes'
  | 'company-per-hour'
  | 'company-concurrent'
  | 'company-minutes';

export type RefusalReason = 'locked' | 'premium-rate' | 'country-not-allowed' | LimitReason;

export function isLimitReason(reason: RefusalReason): reason is LimitReason {
  return reason !== 'locked' && reason !== 'premium-rate' && reason !== 'country-not-allowed';
}

/**
 * The configured value behind a refusal (alerts and events name it): calls per hour,
 * concurrent calls, minutes per day, or the refusals that lock; undefined for refusals
 * that are no counted limit.
 */
export function limitValue(policy: CallThroughPolicy, reason: RefusalReason | 'lock'): number | undefined {
  const w = policy.perWorkplace;
  const c = policy.perCompany;
  switch (reason) {
    case 'workplace-per-hour':
      return w.perHour;
    case 'workplace-concurrent':
      return w.concurrent;
    case 'workplace-minutes':
      return w.minutesPerDay;
    case 'company-per-hour':
      return c.perHour;
    case 'company-concurrent':
      return c.concurrent;
    case 'company-minutes':
      return c.minutesPerDay;
    case 'lock':
      return policy.lockAfterRefusals;
    default:
      return undefined;
  }
}

/** Counter windows: the clock hour and the day (UTC) an instant falls in. */
export function hourBucket(nowMs: number): string {
  return String(Math.floor(nowMs / 3_600_000));
}
export function dayBucket(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

export interface CallThroughUsage {
  workplace: { thisHour: number; active: number; secondsToday: number };
  company: { thisHour: number; active: number; secondsToday: number };
  refusalsToday: number;
}

/**
 * What the counters would say now, from a usage snapshot (routing explain; the store's
 * atomic admission decides the same way, in this order, for real calls).
 */
export function limitReached(policy: CallThroughPolicy, usage: CallThroughUsage): LimitReason | undefined {
  const w = policy.perWorkplace;
  const c = policy.perCompany;
  if (usage.workplace.thisHour >= w.perHour) return 'workplace-per-hour';
  if (usage.workplace.active >= w.concurrent) return 'workplace-concurrent';
  if (usage.workplace.secondsToday >= w.minutesPerDay * 60) return 'workplace-minutes';
  if (usage.company.thisHour >= c.perHour) return 'company-per-hour';
  if (usage.company.active >= c.concurrent) return 'company-concurrent';
  if (usage.company.secondsToday >= c.minutesPerDay * 60) return 'company-minutes';
  return undefined;
}
