/**
 * Turning a create request (JSON body or CSV row) into a complete Workplace, checking every
 * rule that needs the company's data: template, group and its ranges, area, blocking profile,
 * extension, parallel-ringing and forwarding numbers, PIN strength, device credentials.
 * Collects every problem instead of stopping at the first; the store later claims number,
 * extension and username atomically (409 on a race).
 */
import { z } from 'zod';
import type {
  Area,
  BlockingProfile,
  Company,
  Device,
  ForwardRule,
  ForwardTarget,
  Forwarding,
  Group,
  ParallelRinging,
  Template,
  Workplace,
} from '../domain/model.js';
import {
  FORWARD_RULES,
  type FeatureContext,
  validateForwarding,
  validateParallelRinging,
} from '../domain/features.js';
import { normaliseNumber } from '../domain/numbers.js';
import { hashPinAsync, validatePinStrength } from '../domain/pin.js';
import { nestIssues } from '../domain/validation.js';
import { defaultExtension, RING_SECONDS, validateExtension } from '../domain/workplace-rules.js';
import type { Store } from '../store/store.js';
import { generateSipPassword, nextSipUsername, validateChosenSipPassword } from './credentials.js';
import { newId, nowIso } from './context.js';
import type { FieldIssue } from './errors.js';
import { issuesAt, normalisedNumber, numberInGroup } from './rules.js';
import {
  deviceInputSchema,
  devicesInput,
  emailSchema,
  extensionInput,
  firstNameSchema,
  type ForwardingInput,
  forwardingInput,
  idSchema,
  languageSchema,
  lastNameSchema,
  type ParallelRingingInput,
  parallelRingingInput,
  parseReportingAll,
  phoneInput,
  timezoneSchema,
  usernameSchema,
  voiceboxInput,
} from './schemas.js';

export const workplaceCreateBody = z.strictObject({
  firstName: firstNameSchema,
  lastName: lastNameSchema,
  email: emailSchema,
  username: usernameSchema,
  groupId: idSchema.optional().describe("defaults to the template's group, else the company's default group"),
  areaId: idSchema.optional(),
  templateId: idSchema
    .optional()
    .describe('takes group, area, blocking profile, devices and features from it'),
  number: phoneInput,
  extension: extensionInput.optional().describe("defaults to the number's last 4 digits"),
  language: languageSchema.optional(),
  timezone: timezoneSchema.optional(),
  blockingProfileId: idSchema.optional(),
  callerIdPresentation: z.enum(['number', 'anonymous']).optional(),
  devices: devicesInput.optional(),
  parallelRinging: parallelRingingInput.optional(),
  forwarding: forwardingInput.optional(),
  voicebox: voiceboxInput.optional(),
});
export type WorkplaceCreateInput = z.infer<typeof workplaceCreateBody>;
export type DeviceInput = z.infer<typeof deviceInputSchema>;

/** The company's configuration a workplace is checked against, loaded once per request/import. */
export interface CompanyContext {
  company: Company;
  groups: Group[];
  areas: Area[];
  profiles: BlockingProfile[];
  templates: Template[];
  countryCode: string;
}

export async function loadCompanyContext(
  store: Store,
  company: Company,
  countryCode: string,
): Promise<CompanyContext> {
  const [groups, areas, profiles, templates] = await Promise.all([
    store.groups.list(company.id),
    store.areas.list(company.id),
    store.blockingProfiles.list(company.id),
    store.templates.list(company.id),
  ]);
  return { company, groups, areas, profiles, templates, countryCode };
}

const at = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

export function disabledForwarding(): Forwarding {
  return {
    always: { enabled: false },
    busy: { enabled: false },
    noAnswer: { enabled: false, ringSeconds: RING_SECONDS.default },
    unreachable: { enabled: false },
  };
}

/** E.164 when the input can be normalised; otherwise the input, so the domain validator names the problem. */
export function toE164(input: string, countryCode: string): string {
  return normaliseNumber(input, { countryCode }) ?? input.trim();
}

function normaliseTarget(
  target: 'voicebox' | { number: string } | string | undefined,
  countryCode: string,
): ForwardTarget | undefined {
  if (target === undefined || target === 'voicebox') return target;
  return { number: toE164(typeof target === 'string' ? target : target.number, countryCode) };
}

/**
 * PUT semantics: a rule left out is disabled. Numbers are normalised to E.164, then the
 * domain's validateForwarding names every problem (target required, loop, ring time, ...).
 */
