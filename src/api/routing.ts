/**
 * Routing explain: POST /companies/{cid}/routing/explain answers "what happens if someone
 * calls?" with the decision trace the call controller would follow (src/calls/decisions/explain.ts runs
 * the controller's own decision functions over a fresh, unshared config cache, so the answer
 * reflects what is stored now). Admins explain any call of their company; an employee only
 * calls that reach their own workplace.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConfigCache } from '../calls/engine/config-cache.js';
import { explainCall, ExplainInputError, type ExplainDeps } from '../calls/decisions/explain.js';
import { type ApiDeps, loadCompany } from './context.js';
import { forbidden, validationError } from './errors.js';
import { cidParams, errorResponses } from './schemas.js';

const dialString = z
  .string()
  .max(32)
  .regex(/^[0-9+*#\s()./-]*$/, 'digits, "+", "*", "#" and separators only');

const explainBody = z.strictObject({
  from: dialString.describe(
    'the caller: a phone number in any form ("" = anonymous), or the extension of a workplace of the company (a call from its desk device)',
  ),
  to: dialString
    .min(1)
    .describe(
      'the dialled number or extension; with `via`: what the caller dials at the portal menu (call-through)',
    ),
  at: z.iso
    .datetime({ offset: true })
    .optional()
    .describe(
      "the instant of the call (default: now): the fraud guard's counting windows (hour, day) are read at it; no other rule depends on the time",
    ),
  via: dialString
    .min(1)
    .optional()
    .describe("an Anywhere portal's number or extension: explain a call-through from `from` via it to `to`"),
});

const legSchema = z.object({
  kind: z.enum(['device', 'external']),
  endpoint: z.string(),
  deviceId: z.string().optional(),
  number: z.string().optional(),
  confirm: z.boolean().optional(),
});
const callStepSchema = z.object({
  action: z.enum(['reject', 'ring', 'forward', 'voicebox', 'release']),
  cause: z.number().optional(),
  reason: z.string().optional(),
  ringSeconds: z.number().optional(),
  legs: z.array(legSchema).optional(),
  leg: legSchema.optional(),
});
const branchesSchema = z.object({
  busy: callStepSchema,
  noanswer: callStepSchema,
  unreachable: callStepSchema,
});

const explanationView = z.object({
  call: z.object({
    kind: z.enum(['inbound', 'internal']),
    from: z.string(),
    callerNumber: z.string(),
    fromWorkplaceId: z.string().optional(),
    to: z.string(),
    via: z.string().optional(),
    at: z.string(),
  }),
  route: z
    .enum(['workplace', 'own-voicebox', 'portal', 'outbound', 'unallocated', 'voicebox-access', 'pull'])
    .describe('where the call goes'),
  workplaceId: z.string().optional(),
  portalId: z.string().optional(),
  plan: z
    .object({
      workplaceId: z.string(),
      callerNumber: z.string(),
      first: callStepSchema,
      ifNobodyAnswers: branchesSchema.optional(),
      ifForwardFails: branchesSchema.optional(),
    })
    .optional()
    .describe('the ring plan of the workplace the call reaches, with what follows each outcome'),
  portal: z
    .object({
      auth: z.enum(['device', 'caller-number']),
      result: z.enum(['admitted', 'pin', 'refused']),
      reason: z.string().optional(),
      workplaceIds: z.array(z.string()),
      pinLockedFor: z.array(z.string()),
      silentMode: z.boolean(),
    })
    .optional(),
  callThrough: z
    .object({
      dialled: z.string(),
      result: z.enum([
        'invalid',
        'blocked',
        'refused-by-guard',
        'internal',
        'external',
        'not-in-silent-mode',
        'not-admitted',
      ]),
      e164: z.string().optional(),
      reason: z.string().optional(),
      callerId: z.string().optional(),
      prompt: z.string().optional().describe('what the caller hears when it does not go through'),
      guard: z
        .object({
          enabled: z.boolean(),
          destinationClass: z.enum(['national', 'international', 'premium-rate']).optional(),
          country: z.string().optional(),
          locked: z.boolean().optional(),
          refusal: z.string().optional().describe('why the fraud guard would refuse it now'),
          usage: z
            .object({
              workplace: z.object({ thisHour: z.number(), active: z.number(), secondsToday: z.number() }),
              company: z.object({ thisHour: z.number(), active: z.number(), secondsToday: z.number() }),
              refusalsToday: z.number(),
            })
            .optional(),
        })
        .optional()
        .describe("the call-through fraud guard's verdict at `at` (external destinations)"),
    })
    .optional(),
  outbound: z
    .object({
      e164: z.string(),
      blocked: z.boolean(),
      profileId: z.string().optional(),
      prefix: z.string().optional(),
      prompt: z.string().optional().describe('what the caller hears when it is blocked'),
    })
    .optional(),
  steps: z.array(
    z.object({
      step: z.string(),
      rule: z.string().describe('the rule behind the decision'),
      outcome: z.string(),
      detail: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

export const routingPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, config } = deps;

  app.post(
    '/companies/:cid/routing/explain',
    {
      config: { scope: 'employee' },
      schema: {
        tags: ['routing'],
        summary: 'What happens if someone calls: the decision trace of the call controller',
        description:
          'Runs the controller’s own decision functions without placing a call. Employees may explain calls to their own workplace only.',
        params: cidParams,
        body: explainBody,
        response: { 200: explanationView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid } = request.params;
      await loadCompany(store, cid);
      const explainDeps: ExplainDeps = {
        lookups: new ConfigCache(store),
        pinFailures: store.pinFailures,
        liveCalls: store.liveCalls,
        // the controller's view of the call-through counters when it runs in this process
        usage: deps.callThroughUsage ?? store.callThroughs,
        config,
      };
      const { from, to, via, at } = request.body;
      let explanation;
      try {
        explanation = await explainCall(explainDeps, {
          companyId: cid,
          from: from.trim(),
          to: to.trim(),
          via: via?.trim(),
          at: at ? new Date(at) : new Date(),
        });
      } catch (err) {
        if (err instanceof ExplainInputError) {
          throw validationError([{ path: err.field, message: err.message }]);
        }
        throw err;
      }
      const principal = request.principal;
      if (principal?.role === 'employee') {
        const own =
          (explanation.route === 'workplace' || explanation.route === 'own-voicebox') &&
          explanation.workplaceId === principal.workplaceId;
        if (!own) throw forbidden('an employee token may only explain calls to its own workplace');
      }
      return explanation;
    },
  );
};
