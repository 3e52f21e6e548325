/**
 * Call features an employee may edit (forwarding, parallel ringing), validated on the
 * normalised (E.164) form the API stores. Every problem is reported with its field path.
 */
import type { ForwardRule, Forwarding, ParallelRinging } from './model.js';
import { validateE164, type CountryOpts } from './numbers.js';
import { issuesAt, type FieldIssue } from './validation.js';
import { MAX_PARALLEL_NUMBERS, validateRingSeconds } from './workplace-rules.js';

export const FORWARD_RULES = ['always', 'busy', 'noAnswer', 'unreachable'] as const;
export type ForwardRuleName = (typeof FORWARD_RULES)[number];

export interface FeatureContext extends CountryOpts {
  /** the workplace's own number: forwarding or parallel-ringing to it would loop */
  ownNumber?: string;
  /** whether the workplace's voicebox is enabled; a "voicebox" target needs it */
  voiceboxEnabled?: boolean;
}

function validateRule(name: ForwardRuleName, rule: ForwardRule, ctx: FeatureContext): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const target = rule.target;
  if (target === undefined) {
    if (rule.enabled)
      issues.push({ path: `${name}.target`, message: 'is required when the rule is enabled' });
    return issues;
  }
  if (target === 'voicebox') {
    if (rule.enabled && ctx.voiceboxEnabled === false) {
      issues.push({
        path: `${name}.target`,
        message: 'the voicebox is disabled; enable it or forward to a number',
      });
    }
    return issues;
  }
  const path = `${name}.target.number`;
  issues.push(...issuesAt(path, validateE164(target.number, ctx)));
  if (ctx.ownNumber !== undefined && target.number === ctx.ownNumber) {
    issues.push({ path, message: "must not be the workplace's own number (the call would loop)" });
  }
  return issues;
}

/** SPEC: forward always / busy / no answer (ring time 5–120 s) / unreachable; an enabled rule needs a target. */
export function validateForwarding(forwarding: Forwarding, ctx: FeatureContext): FieldIssue[] {
  const issues = FORWARD_RULES.flatMap((name) => validateRule(name, forwarding[name], ctx));
  issues.push(...issuesAt('noAnswer.ringSeconds', validateRingSeconds(forwarding.noAnswer.ringSeconds)));
  return issues;
}

/**
 * Seed: "mindestens eine bis maximal fünf Festnetz- oder Mobilfunknummern" when enabled; the
 * list may be kept (up to five) while disabled. No duplicates, not the workplace's own number.
 */
export function validateParallelRinging(pr: ParallelRinging, ctx: FeatureContext): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (pr.enabled && pr.numbers.length === 0) {
    issues.push({ path: 'numbers', message: 'needs at least one number when parallel ringing is enabled' });
  }
  if (pr.numbers.length > MAX_PARALLEL_NUMBERS) {
    issues.push({ path: 'numbers', message: `at most ${MAX_PARALLEL_NUMBERS} numbers are allowed` });
  }
  const seen = new Set<string>();
  pr.numbers.forEach((number, index) => {
    const path = `numbers.${index}`;
    issues.push(...issuesAt(path, validateE164(number, ctx)));
    if (seen.has(number)) issues.push({ path, message: 'is listed twice' });
    seen.add(number);
    if (ctx.ownNumber !== undefined && number === ctx.ownNumber) {
      issues.push({ path, message: "must not be the workplace's own number" });
    }
    const delay = pr.options?.[number]?.delaySeconds;
    if (delay !== undefined && (!Number.isInteger(delay) || delay < 0 || delay > MAX_RING_DELAY_SECONDS))
      issues.push({ path: `${path}.delaySeconds`, message: `must be 0–${MAX_RING_DELAY_SECONDS} seconds` });
  });
  return issues;
}

/** the longest delay before a parallel number rings */
export const MAX_RING_DELAY_SECONDS = 60;
