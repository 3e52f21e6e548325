/**
 * Blocking profiles (Sperrprofile): number prefixes blocked for incoming, outgoing and
 * forwarded calls. A profile in use (company default, group, workplace, portal, template)
 * cannot be deleted.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BlockingProfile } from '../domain/model.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { assertNoIssues, conflict, notFound } from './errors.js';
import { blockingPrefixIssues } from './rules.js';
import { blockingProfileView, cidParams, errorResponses, idSchema, nameSchema } from './schemas.js';

const pidParams = cidParams.extend({ pid: idSchema });
const prefixes = z.array(z.string()).default([]).describe('E.164 prefixes, e.g. "+49900"');
const createBody = z.strictObject({
  name: nameSchema,
  incoming: prefixes,
  outgoing: prefixes,
  forwarded: prefixes,
});
const patchBody = z.strictObject({
  name: nameSchema.optional(),
  incoming: z.array(z.string()).optional(),
  outgoing: z.array(z.string()).optional(),
  forwarded: z.array(z.string()).optional(),
});

function prefixIssues(body: { incoming?: string[]; outgoing?: string[]; forwarded?: string[] }) {
  return (['incoming', 'outgoing', 'forwarded'] as const).flatMap((dir) =>
    body[dir] ? blockingPrefixIssues(dir, body[dir]) : [],
  );
}

export const blockingProfilesPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  const tags = ['blocking profiles'];

  async function loadProfile(cid: string, pid: string): Promise<BlockingProfile> {
    const profile = await store.blockingProfiles.get(cid, pid);
    if (!profile) throw notFound('blocking profile');
    return profile;
  }

  app.post(
    '/companies/:cid/blocking-profiles',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams,
        body: createBody,
        response: { 201: blockingProfileView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      assertNoIssues(prefixIssues(request.body));
      const at = nowIso();
      const profile: BlockingProfile = {
        id: newId(),
        companyId: company.id,
        ...request.body,
        createdAt: at,
        updatedAt: at,
      };
      await store.blockingProfiles.put(profile);
      return reply.code(201).send(profile);
    },
  );

  app.get(
    '/companies/:cid/blocking-profiles',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: z.array(blockingProfileView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return store.blockingProfiles.list(company.id);
    },
  );

  app.get(
    '/companies/:cid/blocking-profiles/:pid',
    {
      config: { scope: 'company' },
      schema: { tags, params: pidParams, response: { 200: blockingProfileView, ...errorResponses } },
    },
    async (request) => loadProfile(request.params.cid, request.params.pid),
  );

  app.patch(
    '/companies/:cid/blocking-profiles/:pid',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: pidParams,
        body: patchBody,
        response: { 200: blockingProfileView, ...errorResponses },
      },
    },
    async (request) => {
      const profile = await loadProfile(request.params.cid, request.params.pid);
      assertNoIssues(prefixIssues(request.body));
      const defined = Object.fromEntries(Object.entries(request.body).filter(([, v]) => v !== undefined));
      const next: BlockingProfile = { ...profile, ...defined, updatedAt: nowIso() };
      await store.blockingProfiles.put(next, profile);
      return next;
    },
  );

  app.delete(
    '/companies/:cid/blocking-profiles/:pid',
    {
      config: { scope: 'company' },
      schema: { tags, params: pidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const { cid, pid } = request.params;
      const profile = await loadProfile(cid, pid);
      const company = await loadCompany(store, cid);
      if (company.defaultBlockingProfileId === pid) {
        throw conflict('defaultBlockingProfileId', 'the profile is the company default');
      }
      const users = [
        ...(await store.groups.list(cid)),
        ...(await store.workplaces.list(cid)),
        ...(await store.portals.list(cid)),
        ...(await store.templates.list(cid)),
      ];
      if (users.some((u) => u.blockingProfileId === pid)) {
        throw conflict(
          'blockingProfileId',
          'groups, workplaces, portals or templates still use this profile',
        );
      }
      await store.blockingProfiles.delete(profile);
      return reply.code(204).send(null);
    },
  );
};
