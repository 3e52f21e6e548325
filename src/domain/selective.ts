/**
 * Selective forwarding ("forward selectively", BroadWorks' Selective Call Forwarding): rules by
 * caller that send those callers elsewhere — a list of numbers, number prefixes ("+4930*") and/or
 * anonymous callers, each rule with its own target. The first enabled rule that matches wins; it
 * comes right after incoming blocking, before opening hours and every other forwarding (a rule
 * names particular callers, so it is the most specific decision there is).
 */
import type { SelectiveForwardRule } from './model.js';
import { validateE164, type CountryOpts } from './numbers.js';
import type { FieldIssue } from './validation.js';

export const MAX_SELECTIVE_RULES = 10;
export const MAX_SELECTIVE_CALLERS = 50;

function matches(entry: string, callerNumber: string): boolean {
  return entry.endsWith('*') ? callerNumber.startsWith(entry.slice(0, -1)) : callerNumber === entry;
}

/** The first enabled rule that names this caller ('' = anonymous). */
export function selectiveRuleFor(
  rules: readonly SelectiveForwardRule[] | undefined,
  callerNumber: string,
): { rule: SelectiveForwardRule; index: number } | undefined {
  const index = (rules ?? []).findIndex(
    (r) =>
      r.enabled &&
      (callerNumber === '' ? r.anonymous : r.callers.some((entry) => matches(entry, callerNumber))),
  );
  return index < 0 ? undefined : { rule: rules![index]!, index };
}

/** Every problem of the (normalised) rules, each at its field; targets are checked by the caller. */
export function validateSelectiveForwarding(
  rules: readonly SelectiveForwardRule[],
  ctx: CountryOpts,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (rules.length > MAX_SELECTIVE_RULES)
    issues.push({ path: 'rules', message: `at most ${MAX_SELECTIVE_RULES} rules` });
  rules.forEach((rule, i) => {
    if (rule.callers.length === 0 && !rule.anonymous)
      issues.push({
        path: `rules.${i}.callers`,
        message: 'names no caller: add numbers or anonymous callers',
      });
    if (rule.callers.length > MAX_SELECTIVE_CALLERS)
      issues.push({ path: `rules.${i}.callers`, message: `at most ${MAX_SELECTIVE_CALLERS} numbers` });
    rule.callers.forEach((entry, k) => {
      const path = `rules.${i}.callers.${k}`;
      if (entry.endsWith('*')) {
        // a prefix: the country code and at least one more digit
        if (!/^\+\d{2,14}\*$/.test(entry))
          issues.push({
            path,
            message: 'a prefix is "+", the country code and more digits, then "*" (+4930*)',
          });
      } else {
        for (const message of validateE164(entry, ctx)) issues.push({ path, message });
      }
    });
  });
  return issues;
}
