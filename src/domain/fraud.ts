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
import { type PhoneNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';
// the same full metadata: its first region of a calling code is the code's main country
import PLAN from 'libphonenumber-js/metadata.max.json';

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
  /**
   * special-rate numbers may be called through: what the numbering plan calls premium-rate,
   * shared-cost, personal (forwarded anywhere), UAN, voicemail and pager numbers, plus
   * premiumRatePrefixes
   */
  allowPremiumRate: boolean;
  /** E.164 prefixes treated as premium-rate on top of the numbering plan's categories */
  premiumRatePrefixes: string[];
  /**
   * destinations besides the home country that may be called: ISO 3166 regions ("JM", "CA")
   * or country calling codes ("43"). A calling code shared by several countries stands for its
   * main country only ("1": the USA, not Jamaica or Canada; "44": the UK, not Jersey): the
   * others are listed by region.
   */
  allowedCountries: string[];
  /** refusals of one workplace per day (UTC) after which its call-through is locked; 0: never */
  lockAfterRefusals: number;
}

/**
 * Hand-written on top of the numbering plan, deliberately: German directory enquiries (118xx)
 * are short service codes, not numbers of the plan, so libphonenumber's metadata has no
 * category for them — but they connect onwards at a high per-minute price. Premium-rate
 * (0900), mass calling (0137) and shared-cost (0180) come from the metadata now.
 */
export const GERMAN_PREMIUM_RATE_PREFIXES = ['+49118'] as const;

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

/**
 * The country calling code of an E.164 number ("+4930…" → "49", "+1212…" → "1", "+353…" → "353").
 * The numbering plan's answer when it knows the number; the table above only for what it
 * cannot parse at all (kept so every number still gets a code for the counters).
 */
export function callingCode(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed) return parsed.countryCallingCode;
  const digits = e164.replace(/^\+/, '');
  if (digits.startsWith('1') || digits.startsWith('7')) return digits.slice(0, 1);
  if (TWO_DIGIT_CODES.has(digits.slice(0, 2))) return digits.slice(0, 2);
  return digits.slice(0, 3);
}

/** The main region of a calling code ("1" → "US", "44" → "GB"); undefined for non-geographic codes. */
function mainRegion(code: string): string | undefined {
  return PLAN.country_calling_codes[code]?.[0];
}

/**
 * The numbering plan's categories that cost extra or hide where the call really goes: refused
 * as "premium-rate" unless the company allows it. VOIP, FIXED_LINE, MOBILE and TOLL_FREE are
 * ordinary destinations (a German 032 VoIP number costs what a landline does).
 */
const SPECIAL_RATE_TYPES: ReadonlySet<string> = new Set([
  'PREMIUM_RATE',
  'SHARED_COST',
  'PERSONAL_NUMBER',
  'UAN',
  'VOICEMAIL',
  'PAGER',
]);

/**
 * The category of the plan's numbers that begin like this one, for a number the plan does not
 * accept as it is (a digit too many or too few): the same leading digits, shortened or filled
 * up to the lengths the plan uses. A mis-sized mobile number stays a mobile number (it will
 * simply fail at the carrier); a 0900 number a digit short is still premium-rate; digits no
 * category of the plan begins with (German 012…, 019…) have none and are refused.
 */
function nearest(parsed: PhoneNumber): { type: string; region?: string } | undefined {
  const nsn = parsed.nationalNumber as string;
  const cc = parsed.countryCallingCode as string;
  for (let delta = 1; delta <= 3; delta++) {
    for (const length of [nsn.length + delta, nsn.length - delta]) {
      if (length < 4 || length + cc.length > 15) continue;
      for (const fill of ['0', '5', '9']) {
        const candidate = parsePhoneNumberFromString(`+${cc}${(nsn + fill.repeat(3)).slice(0, length)}`);
        const type = candidate?.isValid() ? candidate.getType() : undefined;
        if (type) return { type, ...(candidate?.country ? { region: candidate.country } : {}) };
      }
    }
  }
  return undefined;
}

export type DestinationClass = 'national' | 'international' | 'premium-rate';

export interface DestinationVerdict {
  destinationClass: DestinationClass;
  /** country calling code */
  country: string;
  /** ISO 3166 region of the number when the plan knows it ("JM" for +1 876 …) */
  region?: string;
  /** the numbering plan's category (libphonenumber getType; for a mis-sized number, that of its leading digits) */
  numberType?: string;
  /** the operator's prefix that made it premium-rate (premiumRatePrefixes) */
  premiumPrefix?: string;
  /** why the policy refuses it before any counter is asked; undefined: the counters decide */
  refusal?: 'premium-rate' | 'country-not-allowed' | 'invalid-number';
}

/**
 * The class of a call-through destination and whether the policy refuses it outright. The
 * number comes normalised (numbers.ts: once, by the numbering plan); its category comes from
 * libphonenumber's full metadata, the country by region, not by calling code (+1 876 is
 * Jamaica, +1 900 premium-rate in the USA). A number the plan does not know as valid (German
 * 012…, 019…, a 0900 number that is too short) is refused: it is no ordinary destination.
 */
export function classifyDestination(
  e164: string,
  policy: Pick<CallThroughPolicy, 'allowPremiumRate' | 'premiumRatePrefixes' | 'allowedCountries'>,
  homeCountryCode: string,
): DestinationVerdict {
  const parsed = parsePhoneNumberFromString(e164);
  const country = callingCode(e164);
  const valid = parsed?.isValid() ?? false;
  const region = parsed?.country ?? (parsed ? nearest(parsed)?.region : undefined);
  const numberType = valid ? parsed?.getType() : parsed ? nearest(parsed)?.type : undefined;
  const about = { country, ...(region ? { region } : {}), ...(numberType ? { numberType } : {}) };
  const premium = policy.allowPremiumRate ? {} : { refusal: 'premium-rate' as const };
  const premiumPrefix = policy.premiumRatePrefixes.find((p) => p.length > 1 && e164.startsWith(p));
  if (premiumPrefix) return { destinationClass: 'premium-rate', ...about, premiumPrefix, ...premium };
  if (numberType && SPECIAL_RATE_TYPES.has(numberType))
    return { destinationClass: 'premium-rate', ...about, ...premium };
  const home = homeCountryCode.replace(/^\+/, '');
  const homeRegion = mainRegion(home);
  // home: the home code's main region (a German number; for +1 the USA, not the Caribbean)
  const national =
    country === home && (region === undefined || homeRegion === undefined || region === homeRegion);
  if (!national) {
    const allowed =
      (region !== undefined && policy.allowedCountries.includes(region)) ||
      (policy.allowedCountries.includes(country) && (region === undefined || region === mainRegion(country)));
    if (!allowed) return { destinationClass: 'international', ...about, refusal: 'country-not-allowed' };
  }
  const destinationClass = national ? ('national' as const) : ('international' as const);
  if (numberType === undefined) return { destinationClass, ...about, refusal: 'invalid-number' };
  return { destinationClass, ...about };
}

/** What the counters refused for (workplace or company level). */
export type LimitReason =
  | 'workplace-per-hour'
  | 'workplace-concurrent'
  | 'workplace-minutes'
  | 'company-per-hour'
  | 'company-concurrent'
  | 'company-minutes';

export type RefusalReason =
  'locked' | 'premium-rate' | 'country-not-allowed' | 'invalid-number' | LimitReason;

export function isLimitReason(reason: RefusalReason): reason is LimitReason {
  return (
    reason !== 'locked' &&
    reason !== 'premium-rate' &&
    reason !== 'country-not-allowed' &&
    reason !== 'invalid-number'
  );
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
