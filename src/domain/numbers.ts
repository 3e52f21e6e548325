/**
 * Phone numbers: normalisation to E.164, the seed's length rule, and number ranges.
 * Pure functions; stored numbers are always E.164 with a leading "+".
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { NumberRange } from './model.js';

/** ITU-T E.164: at most 15 digits including the country code. */
export const E164_MAX_DIGITS = 15;
/**
 * Shortest real E.164 numbers have 7 digits (e.g. Niue +683 xxxx, St Helena +290 xxxx).
 * Anything shorter is an internal extension or a service code, not a number.
 */
export const E164_MIN_DIGITS = 7;
/**
 * Seed (Telekom Rufnummernlänge): "Die Länge von Rufnummern ist ... für den nationalen
 * Telefonverkehr auf maximal 12 Ziffern begrenzt. Die Ortsnetzkennzahl ist dabei
 * eingeschlossen, die Verkehrsausscheidungsziffer „0“ ausgeschlossen" → +49 + 12 = 14 digits.
 * Applied to numbers of the configured home country.
 */
export const NATIONAL_MAX_DIGITS = 12;
/** A group's number range holds at most this many numbers (a 4-digit extension block). */
export const MAX_RANGE_SIZE = 10_000;

const E164_PATTERN = /^\+[1-9]\d*$/;
/** Separators people type or paste: spaces, "-", "/", "(", ")" and dots. */
const SEPARATORS = /[\s\-/().]/g;

export interface CountryOpts {
  /** the home country calling code, digits only ("49"); a leading "+" is tolerated */
  countryCode: string;
}

function homeCountryCode(opts: CountryOpts): string {
  return opts.countryCode.replace(/^\+/, '');
}

/** True for "+" followed by 7..15 digits, the first not 0. Does not apply national rules. */
export function isE164(s: string): boolean {
  if (!E164_PATTERN.test(s)) return false;
  const digits = s.length - 1;
  return digits >= E164_MIN_DIGITS && digits <= E164_MAX_DIGITS;
}

/**
 * To E.164 from "+49 30 123456", "0049 30 123456", national "030 123456" (→ +<cc>30123456)
 * or "+49 (0)30 123456". Returns undefined when the input is not a plausible phone number —
 * including internal extensions ("3456"), which have no leading 0 or "+" and are not numbers.
 */
export function normaliseNumber(input: string, opts: CountryOpts): string | undefined {
  // "+49 (0)30 ..." is a common way to print a number; the "(0)" is the trunk prefix, not a digit
  const withoutTrunkHint = input.trim().replace(/^(\+\d{1,3})\s*\(0\)/, '$1');
  const compact = withoutTrunkHint.replace(SEPARATORS, '');
  let candidate: string;
  if (/^\+\d+$/.test(compact)) {
    candidate = compact;
  } else if (/^00\d+$/.test(compact)) {
    candidate = '+' + compact.slice(2);
  } else if (/^0\d+$/.test(compact)) {
    candidate = '+' + homeCountryCode(opts) + compact.slice(1);
  } else {
    return undefined;
  }
  return isE164(candidate) ? withoutTrunkPrefix(candidate) : undefined;
}

/**
 * "+49 0900 …" (dialled as 0049 0900 …): the national trunk prefix "0" is not part of the
 * number once the country code is there. The numbering plan (libphonenumber's metadata) says
 * what a country's trunk prefix is — Italy keeps its leading 0, Germany drops it — so the
 * number is normalised once, here, before any rule (fraud guard, blocking profile) looks at
 * its prefix: +490900123456 is +49900123456, a premium-rate number. Only a stripped trunk
 * prefix is accepted from the parser; any other rewrite leaves the number as typed.
 */
function withoutTrunkPrefix(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164;
  const cc = parsed.countryCallingCode;
  const national = e164.slice(1 + cc.length);
  const stripped = national.length - parsed.nationalNumber.length;
  if (
    stripped > 0 &&
    stripped <= 2 &&
    national.endsWith(parsed.nationalNumber) &&
    /^0+$/.test(national.slice(0, stripped))
  )
    return parsed.number;
  return e164;
}

/**
 * Every problem with a number that is to be stored (workplace, portal, parallel ringing,
 * forwarding target, range bound); empty when valid.
 */
