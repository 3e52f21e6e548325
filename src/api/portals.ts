/**
 * Anywhere portals: a number from a group's ranges that employees call from their mobile to
 * pull a running desk call (*11) or call out with the office number. PATCH toggles silent
 * mode, PIN requirement, level, blocking profile, area and display names.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AnywherePortal } from '../domain/model.js';
import { defaultExtension } from '../domain/workplace-rules.js';
import type { Store } from '../store/store.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { assertNoIssues, type FieldIssue, notFound, validationError } from './errors.js';
import { normalisedNumber, numberInGroup } from './rules.js';
import {
  cidParams,
  errorResponses,
  extensionInput,
  firstNameSchema,
  idSchema,
  lastNameSchema,
  parseReportingAll,
  phoneInput,
  portalView,
  timezoneSchema,
} from './schemas.js';
import { validateExtensionFor } from './workplace-draft.js';

const pidParams = cidParams.extend({ pid: idSchema });
const levelSchema = z
  .enum(['company', 'group'])
  .describe('company: every employee with parallel-ringing numbers; group: only employees of the group');

const createBody = z.strictObject({
  groupId: idSchema,
  areaId: idSchema.optional(),
  displayFirstName: firstNameSchema,
  displayLastName: lastNameSchema,
  number: phoneInput.describe("from the group's number ranges"),
  extension: extensionInput.optional().describe("defaults to the number's last 4 digits"),
  timezone: timezoneSchema.optional().describe("defaults to the group's timezone"),
  level: levelSchema.default('company'),
  silentMode: z.boolean().default(false).describe('no announcements; *11 pulls the call at once'),
  pinRequired: z
    .boolean()
    .default(true)
    .describe('ask for the voicebox PIN; without it a (spoofable) caller number is the only proof'),
  blockingProfileId: idSchema.optional(),
});
const patchBody = z.strictObject({
  silentMode: z.boolean().optional(),
  pinRequired: z.boolean().optional(),
  level: levelSchema.optional(),
  blockingProfileId: idSchema.nullable().optional(),
  areaId: idSchema.nullable().optional(),
  displayFirstName: firstNameSchema.optional(),
  displayLastName: lastNameSchema.optional(),
  timezone: timezoneSchema.optional(),
});

async function referenceIssues(
  store: Store,
  cid: string,
  groupId: string,
  refs: { areaId?: string | null | undefined; blockingProfileId?: string | null | undefined },
): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  if (refs.areaId) {
    const area = await store.areas.get(cid, refs.areaId);
    if (!area) issues.push({ path: 'areaId', message: 'no such area in this company' });
    else if (area.groupId !== groupId)
      issues.push({ path: 'areaId', message: "the area does not belong to the portal's group" });
  }
  if (refs.blockingProfileId && !(await store.blockingProfiles.get(cid, refs.blockingProfileId))) {
    issues.push({ path: 'blockingProfileId', message: 'no such blocking profile in this company' });
  }
  return issues;
}

export const portalsPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, config } = deps;
  const tags = ['anywhere portals'];

  async function loadPortal(cid: string, pid: string): Promise<AnywherePortal> {
    const portal = await store.portals.get(cid, pid);
    if (!portal) throw notFound('Anywhere portal');
    return portal;
  }

  app.post(
    '/companies/:cid/anywhere-portals',
    {
      config: { scope: 'company' },
      // the handler validates itself so that schema problems and company rules come in one 400
      attachValidation: true,
      schema: { tags, params: cidParams, body: createBody, response: { 201: portalView, ...errorResponses } },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      const { data: body, valid, issues } = parseReportingAll(createBody, request.body);
      const group = valid.groupId ? await store.groups.get(company.id, valid.groupId) : undefined;
      if (valid.groupId && !group) issues.push({ path: 'groupId', message: 'no such group in this company' });
      const number =
        valid.number !== undefined
          ? normalisedNumber(valid.number, 'number', config.COUNTRY_CODE, issues)
          : undefined;
      if (number !== undefined && group && !numberInGroup(number, group.numberRanges)) {
        issues.push({ path: 'number', message: `is not inside the number ranges of group "${group.name}"` });
      }
      const extension = valid.extension ?? (number !== undefined ? defaultExtension(number) : undefined);
      if (extension !== undefined) issues.push(...validateExtensionFor(company, extension, 'extension'));
      issues.push(...(await referenceIssues(store, company.id, valid.groupId ?? '', valid)));
      assertNoIssues(issues);
      if (!body || !group) throw validationError([{ path: '', message: 'invalid portal' }]);
      const at = nowIso();
      const portal: AnywherePortal = {
        id: newId(),
        companyId: company.id,
        groupId: group.id,
        ...(body.areaId ? { areaId: body.areaId } : {}),
        displayFirstName: body.displayFirstName,
        displayLastName: body.displayLastName,
        number: number!,
        extension: extension!,
        timezone: body.timezone ?? group.timezone,
        level: body.level,
        silentMode: body.silentMode,
        pinRequired: body.pinRequired,
        ...(body.blockingProfileId ? { blockingProfileId: body.blockingProfileId } : {}),
        createdAt: at,
        updatedAt: at,
      };
      await store.portals.put(portal);
      return reply.code(201).send(portal);
    },
  );

  app.get(
    '/companies/:cid/anywhere-portals',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: z.array(portalView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return store.portals.list(company.id);
    },
  );

  app.get(
    '/companies/:cid/anywhere-portals/:pid',
    {
      config: { scope: 'company' },
      schema: { tags, params: pidParams, response: { 200: portalView, ...errorResponses } },
    },
    async (request) => loadPortal(request.params.cid, request.params.pid),
  );

  app.patch(
    '/companies/:cid/anywhere-portals/:pid',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Toggle silentMode / pinRequired / level, change blocking profile, area, names, timezone',
        params: pidParams,
        body: patchBody,
        response: { 200: portalView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, pid } = request.params;
      const portal = await loadPortal(cid, pid);
      const body = request.body;
      assertNoIssues(await referenceIssues(store, cid, portal.groupId, body));
      const { areaId: _a, blockingProfileId: _b, ...rest } = portal;
      const areaId = body.areaId === undefined ? portal.areaId : (body.areaId ?? undefined);
      const blockingProfileId =
        body.blockingProfileId === undefined
          ? portal.blockingProfileId
          : (body.blockingProfileId ?? undefined);
      const next: AnywherePortal = {
        ...rest,
        ...(body.silentMode !== undefined ? { silentMode: body.silentMode } : {}),
        ...(body.pinRequired !== undefined ? { pinRequired: body.pinRequired } : {}),
        ...(body.level !== undefined ? { level: body.level } : {}),
        ...(body.displayFirstName !== undefined ? { displayFirstName: body.displayFirstName } : {}),
        ...(body.displayLastName !== undefined ? { displayLastName: body.displayLastName } : {}),
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(areaId !== undefined ? { areaId } : {}),
        ...(blockingProfileId !== undefined ? { blockingProfileId } : {}),
        updatedAt: nowIso(),
      };
      await store.portals.put(next, portal);
      return next;
    },
  );

  app.delete(
    '/companies/:cid/anywhere-portals/:pid',
    {
      config: { scope: 'company' },
      schema: { tags, params: pidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const portal = await loadPortal(request.params.cid, request.params.pid);
      await store.portals.delete(portal);
      return reply.code(204).send(null);
    },
  );
};
