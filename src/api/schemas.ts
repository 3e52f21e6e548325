/**
 * Zod schemas shared by the resource plugins: ids, request sub-objects (SPEC "Request shapes")
 * and the response views. Pure field rules of the domain run inside the schemas, so one 400
 * names every failing field (shape errors and rule errors together). Rules that need the
 * store or other fields (number in the group's ranges, PIN vs. extension) run in the handlers.
 */
import { z } from 'zod';
import type { Device, Workplace } from '../domain/model.js';
import {
  MAX_DEVICES,
  MAX_PARALLEL_NUMBERS,
  RING_SECONDS,
  validateEmail,
  validateExtension,
  validateFirstName,
  validateLastName,
  validateUsername,
} from '../domain/workplace-rules.js';
import { validatePinStrength } from '../domain/pin.js';
import { type FieldIssue, zodFieldIssues } from './errors.js';
import { validateNumberRanges } from '../domain/numbers.js';
import { indexedIssues, isTimezone, rangeIssues } from './rules.js';

const ARTICLE: Record<string, string> = { array: 'an array', object: 'an object', int: 'an integer' };
/**
 * Plain messages for shape errors in every 400 ("is required", "must be a number") instead of
 * zod's generic "Invalid input: expected string, received undefined".
 */
z.config({
  customError: (issue) => {
    if (issue.code !== 'invalid_type') return undefined;
    if (issue.input === undefined) return 'is required';
    return `must be ${ARTICLE[issue.expected] ?? `a ${issue.expected}`}`;
  },
});

/**
 * Parses a body with an object schema; on failure, also returns the top-level fields that
 * passed, so a handler can run its context checks on them and answer ONE 400 naming every
 * problem (schema and company rules together). Routes using it set `attachValidation: true`.
 */
export function parseReportingAll<S extends z.ZodObject>(
  schema: S,
  raw: unknown,
  prefix = '',
): { data?: z.infer<S>; valid: Partial<z.infer<S>>; issues: FieldIssue[] } {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { data: parsed.data, valid: parsed.data, issues: [] };
  const failed = new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '')));
  const shape = schema.shape as Record<string, unknown>;
  const passed =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? Object.fromEntries(Object.entries(raw).filter(([k]) => k in shape && !failed.has(k)))
      : {};
  const partial = schema.partial().safeParse(passed);
  return {
    valid: (partial.success ? partial.data : {}) as Partial<z.infer<S>>,
    issues: zodFieldIssues(parsed.error.issues, prefix),
  };
}

/** Adds each message of a domain validator as an issue on the field. */
export function rule(validate: (value: string) => string[]) {
  return (value: string, ctx: z.RefinementCtx) => {
    for (const message of validate(value)) ctx.addIssue({ code: 'custom', message });
  };
}

/**
 * Characters no free-text field may hold: C0/C1 controls (NUL, tab, CR, LF, ESC, ...), line and
 * paragraph separators, bidi marks/embeddings/overrides/isolates (U+061C, U+200E/F, U+202A–E,
 * U+2066–9: "Trojan source" names that display reversed), zero-width characters (U+200B–D,
 * U+2060) and the BOM. They break caller-ID display, CSV exports and log lines, and let two
 * names that look alike differ.
 */
const FORBIDDEN_IN_TEXT = /[\p{Cc}\u061C\u200B-\u200F\u2028-\u202E\u2060\u2066-\u2069\uFEFF]/u;
const FORBIDDEN_IN_TEXT_ALL = new RegExp(FORBIDDEN_IN_TEXT.source, 'gu');
/** What a reader cannot see: whitespace and the invisible characters above. */
const INVISIBLE = /^[\s\p{Cc}\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]*$/u;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The free-text rule shared by every text field: a value of only invisible characters is
 * missing ("is required"); control and invisible characters are refused, each named.
 */
export function textProblems(value: string): string[] {
  if (INVISIBLE.test(value)) return ['is required'];
  const found = [...new Set(value.match(FORBIDDEN_IN_TEXT_ALL) ?? [])];
  if (found.length === 0) return [];
  const shown = found.slice(0, 5).map(codePoint).join(', ');
  return [`must not contain control or invisible characters (${shown}${found.length > 5 ? ', ...' : ''})`];
}

/** A domain validator that runs only on text that passed the free-text rule (one message per problem). */
export function textRule(validate?: (value: string) => string[]) {
  return rule((value) => {
    const problems = textProblems(value);
    return problems.length > 0 || !validate ? problems : validate(value);
  });
}

/** A free-text field (names, labels): the shared text rule, trimmed, 1 to `max` characters. */
export function textSchema(max: number) {
  return z.string().superRefine(textRule()).trim().max(max);
}
/** The name of a company, group, area, blocking profile or template. */
export const nameSchema = textSchema(100);
/** A secret typed by a person (SIP password): no control or invisible characters either. */
export const secretTextSchema = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine(rule((v) => (v === '' ? [] : textProblems(v).filter((m) => m !== 'is required'))));

