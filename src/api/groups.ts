/**
 * Groups/locations (number ranges, timezone, default group), their areas, and the search for
 * numbers of a group that are still free. Numbers are global, so a group's ranges may not
 * overlap any other group's ranges, of any company: the store checks that inside the write,
 * against an index of all ranges (cost independent of the number of companies, and two
 * parallel creates of one range cannot both win). It also keeps exactly one default group.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Area, Group, NumberRange } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { MAX_LOCATION_NETWORKS, normaliseCidr, validateCidr } from '../domain/location.js';
import { type ApiDeps, loadCompany, newId, nowIso, repushWorkplaces, retryOnStale } from './context.js';
import { assertNoIssues, conflict, type FieldIssue, notFound } from './errors.js';
import { issuesAt, numberInGroup } from './rules.js';
import {
  areaView,
  cidParams,
  errorResponses,
  groupView,
  idSchema,
  nameSchema,
  numberRangesInput,
  timezoneSchema,
} from './schemas.js';

const gidParams = cidParams.extend({ gid: idSchema });
const aidParams = gidParams.extend({ aid: idSchema });

/** The location's postal address (where an emergency call from it comes from). */
const addressInput = z.strictObject({
  street: z.string().trim().min(1, 'is required').max(200),
  postalCode: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9 -]{3,10}$/, 'must be a postal code (3 to 10 letters, digits, spaces or "-")'),
  city: z.string().trim().min(1, 'is required').max(100),
  country: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code (ISO 3166-1), e.g. DE')
    .transform((c) => c.toUpperCase()),
});
const networksInput = z
  .array(z.string())
  .max(MAX_LOCATION_NETWORKS, `at most ${MAX_LOCATION_NETWORKS} networks`)
  .describe("the location's network ranges (CIDR): where restricted workplaces may be used from");

/** Each bad network by its index, e.g. networks[2]: "must be … CIDR …". */
function networkIssues(networks: readonly string[] | undefined): FieldIssue[] {
  return (networks ?? []).flatMap((n, i) => issuesAt(`networks[${i}]`, validateCidr(n)));
}

const createBody = z.strictObject({
  name: nameSchema,
  address: addressInput.optional(),
  networks: networksInput.optional(),
  timezone: timezoneSchema,
  numberRanges: numberRangesInput.default([]),
  isDefault: z.boolean().optional().describe('the first group of a company is always the default'),
  blockingProfileId: idSchema.optional(),
});
const patchBody = z.strictObject({
  name: nameSchema.optional(),
  address: addressInput.nullable().optional(),
  networks: networksInput.optional(),
  timezone: timezoneSchema.optional(),
  numberRanges: numberRangesInput.optional(),
  isDefault: z.literal(true).optional().describe('make this the default group (the old one stops being it)'),
  blockingProfileId: idSchema.nullable().optional(),
});
const areaBody = z.strictObject({ name: nameSchema });

async function profileIssue(store: Store, cid: string, id: string | undefined | null, path: string) {
  if (!id) return [];
  return (await store.blockingProfiles.get(cid, id))
    ? []
    : [{ path, message: 'no such blocking profile in this company' }];
}

export async function loadGroup(store: Store, cid: string, gid: string): Promise<Group> {
  const group = await store.groups.get(cid, gid);
  if (!group) throw notFound('group');
  return group;
}

/** Candidate numbers of the ranges in order, generated lazily (ranges hold up to 10 000). */
function* candidates(ranges: readonly NumberRange[]): Generator<string> {
  for (const range of ranges) {
    const width = range.first.length - 1;
    const last = BigInt(range.last.slice(1));
    for (let n = BigInt(range.first.slice(1)); n <= last; n++) yield '+' + n.toString().padStart(width, '0');
  }
}

export async function freeNumbers(
  store: Store,
  ranges: readonly NumberRange[],
  limit: number,
): Promise<string[]> {
  const found: string[] = [];
  const chunkSize = Math.max(limit * 2, 200);
  let chunk: string[] = [];
  const flush = async () => {
    const taken = await store.numbers.taken(chunk);
    for (const n of chunk) if (!taken.has(n) && found.length < limit) found.push(n);
    chunk = [];
  };
  for (const number of candidates(ranges)) {
    chunk.push(number);
    if (chunk.length >= chunkSize) {
      await flush();
      if (found.length >= limit) return found;
    }
  }
  if (chunk.length > 0) await flush();
  return found;
}