export function normaliseForwarding(
  input: ForwardingInput,
  ctx: { countryCode: string; ownNumber?: string | undefined; voiceboxEnabled?: boolean | undefined },
  issues: FieldIssue[],
  prefix = '',
): Forwarding {
  const result = disabledForwarding();
  for (const kind of FORWARD_RULES) {
    const rule = input[kind];
    if (!rule) continue;
    const target = normaliseTarget(rule.target, ctx.countryCode);
    const normalised: ForwardRule = { enabled: rule.enabled, ...(target !== undefined ? { target } : {}) };
    if (kind === 'noAnswer') {
      const ringSeconds = (rule as { ringSeconds?: number }).ringSeconds ?? RING_SECONDS.default;
      result.noAnswer = { ...normalised, ringSeconds };
    } else {
      result[kind] = normalised;
    }
  }
  issues.push(...nestIssues(prefix, validateForwarding(result, featureContext(ctx))));
  return result;
}

function featureContext(ctx: {
  countryCode: string;
  ownNumber?: string | undefined;
  voiceboxEnabled?: boolean | undefined;
}): FeatureContext {
  return {
    countryCode: ctx.countryCode,
    ...(ctx.ownNumber !== undefined ? { ownNumber: ctx.ownNumber } : {}),
    ...(ctx.voiceboxEnabled !== undefined ? { voiceboxEnabled: ctx.voiceboxEnabled } : {}),
  };
}

