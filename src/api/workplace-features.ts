/**
 * The call features of one workplace, which its employee may change too: forwarding,
 * parallel ringing, voicebox settings (PIN write-only), caller-ID presentation and the
 * voicebox messages. Only the admin may unlock a locked PIN (DELETE .../voicebox/lock).
 * Features stay editable while the workplace is pending.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ForwardTarget, SelectiveForwardRule, VoiceboxMessage, Workplace } from '../domain/model.js';
import {
  MAX_SELECTIVE_CALLERS,
  MAX_SELECTIVE_RULES,
  validateSelectiveForwarding,
} from '../domain/selective.js';
import { toE164 } from './workplace-draft.js';
import { hashPinAsync, PIN_LOCK_AFTER, previousPinProblem, validatePinStrength } from '../domain/pin.js';
import {
  type ApiDeps,
  DEFAULT_PIN_CHANGE_LIMIT,
  loadWorkplace,
  nowIso,
  repushIfPushedFieldsChanged,
  updateWorkplace,
} from './context.js';
import { ApiError, assertNoIssues, conflict, type FieldIssue, notFound, tooManyRequests } from './errors.js';
import { issuesAt } from './rules.js';
import {
  errorResponses,
  forwardingInput,
  forwardingView,
  forwardTargetInput,
  idSchema,
  parallelRingingInput,
  parallelRingingView,
  voiceboxInput,
  widParams,
} from './schemas.js';
import { normaliseForwarding, normaliseParallelRinging, pinHistory } from './workplace-draft.js';

const midParams = widParams.extend({ mid: idSchema });

const voiceboxStatusView = z.object({
  enabled: z.boolean(),
  mail: z.boolean().describe("new messages are mailed to the workplace's e-mail address"),
  pinSet: z.boolean(),
  locked: z.boolean().describe(`true after ${PIN_LOCK_AFTER} wrong PIN entries in a row, until reset`),
  failedAttempts: z.number(),
  greeting: z.enum(['custom', 'default']),
});
const callerIdSchema = z.strictObject({ presentation: z.enum(['number', 'anonymous']) });
const messageView = z.object({
  id: z.string(),
  workplaceId: z.string(),
  callerNumber: z.string(),
  receivedAt: z.string(),
  durationSeconds: z.number(),
  status: z.enum(['new', 'heard', 'saved']),
});

function toMessageView(m: VoiceboxMessage): z.infer<typeof messageView> {
  const { recordingName: _internal, companyId: _c, ...view } = m;
  return view;
}

/** How many previous PIN hashes are kept for the "not the previous PIN" rule. */
const PIN_HISTORY = 1;

