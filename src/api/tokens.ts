/**
 * Company API tokens: admin tokens, and employee tokens bound to one workplace. The token is
 * shown once in the create response; only its sha256 is stored.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiToken } from '../domain/model.js';
import { newToken } from './auth.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { assertNoIssues, notFound } from './errors.js';
import { cidParams, errorResponses, idSchema, tokenView } from './schemas.js';

const createBody = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('admin') }),
  z.strictObject({ role: z.literal('employee'), workplaceId: idSchema }),
]);

function toView(t: ApiToken): z.infer<typeof tokenView> {
  const { hash: _secret, ...view } = t;
  return view;
}

export const tokensPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  const tags = ['tokens'];

  app.post(
    '/companies/:cid/tokens',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams,
        body: createBody,
        response: {
          201: tokenView.extend({ token: z.string().describe('shown only once') }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      const body = request.body;
      if (body.role === 'employee') {
        const workplace = await store.workplaces.get(company.id, body.workplaceId);
        assertNoIssues(
          workplace ? [] : [{ path: 'workplaceId', message: 'no such workplace in this company' }],
        );
      }
      const { token, hash } = newToken();
      const record: ApiToken = {
        id: newId(),
        companyId: company.id,
        role: body.role,
        ...(body.role === 'employee' ? { workplaceId: body.workplaceId } : {}),
        hash,
        createdAt: nowIso(),
        // minted from a web session: it must not outlive the person's account or password
        ...(request.principal?.accountId !== undefined ? { accountId: request.principal.accountId } : {}),
      };
      await store.tokens.create(record);
      return reply.code(201).send({ ...toView(record), token });
    },
  );

  app.get(
    '/companies/:cid/tokens',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: z.array(tokenView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return (await store.tokens.list(company.id)).map(toView);
    },
  );

  app.delete(
    '/companies/:cid/tokens/:tid',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams.extend({ tid: idSchema }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { cid, tid } = request.params;
      const tokens = await store.tokens.list(cid);
      if (!tokens.some((t) => t.id === tid)) throw notFound('token');
      await store.tokens.delete(cid, tid);
      return reply.code(204).send(null);
    },
  );
};
