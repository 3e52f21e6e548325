/**
 * The web app's own static files (web/ at the repository root) under /app/: plain ES modules,
 * no CDN, no build step. The pages call the /v1 API with the session cookie. Hidden from the
 * OpenAPI document; strict security headers (CSP 'self' only, no framing).
 */
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const webAppPlugin: FastifyPluginAsync = async (app) => {
  if (!existsSync(WEB_ROOT)) return;
  await app.register(fastifyStatic, { root: WEB_ROOT, serve: false });

  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-cache');
  });

  app.get('/app', { config: { scope: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/app/'),
  );
  app.get<{ Params: { '*': string } }>(
    '/app/*',
    { config: { scope: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      const path = request.params['*'] || 'index.html';
      // @fastify/static's send refuses paths that leave the root (.., encoded or not)
      return reply.sendFile(path);
    },
  );
};
