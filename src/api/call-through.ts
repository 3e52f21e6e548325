/**
 * The call-through fraud guard's administration: the company's policy (limits per workplace
 * and per company, premium-rate, allowed countries, lock threshold; fields left out keep the
 * safe defaults) and a workplace's call-through lock, which only an admin lifts.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { validateBlockingPrefixes } from '../domain/blocking.js';
import {
  DEFAULT_CALL_THROUGH_POLICY,
  effectiveCallThroughPolicy,
  type CallThroughPolicySettings,
} from '../domain/fraud.js';
import type { PbxMetrics } from '../metrics.js';
import { type ApiDeps, loadCompany, loadWorkplace, nowIso, retryOnStale } from './context.js';
import { cidParams, errorResponses, rule, widParams } from './schemas.js';

const d = DEFAULT_CALL_THROUGH_POLICY;

const limitsInput = (defaults: typeof d.perWorkplace, what: string) =>
  z.strictObject({
    perHour: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .describe(`call-throughs started per clock hour (UTC) ${what}; default ${defaults.perHour}`),
    concurrent: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .optional()
      .describe(`call-throughs at the same time ${what}; default ${defaults.concurrent}`),
    minutesPerDay: z
      .number()
      .int()
      .min(0)
      .max(1_440_000)
      .optional()
      .describe(`talk minutes per day (UTC) ${what}; default ${defaults.minutesPerDay}`),
  });

const policyInput = z.strictObject({
  enabled: z.boolean().optional().describe('false switches the guard off (not recommended); default true'),
  perWorkplace: limitsInput(d.perWorkplace, 'per workplace').optional(),
  perCompany: limitsInput(d.perCompany, 'for the whole company').optional(),
  allowPremiumRate: z
    .boolean()
    .optional()
    .describe('premium-rate numbers may be called through; default false'),
  premiumRatePrefixes: z
    .array(z.string())
    .max(100)
    .superRefine((prefixes, ctx) => {
      for (const message of validateBlockingPrefixes(prefixes)) ctx.addIssue({ code: 'custom', message });
    })
    .optional()
    .describe(`E.164 prefixes of premium-rate numbers; default ${d.premiumRatePrefixes.join(', ')}`),
  allowedCountries: z
    .array(
      z
        .string()
        .superRefine(
          rule((code) =>
            /^[1-9][0-9]{0,2}$/.test(code) || (/^[A-Z]{2}$/.test(code) && isSupportedCountry(code))
              ? []
              : ['a country calling code (1 to 3 digits, e.g. "43") or a region (e.g. "JM")'],
          ),
        ),
    )
    .max(250)
    .optional()
    .describe(
      'destinations besides the home country (COUNTRY_CODE) that may be called: country calling codes ("43") ' +
        'or ISO 3166 regions ("JM"). A calling code shared by several countries allows its main one only ' +
        '("1": the USA; Canada is "CA", Jamaica "JM"). Default none',
    ),
  lockAfterRefusals: z
    .number()
    .int()
    .min(0)
    .max(1_000)
    .optional()
    .describe(
      `refusals of a workplace per day after which its call-through is locked (0: never); default ${d.lockAfterRefusals}`,
    ),
});

const limitsView = z.object({ perHour: z.number(), concurrent: z.number(), minutesPerDay: z.number() });
const policyView = z.object({
  enabled: z.boolean(),
  perWorkplace: limitsView,
  perCompany: limitsView,
  allowPremiumRate: z.boolean(),
  premiumRatePrefixes: z.array(z.string()),
  allowedCountries: z.array(z.string()),
  lockAfterRefusals: z.number(),
});
const usageView = z.object({ thisHour: z.number(), active: z.number(), secondsToday: z.number() });
const lockView = z.object({
  locked: z.boolean(),
  since: z.string().optional(),
  reason: z.string().optional().describe('the refusal that locked it'),
  refusalsToday: z.number(),
  workplace: usageView,
  company: usageView,
});

export const callThroughPlugin: FastifyPluginAsyncZod<ApiDeps & { metrics?: PbxMetrics }> = async (
  app,
  deps,
) => {
  const { store } = deps;
  const tags = ['call-through fraud guard'];

  app.get(
    '/companies/:cid/call-through-policy',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'The effective call-through policy (stored settings over the defaults)',
        params: cidParams,
        response: { 200: policyView, ...errorResponses },
      },
    },
    async (request) =>
      effectiveCallThroughPolicy((await loadCompany(store, request.params.cid)).callThroughPolicy),
  );

  app.put(
    '/companies/:cid/call-through-policy',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Replace the call-through policy settings (fields left out take the defaults)',
        params: cidParams,
        body: policyInput,
        response: { 200: policyView, ...errorResponses },
      },
    },
    async (request) => {
      const settings = request.body as CallThroughPolicySettings;
      if (settings.allowedCountries) settings.allowedCountries = [...new Set(settings.allowedCountries)];
      // compare-and-set on the company, re-applied on a race: a company PATCH of another field
      // (or another policy PUT) landing meanwhile is kept, not overwritten with a stale copy.
      // The company change is published: running controllers apply it on the next call-through.
      await retryOnStale(async () => {
        const company = await loadCompany(store, request.params.cid);
        await store.companies.put({ ...company, callThroughPolicy: settings, updatedAt: nowIso() }, company);
      });
      return effectiveCallThroughPolicy(settings);
    },
  );

  app.get(
    '/companies/:cid/workplaces/:wid/call-through-lock',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: "A workplace's call-through lock and today's counters",
        params: widParams,
        response: { 200: lockView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, wid } = request.params;
      await loadWorkplace(store, cid, wid);
      const { usage, lock } = await store.callThroughs.usage(cid, wid, Date.now());
      return {
        locked: lock !== undefined,
        ...(lock ? { since: lock.since, reason: lock.reason } : {}),
        refusalsToday: usage.refusalsToday,
        workplace: usage.workplace,
        company: usage.company,
      };
    },
  );

  app.delete(
    '/companies/:cid/workplaces/:wid/call-through-lock',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: "Lift a workplace's call-through lock (and forget today's refusals)",
        params: widParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { cid, wid } = request.params;
      await loadWorkplace(store, cid, wid);
      const lock = await store.callThroughs.lock(wid);
      await store.callThroughs.unlock(wid);
      request.log.info({ workplaceId: wid, wasLocked: lock !== undefined }, 'call-through lock lifted');
      // counted only when there was a lock: a DELETE on an open workplace changes nothing
      if (lock) deps.metrics?.callThroughLock('lifted');
      return reply.code(204).send(null);
    },
  );
};
