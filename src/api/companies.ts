/**
 * Companies: created, listed and deleted by the platform admin; a company admin may read its
 * company and set its default blocking profile.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Company } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { assertNoIssues, forbidden } from './errors.js';
import { cidParams, companyView, errorResponses, idSchema } from './schemas.js';

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  mobileIntegration: z
    .boolean()
    .default(false)
    .describe('mobile integration forbids two-digit extensions and extensions starting with 0'),
});
const patchBody = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  defaultBlockingProfileId: idSchema.nullable().optional().describe('null clears it'),
  mobileIntegration: z.boolean().optional(),
});

/** Removes everything a company owns, devices from Asterisk first. */
async function deleteCompanyCascade(deps: ApiDeps, company: Company): Promise<void> {
  const store: Store = deps.store;
  const cid = company.id;
  for (const w of await store.workplaces.list(cid)) {
    if (deps.provisioner) await deps.provisioner.remove(w);
    for (const m of await store.voicebox.list(w.id)) {
      await deps.recordings?.delete(m.recordingName);
      await store.voicebox.delete(w.id, m.id);
    }
    await store.workplaces.delete(w);
  }
  for (const p of await store.portals.list(cid)) await store.portals.delete(p);
  for (const t of await store.templates.list(cid)) await store.templates.delete(t);
  for (const a of await store.areas.list(cid)) await store.areas.delete(a);
  for (const g of await store.groups.list(cid)) await store.groups.delete(g);
  for (const b of await store.blockingProfiles.list(cid)) await store.blockingProfiles.delete(b);
  for (const t of await store.tokens.list(cid)) await store.tokens.delete(cid, t.id);
  for (const a of await store.accounts.list(cid)) await store.accounts.delete(a);
  await store.companies.delete(cid);
}

export const companiesPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  const tags = ['companies'];

  app.post(
    '/companies',
    {
      config: { scope: 'platform' },
      schema: { tags, body: createBody, response: { 201: companyView, ...errorResponses } },
    },
    async (request, reply) => {
      const at = nowIso();
      const company: Company = {
        id: newId(),
        name: request.body.name,
        mobileIntegration: request.body.mobileIntegration,
        createdAt: at,
        updatedAt: at,
      };
      await store.companies.put(company);
      return reply.code(201).send(company);
    },
  );

  app.get(
    '/companies',
    {
      config: { scope: 'platform' },
      schema: { tags, response: { 200: z.array(companyView), ...errorResponses } },
    },
    async () => store.companies.list(),
  );

  app.get(
    '/companies/:cid',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: companyView, ...errorResponses } },
    },
    async (request) => loadCompany(store, request.params.cid),
  );

  app.patch(
    '/companies/:cid',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, body: patchBody, response: { 200: companyView, ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      const body = request.body;
      // mobile integration is a booked product option, not a company admin's setting
      if (body.mobileIntegration !== undefined && request.principal?.role !== 'platform') {
        throw forbidden('only the platform admin may change mobileIntegration');
      }
      const { defaultBlockingProfileId: _old, ...rest } = company;
      const next: Company = { ...rest, updatedAt: nowIso() };
      if (body.name !== undefined) next.name = body.name;
      if (body.mobileIntegration !== undefined) next.mobileIntegration = body.mobileIntegration;
      const profileId =
        body.defaultBlockingProfileId === undefined
          ? company.defaultBlockingProfileId
          : body.defaultBlockingProfileId;
      if (profileId) {
        const profile = await store.blockingProfiles.get(company.id, profileId);
        assertNoIssues(
          profile
            ? []
            : [{ path: 'defaultBlockingProfileId', message: 'no such blocking profile in this company' }],
        );
        next.defaultBlockingProfileId = profileId;
      }
      await store.companies.put(next);
      return next;
    },
  );

  app.delete(
    '/companies/:cid',
    {
      config: { scope: 'platform' },
      schema: { tags, params: cidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      await deleteCompanyCascade(deps, company);
      return reply.code(204).send(null);
    },
  );
};