export const idSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a valid id');
export const timestampSchema = z.string();

export const cidParams = z.object({ cid: idSchema });
export const widParams = z.object({ cid: idSchema, wid: idSchema });

export const timezoneSchema = z
  .string()
  .min(1)
  .superRefine((tz, ctx) => {
    if (!isTimezone(tz)) ctx.addIssue({ code: 'custom', message: `unknown IANA timezone "${tz}"` });
  });
export const languageSchema = z.enum(['de', 'en']);
export const usernameSchema = z.string().superRefine(textRule(validateUsername));
export const firstNameSchema = z.string().superRefine(textRule(validateFirstName));
export const lastNameSchema = z.string().superRefine(textRule(validateLastName));
export const emailSchema = z.string().superRefine(textRule(validateEmail));
/** A phone number as typed; normalised to E.164 with COUNTRY_CODE in the handler. */
export const phoneInput = z.string().min(1).max(40).superRefine(textRule());
/** The extension rules that hold for every company; mobile integration adds more in the handler. */
export const extensionInput = z
  .string()
  .superRefine(rule((v) => validateExtension(v, { mobileIntegration: false })));
/** The PIN rules without context; extension, number and previous PINs are checked in the handler. */
export const pinInput = z.string().superRefine(rule((v) => validatePinStrength(v)));

export const deviceTypeSchema = z.enum(['deskphone', 'desktop', 'mobile', 'tablet', 'universal']);
export const deviceProfileSchema = z.strictObject({
  type: deviceTypeSchema,
  model: textSchema(60).optional().describe('desk phone model, e.g. "Yealink T54W"'),
});
export const deviceInputSchema = deviceProfileSchema.extend({
  password: secretTextSchema(128).optional().describe('admin-chosen SIP password instead of a generated one'),
});
export const devicesInput = z.array(deviceInputSchema).max(MAX_DEVICES, `at most ${MAX_DEVICES} devices`);
export const deviceProfilesInput = z
  .array(deviceProfileSchema)
  .max(MAX_DEVICES, `at most ${MAX_DEVICES} devices`);

/** `"voicebox"`, `{ "number": "+49..." }` or, for convenience, a plain number string. */
export const forwardTargetInput = z.union([
  z.literal('voicebox'),
  z.strictObject({ number: phoneInput }),
  phoneInput,
]);
const ruleInput = z.strictObject({ enabled: z.boolean(), target: forwardTargetInput.optional() });
export const forwardingInput = z.strictObject({
  always: ruleInput.optional(),
  busy: ruleInput.optional(),
  noAnswer: ruleInput
    .extend({ ringSeconds: z.number().int().min(RING_SECONDS.min).max(RING_SECONDS.max).optional() })
    .optional(),
  unreachable: ruleInput.optional(),
});
export type ForwardingInput = z.infer<typeof forwardingInput>;

export const parallelRingingInput = z.strictObject({
  enabled: z.boolean(),
  numbers: z
    .array(
      z.union([
        phoneInput,
        z.strictObject({
          number: phoneInput,
          delaySeconds: z.number().optional().describe('ring this number only after this many seconds'),
          notWhileOnCall: z.boolean().optional().describe('not while the workplace is on a call'),
        }),
      ]),
    )
    .max(MAX_PARALLEL_NUMBERS, `at most ${MAX_PARALLEL_NUMBERS} numbers`)
    .default([]),
  answerConfirmation: z.boolean().default(false),
});
export type ParallelRingingInput = z.infer<typeof parallelRingingInput>;

export const voiceboxInput = z.strictObject({
  enabled: z.boolean(),
  mail: z
    .boolean()
    .optional()
    .describe("each new message is mailed to the workplace's e-mail address with its WAV (default: on)"),
  pin: pinInput.optional().describe('write-only; stored as a hash'),
});

// ---------- response views ----------