export function validateE164(s: string, opts: CountryOpts): string[] {
  if (typeof s !== 'string' || s.length === 0) return ['is required'];
  if (!s.startsWith('+'))
    return ['must be in E.164 form: "+", the country code, then the number (e.g. +4930123456)'];
  const digits = s.slice(1);
  if (!/^\d+$/.test(digits)) return ['must contain only digits after the "+"'];
  const problems: string[] = [];
  if (digits.startsWith('0')) problems.push('country code cannot start with 0');
  if (digits.length > E164_MAX_DIGITS) {
    problems.push(`has ${digits.length} digits; E.164 allows at most ${E164_MAX_DIGITS}`);
  }
  if (digits.length < E164_MIN_DIGITS) {
    problems.push(`has ${digits.length} digits; a phone number has at least ${E164_MIN_DIGITS}`);
  }
  const cc = homeCountryCode(opts);
  if (digits.startsWith(cc)) {
    const national = digits.length - cc.length;
    if (national > NATIONAL_MAX_DIGITS) {
      problems.push(
        `national number has ${national} digits; at most ${NATIONAL_MAX_DIGITS} are allowed ` +
          `(so at most ${cc.length + NATIONAL_MAX_DIGITS} digits after "+${cc}")`,
      );
    }
  }
  return problems;
}

/**
 * What DIAL_EXTERNAL's {number} becomes: the E.164 number with its leading "+" (SPEC).
 * Only stored (already validated) numbers reach here, so anything else is a programming
 * error and throws rather than dialling something unintended.
 */
export function toDialString(e164: string): string {
  if (!isE164(e164)) throw new RangeError(`not an E.164 number: ${JSON.stringify(e164)}`);
  return e164;
}

/** Ranges compare like numbers only between equal lengths; then string order is numeric order. */
function inRange(number: string, range: NumberRange): boolean {
  return (
    number.length === range.first.length &&
    number.length === range.last.length &&
    number >= range.first &&
    number <= range.last
  );
}

/** Whether an E.164 number lies inside one of the ranges (inclusive, same length only). */
export function numberInRanges(number: string, ranges: readonly NumberRange[]): boolean {
  if (!isE164(number)) return false;
  return ranges.some((range) => inRange(number, range));
}

/** How many numbers a (valid) range holds. */
export function rangeSize(range: NumberRange): number {
  return Number(BigInt(range.last.slice(1)) - BigInt(range.first.slice(1))) + 1;
}

/** Problems with one range; messages name the field ("first", "last"). Empty when valid. */
export function validateNumberRange(r: NumberRange): string[] {
  const problems: string[] = [];
  const firstOk = typeof r?.first === 'string' && isE164(r.first);
  const lastOk = typeof r?.last === 'string' && isE164(r.last);
  if (!firstOk) problems.push('first: must be an E.164 number (e.g. +4930123400)');
  if (!lastOk) problems.push('last: must be an E.164 number (e.g. +4930123499)');
  if (!firstOk || !lastOk) return problems;
  if (r.first.length !== r.last.length) {
    problems.push('first and last must have the same number of digits');
    return problems;
  }
  if (r.first > r.last) {
    problems.push('first must not be greater than last');
    return problems;
  }
  const size = rangeSize(r);
  if (size > MAX_RANGE_SIZE) {
    problems.push(`range holds ${size} numbers; at most ${MAX_RANGE_SIZE} are allowed`);
  }
  return problems;
}

/**
 * Whether two ranges share a number. Ranges of different lengths hold different numbers
 * and never overlap (a block extended by a digit is a new range of the longer length).
 */
export function rangesOverlap(a: NumberRange, b: NumberRange): boolean {
  if (a.first.length !== b.first.length) return false;
  return a.first <= b.last && b.first <= a.last;
}

/**
 * Problems with a list of ranges (a group's numberRanges), each message naming its index:
 * every invalid range and every overlapping pair. Empty when valid.
 */
export function validateNumberRanges(ranges: readonly NumberRange[]): string[] {
  const problems: string[] = [];
  const valid: Array<[number, NumberRange]> = [];
  ranges.forEach((range, index) => {
    const own = validateNumberRange(range);
    for (const message of own) problems.push(`${index}: ${message}`);
    if (own.length === 0) valid.push([index, range]);
  });
  for (let i = 0; i < valid.length; i++) {
    for (let j = i + 1; j < valid.length; j++) {
      const [ai, a] = valid[i]!;
      const [bi, b] = valid[j]!;
      if (rangesOverlap(a, b)) problems.push(`${bi}: overlaps range ${ai}`);
    }
  }
  return problems;
}

/**
 * Up to `limit` numbers from the ranges that are not in `taken`, in range order, each once.
 * Invalid ranges are skipped (they cannot be stored), which also bounds the work.
 */
export function availableNumbers(
  ranges: readonly NumberRange[],
  taken: ReadonlySet<string>,
  limit: number,
): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  if (!(limit > 0)) return found;
  for (const range of ranges) {
    if (validateNumberRange(range).length > 0) continue;
    const width = range.first.length - 1;
    const last = BigInt(range.last.slice(1));
    for (let n = BigInt(range.first.slice(1)); n <= last; n++) {
      const number = '+' + n.toString().padStart(width, '0');
      if (taken.has(number) || seen.has(number)) continue;
      seen.add(number);
      found.push(number);
      if (found.length >= limit) return found;
    }
  }
  return found;
}