/** Numbers normalised to E.164, then the domain's validateParallelRinging (1–5, no duplicates, not the own number). */
export function normaliseParallelRinging(
  input: ParallelRingingInput,
  ctx: { countryCode: string; ownNumber?: string | undefined },
  issues: FieldIssue[],
  prefix = '',
): ParallelRinging {
  const options: NonNullable<ParallelRinging['options']> = {};
  const numbers = input.numbers.map((entry) => {
    if (typeof entry === 'string') return toE164(entry, ctx.countryCode);
    const number = toE164(entry.number, ctx.countryCode);
    const { number: _n, ...rest } = entry;
    const set = Object.fromEntries(
      Object.entries(rest).filter(([, v]) => v !== undefined && v !== false && v !== 0),
    );
    if (Object.keys(set).length > 0) options[number] = set;
    return number;
  });
  const result: ParallelRinging = {
    enabled: input.enabled,
    numbers,
    answerConfirmation: input.answerConfirmation,
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
  issues.push(...nestIssues(prefix, validateParallelRinging(result, featureContext(ctx))));
  return result;
}

/**
 * New devices with their SIP credentials. A chosen password is checked; otherwise a strong
 * random one is generated. Existing devices keep their SIP usernames.
 */
export function newDevices(
  inputs: readonly DeviceInput[],
  username: string,
  existing: readonly Device[],
  issues: FieldIssue[],
  /** where device i's fields are reported ("devices.2"; "" for a single device body) */
  pathOf: (index: number) => string = (i) => `devices.${i}`,
): Device[] {
  const created: Device[] = [];
  inputs.forEach((input, i) => {
    const path = pathOf(i);
    if (input.type === 'deskphone' && !input.model) {
      issues.push({ path: at(path, 'model'), message: 'is required for a desk phone' });
    }
    if (input.password !== undefined) {
      issues.push(...issuesAt(at(path, 'password'), validateChosenSipPassword(input.password, username)));
    }
    created.push({
      id: newId(),
      type: input.type,
      ...(input.model ? { model: input.model } : {}),
      sipUsername: nextSipUsername(username, [...existing, ...created]),
      sipPassword: input.password ?? generateSipPassword(),
      createdAt: nowIso(),
    });
  });
  return created;
}

/** The previous PIN hashes a new PIN is compared with: the current one and the one before. */
export function pinHistory(voicebox: Workplace['voicebox']): string[] {
  return [...(voicebox.pinHash ? [voicebox.pinHash] : []), ...(voicebox.previousPinHashes ?? [])];
}

export function validateExtensionFor(company: Company, extension: string, path: string): FieldIssue[] {
  return issuesAt(path, validateExtension(extension, { mobileIntegration: company.mobileIntegration }));
}

/**
 * The draft with its voicebox PIN hashed (scrypt in the thread pool). Called only for drafts
 * that will be stored: hashing is deliberately slow.
 */
export async function withPinHash(
  workplace: Workplace,
  input: Pick<WorkplaceCreateInput, 'voicebox'> | undefined,
): Promise<Workplace> {
  const pin = input?.voicebox?.pin;
  if (pin === undefined) return workplace;
  return { ...workplace, voicebox: { ...workplace.voicebox, pinHash: await hashPinAsync(pin) } };
}

/**
 * Builds the workplace of a create request (status pending). `prefix` is prepended to every
 * issue path ("rows[3]" for the CSV import).
 */
export function draftWorkplace(
  input: Partial<WorkplaceCreateInput>,
  ctx: CompanyContext,
  issues: FieldIssue[],
  prefix = '',
): Workplace | undefined {
  const p = (field: string) => at(prefix, field);
  const before = issues.length;
  const { company } = ctx;

  let template: Template | undefined;
  if (input.templateId !== undefined) {
    template = ctx.templates.find((t) => t.id === input.templateId);
    if (!template) issues.push({ path: p('templateId'), message: 'no such template in this company' });
  }

  const groupId = input.groupId ?? template?.groupId;
  const group =
    groupId !== undefined ? ctx.groups.find((g) => g.id === groupId) : ctx.groups.find((g) => g.isDefault);
  if (!group) {
    issues.push({
      path: p('groupId'),
      message:
        groupId !== undefined
          ? 'no such group in this company'
          : 'the company has no default group; create a group first',
    });
  }

  const areaId = input.areaId ?? template?.areaId;
  if (areaId !== undefined) {
    const area = ctx.areas.find((a) => a.id === areaId);
    if (!area) issues.push({ path: p('areaId'), message: 'no such area in this company' });
    else if (group && area.groupId !== group.id)
      issues.push({ path: p('areaId'), message: 'the area belongs to another group' });
  }

  const blockingProfileId = input.blockingProfileId ?? template?.blockingProfileId;
  if (blockingProfileId !== undefined && !ctx.profiles.some((b) => b.id === blockingProfileId)) {
    issues.push({ path: p('blockingProfileId'), message: 'no such blocking profile in this company' });
  }

  const number =
    input.number !== undefined
      ? normalisedNumber(input.number, p('number'), ctx.countryCode, issues)
      : undefined;
  if (number !== undefined && group && !numberInGroup(number, group.numberRanges)) {
    issues.push({ path: p('number'), message: `is not inside the number ranges of group "${group.name}"` });
  }

  const extension = input.extension ?? (number !== undefined ? defaultExtension(number) : undefined);
  if (extension !== undefined) issues.push(...validateExtensionFor(company, extension, p('extension')));

  const parallelRinging = input.parallelRinging
    ? normaliseParallelRinging(
        input.parallelRinging,
        { countryCode: ctx.countryCode, ownNumber: number },
        issues,
        p('parallelRinging'),
      )
    : (template?.parallelRinging ?? { enabled: false, numbers: [], answerConfirmation: false });
  if (!input.parallelRinging && number !== undefined && parallelRinging.numbers.includes(number)) {
    issues.push({ path: p('number'), message: "is one of the template's parallel-ringing numbers" });
  }

  const voiceboxEnabled = input.voicebox?.enabled ?? template?.voiceboxEnabled ?? false;
  const forwarding = input.forwarding
    ? normaliseForwarding(
        input.forwarding,
        { countryCode: ctx.countryCode, ownNumber: number, voiceboxEnabled },
        issues,
        p('forwarding'),
      )
    : (template?.forwarding ?? disabledForwarding());

  // the PIN is checked here and hashed by withPinHash once the whole request is valid
  if (input.voicebox?.pin !== undefined) {
    const problems = validatePinStrength(input.voicebox.pin, {
      ...(extension !== undefined ? { extension } : {}),
      ...(number !== undefined ? { number } : {}),
    });
    issues.push(...issuesAt(p('voicebox.pin'), problems));
  }

  const deviceInputs: DeviceInput[] = input.devices ?? template?.devices ?? [];
  const devices = newDevices(deviceInputs, input.username ?? '', [], issues, (i) => p(`devices.${i}`));

  const { firstName, lastName, email, username } = input;
  if (issues.length > before || !group || number === undefined || extension === undefined) return undefined;
  if (firstName === undefined || lastName === undefined || email === undefined || username === undefined)
    return undefined;
  const now = nowIso();
  return {
    id: newId(),
    companyId: company.id,
    groupId: group.id,
    ...(areaId !== undefined ? { areaId } : {}),
    ...(template ? { templateId: template.id } : {}),
    firstName,
    lastName,
    email,
    username,
    number,
    extension,
    language: input.language ?? template?.language ?? 'de',
    timezone: input.timezone ?? template?.timezone ?? group.timezone,
    status: 'pending',
    ...(blockingProfileId !== undefined ? { blockingProfileId } : {}),
    callerIdPresentation: input.callerIdPresentation ?? 'number',
    devices,
    parallelRinging,
    forwarding,
    voicebox: {
      enabled: voiceboxEnabled,
    },
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The whole check of a create request (JSON body or CSV row), reporting every problem at
 * once: the zod shape and pure field rules, and — for every field that passed those — the
 * rules needing the company's data (group ranges, extension, template, PIN vs. extension...).
 */
export function checkWorkplaceCreate(
  raw: unknown,
  ctx: CompanyContext,
  prefix = '',
): { workplace?: Workplace; input?: WorkplaceCreateInput; issues: FieldIssue[] } {
  const { data, valid, issues } = parseReportingAll(workplaceCreateBody, raw, prefix);
  if (data) {
    const workplace = draftWorkplace(data, ctx, issues, prefix);
    return { ...(workplace ? { workplace } : {}), input: data, issues };
  }
  // the fields that passed the schema still get their context checks
  draftWorkplace(valid, ctx, issues, prefix);
  return { issues };
}
