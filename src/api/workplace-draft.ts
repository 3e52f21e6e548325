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
import { hashPin, validatePinStrength } from '../domain/pin.js';
import { defaultExtension, RING_SECONDS, validateExtension } from '../domain/workplace-rules.js';
import type { Store } from '../store/store.js';
import { generateSipPassword, nextSipUsername, validateSipPassword } from './credentials.js';
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
  templateId: idSchema.optional().describe('takes group, area, blocking profile, devices and features from it'),
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

export async function loadCompanyContext(store: Store, company: Company, countryCode: string): Promise<CompanyContext> {
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

function normaliseTarget(
  target: 'voicebox' | { number: string } | string | undefined,
  path: string,
  ownNumber: string | undefined,
  countryCode: string,
  issues: FieldIssue[],
): ForwardTarget | undefined {
  if (target === undefined || target === 'voicebox') return target;
  const raw = typeof target === 'string' ? target : target.number;
  const numberPath = typeof target === 'string' ? path : `${path}.number`;
  const number = normalisedNumber(raw, numberPath, countryCode, issues);
  if (number === undefined) return undefined;
  if (number === ownNumber) {
    issues.push({ path: numberPath, message: "must not be the workplace's own number (it would forward to itself)" });
    return undefined;
  }
  return { number };
}

/** PUT semantics: a rule left out is disabled. An enabled rule needs a target. */
export function normaliseForwarding(
  input: ForwardingInput,
  ownNumber: string | undefined,
  countryCode: string,
  issues: FieldIssue[],
  prefix = '',
): Forwarding {
  const result = disabledForwarding();
  for (const kind of ['always', 'busy', 'noAnswer', 'unreachable'] as const) {
    const rule = input[kind];
    if (!rule) continue;
    const path = at(prefix, kind);
    const target = normaliseTarget(rule.target, `${path}.target`, ownNumber, countryCode, issues);
    if (rule.enabled && rule.target === undefined) issues.push({ path: `${path}.target`, message: 'is required when the rule is enabled' });
    const normalised: ForwardRule = { enabled: rule.enabled, ...(target !== undefined ? { target } : {}) };
    if (kind === 'noAnswer') {
      const ringSeconds = (rule as { ringSeconds?: number }).ringSeconds ?? RING_SECONDS.default;
      result.noAnswer = { ...normalised, ringSeconds };
    } else {
      result[kind] = normalised;
    }
  }
  return result;
}

export function normaliseParallelRinging(
  input: ParallelRingingInput,
  ownNumber: string | undefined,
  countryCode: string,
  issues: FieldIssue[],
  prefix = '',
): ParallelRinging {
  const path = at(prefix, 'numbers');
  const numbers: string[] = [];
  input.numbers.forEach((raw, i) => {
    const number = normalisedNumber(raw, `${path}.${i}`, countryCode, issues);
    if (number === undefined) return;
    if (number === ownNumber) {
      issues.push({ path: `${path}.${i}`, message: "must not be the workplace's own number" });
    } else if (numbers.includes(number)) {
      issues.push({ path: `${path}.${i}`, message: `${number} is listed twice` });
    } else {
      numbers.push(number);
    }
  });
  if (input.enabled && input.numbers.length === 0) {
    issues.push({ path, message: 'at least one number is required when parallel ringing is enabled' });
  }
  return { enabled: input.enabled, numbers, answerConfirmation: input.answerConfirmation };
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
      issues.push(...issuesAt(at(path, 'password'), validateSipPassword(input.password, username)));
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
 * Builds the workplace of a create request (status pending). `prefix` is prepended to every
 * issue path ("rows[3]" for the CSV import).
 */
export function draftWorkplace(
  input: WorkplaceCreateInput,
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
      message: groupId !== undefined ? 'no such group in this company' : 'the company has no default group; create a group first',
    });
  }

  const areaId = input.areaId ?? template?.areaId;
  if (areaId !== undefined) {
    const area = ctx.areas.find((a) => a.id === areaId);
    if (!area) issues.push({ path: p('areaId'), message: 'no such area in this company' });
    else if (group && area.groupId !== group.id) issues.push({ path: p('areaId'), message: 'the area belongs to another group' });
  }

  const blockingProfileId = input.blockingProfileId ?? template?.blockingProfileId;
  if (blockingProfileId !== undefined && !ctx.profiles.some((b) => b.id === blockingProfileId)) {
    issues.push({ path: p('blockingProfileId'), message: 'no such blocking profile in this company' });
  }

  const number = normalisedNumber(input.number, p('number'), ctx.countryCode, issues);
  if (number !== undefined && group && !numberInGroup(number, group.numberRanges)) {
    issues.push({ path: p('number'), message: `is not inside the number ranges of group "${group.name}"` });
  }

  const extension = input.extension ?? (number !== undefined ? defaultExtension(number) : undefined);
  if (extension !== undefined) issues.push(...validateExtensionFor(company, extension, p('extension')));

  const parallelRinging = input.parallelRinging
    ? normaliseParallelRinging(input.parallelRinging, number, ctx.countryCode, issues, p('parallelRinging'))
    : (template?.parallelRinging ?? { enabled: false, numbers: [], answerConfirmation: false });
  if (!input.parallelRinging && number !== undefined && parallelRinging.numbers.includes(number)) {
    issues.push({ path: p('number'), message: "is one of the template's parallel-ringing numbers" });
  }

  const forwarding = input.forwarding
    ? normaliseForwarding(input.forwarding, number, ctx.countryCode, issues, p('forwarding'))
    : (template?.forwarding ?? disabledForwarding());

  let pinHash: string | undefined;
  if (input.voicebox?.pin !== undefined) {
    const problems = validatePinStrength(input.voicebox.pin, {
      ...(extension !== undefined ? { extension } : {}),
      ...(number !== undefined ? { number } : {}),
    });
    issues.push(...issuesAt(p('voicebox.pin'), problems));
    // hashing is deliberately slow: only for PINs that will be stored
    if (problems.length === 0 && issues.length === before) pinHash = hashPin(input.voicebox.pin);
  }

  const deviceInputs: DeviceInput[] = input.devices ?? template?.devices ?? [];
  const devices = newDevices(deviceInputs, input.username, [], issues, (i) => p(`devices.${i}`));

  if (issues.length > before || !group || number === undefined || extension === undefined) return undefined;
  const now = nowIso();
  return {
    id: newId(),
    companyId: company.id,
    groupId: group.id,
    ...(areaId !== undefined ? { areaId } : {}),
    ...(template ? { templateId: template.id } : {}),
    firstName: input.firstName,
    lastName: input.lastName,
    email: input.email,
    username: input.username,
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
      enabled: input.voicebox?.enabled ?? template?.voiceboxEnabled ?? false,
      ...(pinHash ? { pinHash } : {}),
    },
    createdAt: now,
    updatedAt: now,
  };
}
