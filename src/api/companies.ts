/**
 * Companies: created, listed and deleted by the platform admin; a company admin may read its
 * company and set its default blocking profile.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Company } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { type ApiDeps, loadCompany, newId, nowIso, repushWorkplaces, retryOnStale } from './context.js';
import { assertNoIssues, type FieldIssue, forbidden, notFound } from './errors.js';
import { normalisedNumber } from './rules.js';
import { cidParams, companyView, errorResponses, idSchema, nameSchema, phoneInput } from './schemas.js';

const createBody = z.strictObject({
  name: nameSchema,
  mobileIntegration: z
    .boolean()
    .default(false)
    .describe('mobile integration forbids two-digit extensions and extensions starting with 0'),
});
const patchBody = z.strictObject({
  name: nameSchema.optional(),
  defaultBlockingProfileId: idSchema.nullable().optional().describe('null clears it'),
  mobileIntegration: z.boolean().optional(),
  mainNumber: phoneInput
    .nullable()
    .optional()
    .describe(
      'the main number, presented on emergency calls by a workplace without a number of its own; null clears it',
    ),
});

/**
 * Removes everything a company owns, devices from Asterisk first. The company itself goes
 * first (leaving a tombstone): every write under it checks that it exists, so a workplace
 * created concurrently either landed before (and is listed here) or is refused — no orphans.
 * An interrupted cascade is resumed by the next DELETE.
 */
async function deleteCompanyCascade(deps: ApiDeps, cid: string): Promise<void> {
  const store: Store = deps.store;
  await store.companies.delete(cid);
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
  // the default group last: the store keeps a company with groups from having no default
  const groups = await store.groups.list(cid);
  for (const g of [...groups.filter((g) => !g.isDefault), ...groups.filter((g) => g.isDefault)]) {
    await store.groups.delete(g);
  }
  for (const b of await store.blockingProfiles.list(cid)) await store.blockingProfiles.delete(b);
  for (const s of await store.schedules.list(cid)) await store.schedules.delete(s);
  for (const t of await store.tokens.list(cid)) await store.tokens.delete(cid, t.id);
  for (const a of await store.accounts.list(cid)) await store.accounts.delete(a);
  await store.companies.finishDelete(cid);
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
      const body = request.body;
      // mobile integration is a booked product option, not a company admin's setting
      if (body.mobileIntegration !== undefined && request.principal?.role !== 'platform') {
        throw forbidden('only the platform admin may change mobileIntegration');
      }
      const issues: FieldIssue[] = [];
      const mainNumber =
        typeof body.mainNumber === 'string'
          ? normalisedNumber(body.mainNumber, 'mainNumber', deps.config.COUNTRY_CODE, issues)
          : body.mainNumber;
      assertNoIssues(issues);
      // compare-and-set, re-applied on a race: two PATCHes of different fields both land
      const stored = await retryOnStale(async () => {
        const company = await loadCompany(store, request.params.cid);
        const { defaultBlockingProfileId: _old, mainNumber: _oldMain, ...rest } = company;
        const next: Company = { ...rest, updatedAt: nowIso() };
        const main = mainNumber === undefined ? company.mainNumber : (mainNumber ?? undefined);
        if (main) next.mainNumber = main;
        if (body.name !== undefined) next.name = body.name;
        if (body.mobileIntegration !== undefined) next.mobileIntegration = body.mobileIntegration;
        const profileId =
          body.defaultBlockingProfileId === undefined
            ? company.defaultBlockingProfileId
            : body.defaultBlockingProfileId;
        if (profileId) {
          if (profileId !== company.defaultBlockingProfileId) {
            const profile = await store.blockingProfiles.get(company.id, profileId);
            assertNoIssues(
              profile
                ? []
                : [{ path: 'defaultBlockingProfileId', message: 'no such blocking profile in this company' }],
            );
          }
          next.defaultBlockingProfileId = profileId;
        }
        await store.companies.put(next, company);
        return { next, previous: company };
      });
      // devices carry the number Asterisk presents on emergency calls: push those it changes
      if (stored.next.mainNumber !== stored.previous.mainNumber)
        await repushWorkplaces(deps, stored.next.id, (w) => !w.number);
      return stored.next;
    },
  );

  app.delete(
    '/companies/:cid',
    {
      config: { scope: 'platform' },
      schema: { tags, params: cidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const { cid } = request.params;
      // a company whose earlier delete was interrupted is finished off
      if (!(await store.companies.get(cid)) && !(await store.companies.isDeleting(cid))) {
        throw notFound('company');
      }
      await deleteCompanyCascade(deps, cid);
      return reply.code(204).send(null);
    },
  );
};
