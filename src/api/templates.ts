/**
 * Templates (Mustervorlagen): group, area, blocking profile, device profiles and call
 * features; a workplace created with `templateId` only adds name, email, number, username.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Template } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { assertNoIssues, type FieldIssue, notFound } from './errors.js';
import {
  cidParams,
  deviceProfilesInput,
  errorResponses,
  forwardingInput,
  idSchema,
  languageSchema,
  parallelRingingInput,
  templateView,
  timezoneSchema,
  nameSchema,
} from './schemas.js';
import { normaliseForwarding, normaliseParallelRinging } from './workplace-draft.js';

const tidParams = cidParams.extend({ tid: idSchema });
const fields = {
  name: nameSchema,
  groupId: idSchema.optional(),
  areaId: idSchema.optional(),
  blockingProfileId: idSchema.optional(),
  language: languageSchema.optional(),
  timezone: timezoneSchema.optional(),
  devices: deviceProfilesInput.default([]),
  parallelRinging: parallelRingingInput.optional(),
  forwarding: forwardingInput.optional(),
  voiceboxEnabled: z.boolean().optional(),
};
const createBody = z.strictObject(fields);
type TemplateInput = z.infer<typeof createBody>;

/** Checks references and normalises numbers; returns the template's content or throws 400. */
async function templateContent(store: Store, cid: string, body: TemplateInput, countryCode: string) {
  const issues: FieldIssue[] = [];
  if (body.groupId && !(await store.groups.get(cid, body.groupId))) {
    issues.push({ path: 'groupId', message: 'no such group in this company' });
  }
  if (body.areaId) {
    const area = await store.areas.get(cid, body.areaId);
    if (!area) issues.push({ path: 'areaId', message: 'no such area in this company' });
    else if (area.groupId !== body.groupId)
      issues.push({ path: 'areaId', message: "the area does not belong to the template's group" });
  }
  if (body.blockingProfileId && !(await store.blockingProfiles.get(cid, body.blockingProfileId))) {
    issues.push({ path: 'blockingProfileId', message: 'no such blocking profile in this company' });
  }
  body.devices.forEach((d, i) => {
    if (d.type === 'deskphone' && !d.model)
      issues.push({ path: `devices.${i}.model`, message: 'is required for a desk phone' });
  });
  const parallelRinging = body.parallelRinging
    ? normaliseParallelRinging(body.parallelRinging, { countryCode }, issues, 'parallelRinging')
    : undefined;
  const forwarding = body.forwarding
    ? normaliseForwarding(
        body.forwarding,
        { countryCode, voiceboxEnabled: body.voiceboxEnabled },
        issues,
        'forwarding',
      )
    : undefined;
  assertNoIssues(issues);
  return {
    name: body.name,
    ...(body.groupId ? { groupId: body.groupId } : {}),
    ...(body.areaId ? { areaId: body.areaId } : {}),
    ...(body.blockingProfileId ? { blockingProfileId: body.blockingProfileId } : {}),
    ...(body.language ? { language: body.language } : {}),
    ...(body.timezone ? { timezone: body.timezone } : {}),
    devices: body.devices.map((d) => ({ type: d.type, ...(d.model ? { model: d.model } : {}) })),
    ...(parallelRinging ? { parallelRinging } : {}),
    ...(forwarding ? { forwarding } : {}),
    ...(body.voiceboxEnabled !== undefined ? { voiceboxEnabled: body.voiceboxEnabled } : {}),
  };
}

export const templatesPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, config } = deps;
  const tags = ['templates'];

  async function loadTemplate(cid: string, tid: string): Promise<Template> {
    const template = await store.templates.get(cid, tid);
    if (!template) throw notFound('template');
    return template;
  }

  app.post(
    '/companies/:cid/templates',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams,
        body: createBody,
        response: { 201: templateView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      const content = await templateContent(store, company.id, request.body, config.COUNTRY_CODE);
      const at = nowIso();
      const template: Template = {
        id: newId(),
        companyId: company.id,
        ...content,
        createdAt: at,
        updatedAt: at,
      };
      await store.templates.put(template);
      return reply.code(201).send(template);
    },
  );

  app.get(
    '/companies/:cid/templates',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: z.array(templateView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return store.templates.list(company.id);
    },
  );

  app.get(
    '/companies/:cid/templates/:tid',
    {
      config: { scope: 'company' },
      schema: { tags, params: tidParams, response: { 200: templateView, ...errorResponses } },
    },
    async (request) => loadTemplate(request.params.cid, request.params.tid),
  );

  app.put(
    '/companies/:cid/templates/:tid',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Replace the template (workplaces created from it keep their settings)',
        params: tidParams,
        body: createBody,
        response: { 200: templateView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, tid } = request.params;
      const template = await loadTemplate(cid, tid);
      const content = await templateContent(store, cid, request.body, config.COUNTRY_CODE);
      const next: Template = {
        id: template.id,
        companyId: template.companyId,
        ...content,
        createdAt: template.createdAt,
        updatedAt: nowIso(),
      };
      await store.templates.put(next, template);
      return next;
    },
  );

  app.delete(
    '/companies/:cid/templates/:tid',
    {
      config: { scope: 'company' },
      schema: { tags, params: tidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const template = await loadTemplate(request.params.cid, request.params.tid);
      await store.templates.delete(template);
      return reply.code(204).send(null);
    },
  );
};