export const workplaceFeaturesPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, config } = deps;
  const tags = ['workplace features'];
  const countryCode = config.COUNTRY_CODE;

  async function voiceboxStatus(w: Workplace): Promise<z.infer<typeof voiceboxStatusView>> {
    const failedAttempts = await store.pinFailures.get(w.id);
    return {
      enabled: w.voicebox.enabled,
      mail: w.voicebox.mail ?? true,
      pinSet: w.voicebox.pinHash !== undefined,
      locked: failedAttempts >= PIN_LOCK_AFTER,
      failedAttempts,
      greeting: w.voicebox.greetingRecording ? 'custom' : 'default',
    };
  }

  // ---------- forwarding ----------
  app.get(
    '/companies/:cid/workplaces/:wid/forwarding',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: forwardingView, ...errorResponses } },
    },
    async (request) => (await loadWorkplace(store, request.params.cid, request.params.wid)).forwarding,
  );

  app.put(
    '/companies/:cid/workplaces/:wid/forwarding',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        summary: 'Replace the forwarding rules (a rule left out is disabled)',
        params: widParams,
        body: forwardingInput,
        response: { 200: forwardingView, ...errorResponses },
      },
    },
    async (request) => {
      const { next } = await updateWorkplace(store, request.params.cid, request.params.wid, (current) => {
        const issues: FieldIssue[] = [];
        const forwarding = normaliseForwarding(
          request.body,
          { countryCode, ownNumber: current.number, voiceboxEnabled: current.voicebox.enabled },
          issues,
        );
        assertNoIssues(issues);
        return { ...current, forwarding, updatedAt: nowIso() };
      });
      return next.forwarding;
    },
  );

  // ---------- parallel ringing ----------
  app.get(
    '/companies/:cid/workplaces/:wid/parallel-ringing',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: parallelRingingView, ...errorResponses } },
    },
    async (request) => (await loadWorkplace(store, request.params.cid, request.params.wid)).parallelRinging,
  );

  app.put(
    '/companies/:cid/workplaces/:wid/parallel-ringing',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        summary: 'Replace parallel ringing (1 to 5 numbers when enabled)',
        params: widParams,
        body: parallelRingingInput,
        response: { 200: parallelRingingView, ...errorResponses },
      },
    },
    async (request) => {
      const { next } = await updateWorkplace(store, request.params.cid, request.params.wid, (current) => {
        const issues: FieldIssue[] = [];
        const parallelRinging = normaliseParallelRinging(
          request.body,
          { countryCode, ownNumber: current.number },
          issues,
        );
        assertNoIssues(issues);
        return { ...current, parallelRinging, updatedAt: nowIso() };
      });
      return next.parallelRinging;
    },
  );

  // ---------- voicebox ----------
  app.get(
    '/companies/:cid/workplaces/:wid/voicebox',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: voiceboxStatusView, ...errorResponses } },
    },
    async (request) => voiceboxStatus(await loadWorkplace(store, request.params.cid, request.params.wid)),
  );

  app.put(
    '/companies/:cid/workplaces/:wid/voicebox',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        summary: 'Enable/disable the voicebox and set a new PIN (write-only; resets the failure counter)',
        params: widParams,
        body: voiceboxInput,
        response: { 200: voiceboxStatusView, ...errorResponses },
      },
    },
    async (request) => {
      const { enabled, pin, mail } = request.body;
      const { cid, wid } = request.params;
      const withMail = (v: Workplace['voicebox']) => (mail === undefined ? v : { ...v, mail });
      // scrypt (hash and the previous-PIN check) runs in the thread pool before the update, so a
      // PIN change never stalls the calls this process handles
      let newPin: { hash: string; checkedAgainst: string | undefined } | undefined;
      if (pin !== undefined) {
        const before = await loadWorkplace(store, cid, wid);
        // counted before any scrypt runs, per workplace (whatever token asks), across processes
        const limit = deps.pinChangeLimit ?? DEFAULT_PIN_CHANGE_LIMIT;
        const verdict = await store.rateLimits.hit(`pin-change:${before.id}`, limit.max, limit.windowMs);
        if (!verdict.allowed) {
          throw tooManyRequests(
            'too many PIN changes for this workplace; try again later',
            verdict.retryAfterMs,
          );
        }
        const problems = validatePinStrength(pin, { extension: before.extension, number: before.number });
        const previous = await previousPinProblem(pin, pinHistory(before.voicebox));
        assertNoIssues(issuesAt('pin', previous ? [...problems, previous] : problems));
        newPin = { hash: await hashPinAsync(pin), checkedAgainst: before.voicebox.pinHash };
      }
      const { next } = await updateWorkplace(store, cid, wid, (current) => {
        if (!newPin)
          return { ...current, voicebox: withMail({ ...current.voicebox, enabled }), updatedAt: nowIso() };
        // another PIN change landed meanwhile: its PIN was not checked against — ask again
        if (current.voicebox.pinHash !== newPin.checkedAgainst) {
          throw conflict('pin', 'the PIN was changed at the same time; please retry');
        }
        return {
          ...current,
          voicebox: withMail({
            ...current.voicebox,
            enabled,
            pinHash: newPin.hash,
            previousPinHashes: pinHistory(current.voicebox).slice(0, PIN_HISTORY),
          }),
          updatedAt: nowIso(),
        };
      });
      if (pin !== undefined) await store.pinFailures.reset(next.id);
      return voiceboxStatus(next);
    },
  );

  app.delete(
    '/companies/:cid/workplaces/:wid/voicebox/lock',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Unlock a PIN locked after too many wrong entries (admin only)',
        params: widParams,
        response: { 200: voiceboxStatusView, ...errorResponses },
      },
    },
    async (request) => {
      const workplace = await loadWorkplace(store, request.params.cid, request.params.wid);
      await store.pinFailures.reset(workplace.id);
      return voiceboxStatus(workplace);
    },
  );

  // ---------- caller ID ----------
  app.get(
    '/companies/:cid/workplaces/:wid/caller-id',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: callerIdSchema, ...errorResponses } },
    },
    async (request) => ({
      presentation: (await loadWorkplace(store, request.params.cid, request.params.wid)).callerIdPresentation,
    }),
  );

  app.put(
    '/companies/:cid/workplaces/:wid/caller-id',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        params: widParams,
        body: callerIdSchema,
        response: { 200: callerIdSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { next, previous } = await updateWorkplace(
        store,
        request.params.cid,
        request.params.wid,
        (current) => ({
          ...current,
          callerIdPresentation: request.body.presentation,
          updatedAt: nowIso(),
        }),
      );
      // the social numbers (116xxx) are dialled by Asterisk itself, which reads the setting from
      // the device's endpoint
      await repushIfPushedFieldsChanged(deps, previous, next);
      return { presentation: next.callerIdPresentation };
    },
  );

  // ---------- availability: do-not-disturb and opening hours ----------
  const availabilityView = z.object({
    doNotDisturb: z.boolean(),
    scheduleId: z.string().optional(),
    closedTarget: z.union([z.literal('voicebox'), z.object({ number: z.string() })]).optional(),
  });
  const availabilityInput = z.strictObject({
    doNotDisturb: z.boolean().describe('callers go to the voicebox, or hear busy when it is off'),
    scheduleId: idSchema.nullable().optional().describe('the schedule whose opening hours apply; null: none'),
    closedTarget: forwardTargetInput
      .optional()
      .describe('where calls go while the schedule is closed (default: the voicebox)'),
  });
  const toAvailability = (w: Workplace): z.infer<typeof availabilityView> => ({
    doNotDisturb: w.doNotDisturb ?? false,
    ...(w.scheduleId !== undefined ? { scheduleId: w.scheduleId } : {}),
    ...(w.closedTarget !== undefined ? { closedTarget: w.closedTarget } : {}),
  });

  app.get(
    '/companies/:cid/workplaces/:wid/availability',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: availabilityView, ...errorResponses } },
    },
    async (request) => toAvailability(await loadWorkplace(store, request.params.cid, request.params.wid)),
  );

  app.put(
    '/companies/:cid/workplaces/:wid/availability',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        params: widParams,
        body: availabilityInput,
        response: { 200: availabilityView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, wid } = request.params;
      const body = request.body;
      const issues: FieldIssue[] = [];
      if (body.scheduleId && !(await store.schedules.get(cid, body.scheduleId)))
        issues.push({ path: 'scheduleId', message: 'no such schedule in this company' });
      const { next } = await updateWorkplace(store, cid, wid, (current) => {
        const { scheduleId: _s, closedTarget: _t, doNotDisturb: _d, ...rest } = current;
        const scheduleId =
          body.scheduleId === undefined ? current.scheduleId : (body.scheduleId ?? undefined);
        // a target given is always checked; the default one only for a schedule that exists
        // (an unknown schedule is one problem, not two)
        const closedTarget =
          body.closedTarget !== undefined || (scheduleId && issues.length === 0)
            ? checkedTarget(
                body.closedTarget ?? current.closedTarget ?? 'voicebox',
                current,
                issues,
                'closedTarget',
              )
            : undefined;
        assertNoIssues(issues);
        return {
          ...rest,
          ...(body.doNotDisturb ? { doNotDisturb: true } : {}),
          ...(scheduleId !== undefined ? { scheduleId } : {}),
          ...(scheduleId !== undefined && closedTarget !== undefined ? { closedTarget } : {}),
          updatedAt: nowIso(),
        };
      });
      return toAvailability(next);
    },
  );

  // ---------- selective forwarding: rules by caller ----------
  const selectiveTargetView = z.union([z.literal('voicebox'), z.object({ number: z.string() })]);
  const selectiveView = z.object({
    rules: z.array(
      z.object({
        enabled: z.boolean(),
        callers: z.array(z.string()),
        anonymous: z.boolean(),
        target: selectiveTargetView,
      }),
    ),
  });
  const selectiveInput = z.strictObject({
    rules: z
      .array(
        z.strictObject({
          enabled: z.boolean().default(true),
          callers: z
            .array(z.string().max(32))
            .max(MAX_SELECTIVE_CALLERS + 1)
            .default([])
            .describe('numbers (any form; stored as E.164) or E.164 prefixes ending in "*", e.g. "+4930*"'),
          anonymous: z.boolean().default(false).describe('also callers who withhold their number'),
          target: forwardTargetInput,
        }),
      )
      .max(MAX_SELECTIVE_RULES + 1)
      .describe('first enabled rule naming the caller wins; before opening hours and every other forwarding'),
  });

  app.get(
    '/companies/:cid/workplaces/:wid/selective-forwarding',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: selectiveView, ...errorResponses } },
    },
    async (request) => ({
      rules: (await loadWorkplace(store, request.params.cid, request.params.wid)).selectiveForwarding ?? [],
    }),
  );

  app.put(
    '/companies/:cid/workplaces/:wid/selective-forwarding',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        params: widParams,
        body: selectiveInput,
        response: { 200: selectiveView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, wid } = request.params;
      const { next } = await updateWorkplace(store, cid, wid, (current) => {
        const issues: FieldIssue[] = [];
        const rules: SelectiveForwardRule[] = request.body.rules.map((rule, i) => ({
          enabled: rule.enabled,
          anonymous: rule.anonymous,
          // a prefix keeps its "*"; numbers in national form become E.164 like everywhere else
          callers: rule.callers.map((c) => prefixOrNumber(c, countryCode)),
          target: checkedTarget(rule.target, current, issues, `rules.${i}.target`),
        }));
        issues.push(...validateSelectiveForwarding(rules, { countryCode }));
        assertNoIssues(issues);
        const { selectiveForwarding: _old, ...rest } = current;
        return { ...rest, ...(rules.length ? { selectiveForwarding: rules } : {}), updatedAt: nowIso() };
      });
      return { rules: next.selectiveForwarding ?? [] };
    },
  );

  /**
   * A caller entry as stored: a number in E.164, or a prefix ending in "*" normalised the same
   * way ("030*" → "+4930*", "0049 89*" → "+4989*"); what cannot be read stays as typed, so the
   * validation names it.
   */
  function prefixOrNumber(entry: string, cc: string): string {
    const trimmed = entry.trim();
    if (!trimmed.endsWith('*')) return toE164(trimmed, cc);
    const digits = trimmed.slice(0, -1).replace(/[\s/().-]/g, '');
    if (/^\+\d+$/.test(digits)) return `${digits}*`;
    if (/^00\d+$/.test(digits)) return `+${digits.slice(2)}*`;
    if (/^0\d+$/.test(digits)) return `+${cc}${digits.slice(1)}*`;
    return trimmed;
  }

  /** a target checked like a forward-always target (E.164, not the own number, voicebox on) */
  function checkedTarget(
    target: z.infer<typeof forwardTargetInput>,
    current: Workplace,
    issues: FieldIssue[],
    path: string,
  ): ForwardTarget {
    const probe: FieldIssue[] = [];
    const forwarding = normaliseForwarding(
      { always: { enabled: true, target } },
      { countryCode, ownNumber: current.number, voiceboxEnabled: current.voicebox.enabled },
      probe,
    );
    for (const issue of probe)
      issues.push({ path: issue.path.replace(/^always\.target/, path), message: issue.message });
    return forwarding.always.target ?? 'voicebox';
  }

  // ---------- voicebox messages ----------
  async function loadMessage(cid: string, wid: string, mid: string): Promise<VoiceboxMessage> {
    const workplace = await loadWorkplace(store, cid, wid);
    const message = await store.voicebox.get(workplace.id, mid);
    if (!message || message.companyId !== cid) throw notFound('voicebox message');
    return message;
  }

  app.get(
    '/companies/:cid/workplaces/:wid/voicebox/messages',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: z.array(messageView), ...errorResponses } },
    },
    async (request) => {
      const workplace = await loadWorkplace(store, request.params.cid, request.params.wid);
      return (await store.voicebox.list(workplace.id)).map(toMessageView);
    },
  );

  app.get(
    '/companies/:cid/workplaces/:wid/voicebox/messages/:mid',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: midParams, response: { 200: messageView, ...errorResponses } },
    },
    async (request) =>
      toMessageView(await loadMessage(request.params.cid, request.params.wid, request.params.mid)),
  );

  app.get(
    '/companies/:cid/workplaces/:wid/voicebox/messages/:mid/audio',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        summary: 'The recorded audio (audio/wav)',
        params: midParams,
        produces: ['audio/wav'],
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const message = await loadMessage(request.params.cid, request.params.wid, request.params.mid);
      if (!deps.recordings)
        throw new ApiError(503, 'unavailable', 'voicebox audio storage (Asterisk) is not configured');
      const file = await deps.recordings.getFile(message.recordingName);
      if (!file) throw notFound('recording');
      // a Buffer bypasses the JSON serializer; the route's response schemas only describe errors
      return reply
        .header('content-type', file.contentType)
        .header('cache-control', 'private, no-store')
        .send(file.body as never);
    },
  );

  app.patch(
    '/companies/:cid/workplaces/:wid/voicebox/messages/:mid',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        params: midParams,
        body: z.strictObject({ status: z.enum(['heard', 'saved']) }),
        response: { 200: messageView, ...errorResponses },
      },
    },
    async (request) => {
      const message = await loadMessage(request.params.cid, request.params.wid, request.params.mid);
      const next: VoiceboxMessage = { ...message, status: request.body.status };
      await store.voicebox.update(next);
      return toMessageView(next);
    },
  );

  app.delete(
    '/companies/:cid/workplaces/:wid/voicebox/messages/:mid',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: midParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const message = await loadMessage(request.params.cid, request.params.wid, request.params.mid);
      await store.voicebox.delete(message.workplaceId, message.id);
      await deps.recordings?.delete(message.recordingName);
      return reply.code(204).send(null);
    },
  );
};