export const errorSchema = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const forwardTargetView = z.union([z.literal('voicebox'), z.object({ number: z.string() })]);
const ruleView = z.object({ enabled: z.boolean(), target: forwardTargetView.optional() });
export const forwardingView = z.object({
  always: ruleView,
  busy: ruleView,
  noAnswer: ruleView.extend({ ringSeconds: z.number() }),
  unreachable: ruleView,
});
export const parallelRingingView = z.object({
  enabled: z.boolean(),
  numbers: z.array(z.string()),
  answerConfirmation: z.boolean(),
  options: z
    .record(
      z.string(),
      z.object({ delaySeconds: z.number().optional(), notWhileOnCall: z.boolean().optional() }),
    )
    .optional()
    .describe('per number: a delay before it rings, not while on a call'),
});
export const deviceView = z.object({
  id: z.string(),
  type: deviceTypeSchema,
  model: z.string().optional(),
  sipUsername: z.string().describe('PJSIP endpoint name'),
  sipPassword: z.string().optional().describe('only in create / regenerate responses'),
  createdAt: timestampSchema,
});
export const voiceboxView = z.object({
  enabled: z.boolean(),
  mail: z.boolean(),
  pinSet: z.boolean(),
  greeting: z.enum(['custom', 'default']),
});
export const workplaceView = z.object({
  id: z.string(),
  companyId: z.string(),
  groupId: z.string(),
  areaId: z.string().optional(),
  templateId: z.string().optional(),
  firstName: z.string(),
  lastName: z.string(),
  email: z.string(),
  username: z.string(),
  number: z.string(),
  extension: z.string(),
  language: languageSchema,
  timezone: z.string(),
  status: z.enum(['pending', 'active', 'failed']),
  statusReason: z.string().optional(),
  blockingProfileId: z.string().optional(),
  callerIdPresentation: z.enum(['number', 'anonymous']),
  nomadicUse: z.enum(['allowed', 'restricted']),
  devices: z.array(deviceView),
  parallelRinging: parallelRingingView,
  forwarding: forwardingView,
  voicebox: voiceboxView,
  doNotDisturb: z.boolean().optional(),
  scheduleId: z.string().optional(),
  closedTarget: forwardTargetView.optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type WorkplaceView = z.infer<typeof workplaceView>;

export function toDeviceView(d: Device, withPassword = false): z.infer<typeof deviceView> {
  return {
    id: d.id,
    type: d.type,
    ...(d.model !== undefined ? { model: d.model } : {}),
    sipUsername: d.sipUsername,
    ...(withPassword ? { sipPassword: d.sipPassword } : {}),
    createdAt: d.createdAt,
  };
}

/** The workplace as the API shows it: no PIN hash; SIP passwords only when asked (create/regenerate). */
export function toWorkplaceView(w: Workplace, withPasswords = false): WorkplaceView {
  const { voicebox, devices, ...rest } = w;
  return {
    ...rest,
    nomadicUse: w.nomadicUse ?? 'allowed',
    devices: devices.map((d) => toDeviceView(d, withPasswords)),
    voicebox: {
      enabled: voicebox.enabled,
      mail: voicebox.mail ?? true,
      pinSet: voicebox.pinHash !== undefined,
      greeting: voicebox.greetingRecording ? 'custom' : 'default',
    },
  };
}

export const companyView = z.object({
  id: z.string(),
  name: z.string(),
  defaultBlockingProfileId: z.string().optional(),
  mobileIntegration: z.boolean(),
  mainNumber: z.string().optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export const numberRangeSchema = z.strictObject({ first: z.string(), last: z.string() });
/** A group's ranges with the domain's pure range rules (each range, overlaps inside the list). */
export const numberRangesInput = z
  .array(numberRangeSchema)
  .max(50)
  .superRefine((ranges, ctx) => {
    const own = ranges.flatMap((r, i) => rangeIssues(String(i), r));
    const problems = own.length > 0 ? own : indexedIssues('', validateNumberRanges(ranges));
    for (const issue of problems) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path.split('.').filter(Boolean) });
    }
  });
export const groupView = z.object({
  id: z.string(),
  companyId: z.string(),
  name: z.string(),
  timezone: z.string(),
  numberRanges: z.array(z.object({ first: z.string(), last: z.string() })),
  blockingProfileId: z.string().optional(),
  isDefault: z.boolean(),
  address: z
    .object({ street: z.string(), postalCode: z.string(), city: z.string(), country: z.string() })
    .optional(),
  networks: z.array(z.string()).optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export const areaView = z.object({
  id: z.string(),
  companyId: z.string(),
  groupId: z.string(),
  name: z.string(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export const blockingProfileView = z.object({
  id: z.string(),
  companyId: z.string(),
  name: z.string(),
  incoming: z.array(z.string()),
  outgoing: z.array(z.string()),
  forwarded: z.array(z.string()),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export const templateView = z.object({
  id: z.string(),
  companyId: z.string(),
  name: z.string(),
  groupId: z.string().optional(),
  areaId: z.string().optional(),
  blockingProfileId: z.string().optional(),
  language: languageSchema.optional(),
  timezone: z.string().optional(),
  devices: z.array(z.object({ type: deviceTypeSchema, model: z.string().optional() })),
  parallelRinging: parallelRingingView.optional(),
  forwarding: forwardingView.optional(),
  voiceboxEnabled: z.boolean().optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export const portalView = z.object({
  id: z.string(),
  companyId: z.string(),
  groupId: z.string(),
  areaId: z.string().optional(),
  displayFirstName: z.string(),
  displayLastName: z.string(),
  number: z.string(),
  extension: z.string(),
  timezone: z.string(),
  level: z.enum(['company', 'group']),
  silentMode: z.boolean(),
  pinRequired: z.boolean(),
  blockingProfileId: z.string().optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export const tokenView = z.object({
  id: z.string(),
  companyId: z.string(),
  role: z.enum(['admin', 'employee']),
  workplaceId: z.string().optional(),
  createdAt: timestampSchema,
  accountId: z
    .string()
    .optional()
    .describe("minted from this web account's session: deleted with the account and on its password reset"),
});

/** Standard error responses for the OpenAPI document. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const;
