/**
 * Thin adapters from the domain's pure validators (src/domain) to the API's field issues.
 * No rule is implemented here; this file only attaches paths and the configured country code.
 */
import type { NumberRange } from '../domain/model.js';
import { normaliseNumber, numberInRanges, validateE164, validateNumberRange } from '../domain/numbers.js';
import { validateBlockingPrefixes } from '../domain/blocking.js';
import { isValidTimezone } from '../domain/timezones.js';
import type { FieldIssue } from './errors.js';

export function isTimezone(tz: string): boolean {
  return isValidTimezone(tz);
}

export function issuesAt(path: string, messages: readonly string[]): FieldIssue[] {
  return messages.map((message) => ({ path, message }));
}

/**
 * Normalises a typed number to E.164 (national, 00-international or +-international form).
 * Returns the number, or pushes the reasons to `issues` and returns undefined.
 */
export function normalisedNumber(
  input: string,
  path: string,
  countryCode: string,
  issues: FieldIssue[],
): string | undefined {
  const normalised = normaliseNumber(input, { countryCode });
  if (normalised === undefined) {
    const reasons = validateE164(input, { countryCode });
    issues.push(...issuesAt(path, reasons.length > 0 ? reasons : ['is not a phone number']));
    return undefined;
  }
  const problems = validateE164(normalised, { countryCode });
  if (problems.length > 0) {
    issues.push(...issuesAt(path, problems));
    return undefined;
  }
  return normalised;
}

/** "first: must be ..." from the domain becomes path `<path>.first`. */
export function rangeIssues(path: string, range: NumberRange): FieldIssue[] {
  return validateNumberRange(range).map((message) => {
    const m = /^(first|last): (.*)$/.exec(message);
    return m ? { path: path ? `${path}.${m[1]}` : m[1]!, message: m[2]! } : { path, message };
  });
}

export function numberInGroup(number: string, ranges: readonly NumberRange[]): boolean {
  return numberInRanges(number, ranges);
}

/** Domain messages of list validators start with the index ("2: ..."); that becomes `<path>.2`. */
export function indexedIssues(path: string, messages: readonly string[]): FieldIssue[] {
  return messages.map((message) => {
    const m = /^(\d+): (.*)$/.exec(message);
    return m ? { path: path ? `${path}.${m[1]}` : m[1]!, message: m[2]! } : { path, message };
  });
}

export function blockingPrefixIssues(path: string, prefixes: string[]): FieldIssue[] {
  return indexedIssues(path, validateBlockingPrefixes(prefixes));
}
