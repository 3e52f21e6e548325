/** Liveness (process up) and readiness (the store answers). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from './context.js';

export const healthPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/healthz',
    {
      config: { scope: 'public' },
      schema: { tags: ['health'], security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['health'],
        security: [],
        response: {
          200: z.object({ status: z.literal('ready'), store: z.string() }),
          503: z.object({ status: z.literal('unavailable'), store: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      const ok = await deps.store.ping().catch(() => false);
      if (ok) return { status: 'ready' as const, store: deps.store.kind };
      return reply.code(503).send({ status: 'unavailable' as const, store: deps.store.kind });
    },
  );
};