export const groupsPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  const tags = ['groups'];

  app.post(
    '/companies/:cid/groups',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, body: createBody, response: { 201: groupView, ...errorResponses } },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      const body = request.body;
      assertNoIssues([
        ...(await profileIssue(store, company.id, body.blockingProfileId, 'blockingProfileId')),
        ...networkIssues(body.networks),
      ]);
      const at = nowIso();
      const group: Group = {
        id: newId(),
        companyId: company.id,
        name: body.name,
        timezone: body.timezone,
        numberRanges: body.numberRanges,
        ...(body.blockingProfileId ? { blockingProfileId: body.blockingProfileId } : {}),
        ...(body.address ? { address: body.address } : {}),
        ...(body.networks?.length ? { networks: body.networks.map(normaliseCidr) } : {}),
        // the store makes the company's first group the default, and clears the old default
        isDefault: body.isDefault === true,
        createdAt: at,
        updatedAt: at,
      };
      // overlapping ranges → RangeOverlapError → 400 (checked inside the write)
      const stored = await store.groups.put(group);
      return reply.code(201).send(stored);
    },
  );

  app.get(
    '/companies/:cid/groups',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: z.array(groupView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return store.groups.list(company.id);
    },
  );

  app.get(
    '/companies/:cid/groups/:gid',
    {
      config: { scope: 'company' },
      schema: { tags, params: gidParams, response: { 200: groupView, ...errorResponses } },
    },
    async (request) => loadGroup(store, request.params.cid, request.params.gid),
  );

  app.patch(
    '/companies/:cid/groups/:gid',
    {
      config: { scope: 'company' },
      schema: { tags, params: gidParams, body: patchBody, response: { 200: groupView, ...errorResponses } },
    },
    async (request) => {
      const { cid, gid } = request.params;
      const body = request.body;
      assertNoIssues([
        ...(await profileIssue(store, cid, body.blockingProfileId, 'blockingProfileId')),
        ...networkIssues(body.networks),
      ]);
      // re-read and re-apply when the group changed meanwhile (no lost update)
      const stored = await retryOnStale(async () => {
        const group = await loadGroup(store, cid, gid);
        if (body.networks !== undefined && body.networks.length === 0) {
          const restricted = (await store.workplaces.list(cid)).filter(
            (w) => w.groupId === gid && w.nomadicUse === 'restricted',
          );
          if (restricted.length > 0)
            throw conflict(
              'networks',
              `workplaces restricted to this location need its networks: ${restricted
                .slice(0, 20)
                .map((w) => w.username)
                .join(', ')}`,
            );
        }
        if (body.numberRanges) {
          const ranges = body.numberRanges;
          const users = [
            ...(await store.workplaces.list(cid)).filter((w) => w.groupId === gid),
            ...(await store.portals.list(cid)).filter((p) => p.groupId === gid),
          ];
          const outside = users.filter((u) => !numberInGroup(u.number, ranges)).map((u) => u.number);
          if (outside.length > 0) {
            throw conflict(
              'numberRanges',
              `the new ranges would leave numbers in use outside them: ${outside.slice(0, 20).join(', ')}` +
                (outside.length > 20 ? ` and ${outside.length - 20} more` : ''),
            );
          }
        }
        const { blockingProfileId: _old, address: _oldAddress, networks: _oldNetworks, ...rest } = group;
        const address = body.address === undefined ? group.address : (body.address ?? undefined);
        const networks = body.networks === undefined ? group.networks : body.networks.map(normaliseCidr);
        const next: Group = {
          ...rest,
          ...(address ? { address } : {}),
          ...(networks?.length ? { networks } : {}),
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
          ...(body.numberRanges !== undefined ? { numberRanges: body.numberRanges } : {}),
          ...(body.isDefault ? { isDefault: true } : {}),
          updatedAt: nowIso(),
        };
        const profileId =
          body.blockingProfileId === undefined ? group.blockingProfileId : body.blockingProfileId;
        if (profileId) next.blockingProfileId = profileId;
        return store.groups.put(next, group);
      });
      // the restricted workplaces' devices carry the networks as their ACL: push them again
      if (body.networks !== undefined)
        await repushWorkplaces(deps, cid, (w) => w.groupId === gid && w.nomadicUse === 'restricted');
      return stored;
    },
  );

  app.delete(
    '/companies/:cid/groups/:gid',
    {
      config: { scope: 'company' },
      schema: { tags, params: gidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const { cid, gid } = request.params;
      const group = await loadGroup(store, cid, gid);
      if ((await store.workplaces.list(cid)).some((w) => w.groupId === gid)) {
        throw conflict('groupId', 'the group still has workplaces');
      }
      if ((await store.portals.list(cid)).some((p) => p.groupId === gid)) {
        throw conflict('groupId', 'the group still has Anywhere portals');
      }
      if ((await store.templates.list(cid)).some((t) => t.groupId === gid)) {
        throw conflict('groupId', 'templates still name this group');
      }
      const others = (await store.groups.list(cid)).filter((g) => g.id !== gid);
      if (group.isDefault && others.length > 0) {
        throw conflict('isDefault', 'make another group the default before deleting the default group');
      }
      for (const area of await store.areas.list(cid))
        if (area.groupId === gid) await store.areas.delete(area);
      await store.groups.delete(group);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/companies/:cid/groups/:gid/available-numbers',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: gidParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(20) }),
        response: { 200: z.object({ numbers: z.array(z.string()) }), ...errorResponses },
      },
    },
    async (request) => {
      const group = await loadGroup(store, request.params.cid, request.params.gid);
      return { numbers: await freeNumbers(store, group.numberRanges, request.query.limit) };
    },
  );

  // ---------- areas ----------
  const areaTags = ['areas'];

  async function loadArea(cid: string, gid: string, aid: string): Promise<Area> {
    const area = await store.areas.get(cid, aid);
    if (!area || area.groupId !== gid) throw notFound('area');
    return area;
  }

  app.post(
    '/companies/:cid/groups/:gid/areas',
    {
      config: { scope: 'company' },
      schema: {
        tags: areaTags,
        params: gidParams,
        body: areaBody,
        response: { 201: areaView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const group = await loadGroup(store, request.params.cid, request.params.gid);
      const at = nowIso();
      const area: Area = {
        id: newId(),
        companyId: group.companyId,
        groupId: group.id,
        name: request.body.name,
        createdAt: at,
        updatedAt: at,
      };
      await store.areas.put(area);
      return reply.code(201).send(area);
    },
  );

  app.get(
    '/companies/:cid/groups/:gid/areas',
    {
      config: { scope: 'company' },
      schema: { tags: areaTags, params: gidParams, response: { 200: z.array(areaView), ...errorResponses } },
    },
    async (request) => {
      const group = await loadGroup(store, request.params.cid, request.params.gid);
      return (await store.areas.list(group.companyId)).filter((a) => a.groupId === group.id);
    },
  );

  app.get(
    '/companies/:cid/groups/:gid/areas/:aid',
    {
      config: { scope: 'company' },
      schema: { tags: areaTags, params: aidParams, response: { 200: areaView, ...errorResponses } },
    },
    async (request) => loadArea(request.params.cid, request.params.gid, request.params.aid),
  );

  app.patch(
    '/companies/:cid/groups/:gid/areas/:aid',
    {
      config: { scope: 'company' },
      schema: {
        tags: areaTags,
        params: aidParams,
        body: areaBody,
        response: { 200: areaView, ...errorResponses },
      },
    },
    async (request) => {
      const area = await loadArea(request.params.cid, request.params.gid, request.params.aid);
      const next: Area = { ...area, name: request.body.name, updatedAt: nowIso() };
      await store.areas.put(next, area);
      return next;
    },
  );

  app.delete(
    '/companies/:cid/groups/:gid/areas/:aid',
    {
      config: { scope: 'company' },
      schema: { tags: areaTags, params: aidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const { cid, gid, aid } = request.params;
      const area = await loadArea(cid, gid, aid);
      const users = [
        ...(await store.workplaces.list(cid)),
        ...(await store.portals.list(cid)),
        ...(await store.templates.list(cid)),
      ];
      if (users.some((u) => u.areaId === aid))
        throw conflict('areaId', 'workplaces, portals or templates still use this area');
      await store.areas.delete(area);
      return reply.code(204).send(null);
    },
  );
};
