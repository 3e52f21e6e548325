/**
 * The provisioning REST API as one fastify instance: zod route schemas (validated and
 * documented), bearer-token auth with a declared scope on every route, one error handler,
 * OpenAPI at /docs. Resource plugins live beside this file, one per resource.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { AuthFailureLimiter, authPlugin, type Scope } from './auth.js';
import { blockingProfilesPlugin } from './blocking-profiles.js';
import { callThroughPlugin } from './call-through.js';
import { companiesPlugin } from './companies.js';
import type { ApiDeps } from './context.js';
import { installErrorHandler } from './errors.js';
import { JSON_BODY_LIMIT_BYTES } from './limits.js';
import { groupsPlugin } from './groups.js';
import { healthPlugin } from './health.js';
import { portalsPlugin } from './portals.js';
import { routingPlugin } from './routing.js';
import { sessionsPlugin } from './sessions.js';
import { webAppPlugin } from './web-app.js';
import { createSmtpMailer } from '../mail/smtp.js';
import type { LoginThrottle } from './login-throttle.js';
import { templatesPlugin } from './templates.js';
import { tokensPlugin } from './tokens.js';
import { workplaceFeaturesPlugin } from './workplace-features.js';
import { workplacesPlugin } from './workplaces.js';

export type { ApiDeps } from './context.js';
export type { RecordingFiles } from '../calls/recording-files.js';

export const DOCS_PREFIX = '/docs';

/**
 * Fail closed: a route without a declared scope cannot be registered at all (buildApp throws).
 * The documentation routes of @fastify/swagger-ui are public.
 */
export function requireDeclaredScope(route: {
  method: string | string[];
  url: string;
  config?: { scope?: Scope };
}): void {
  if (route.url.startsWith(DOCS_PREFIX)) {
    route.config = { ...route.config, scope: 'public' };
    return;
  }
  if (!route.config?.scope) {
    throw new Error(`route ${String(route.method)} ${route.url} declares no scope (config.scope)`);
  }
}

export interface BuildAppOptions extends ApiDeps {
  /** failed authentications per client IP and window before 429 (default 10 per minute) */
  authFailures?: { maxFailures: number; windowMs: number };
  /** the per-account sign-in throttle (tests pass one with a fake clock) */
  loginThrottle?: LoginThrottle;
}

export async function buildApp(deps: BuildAppOptions): Promise<FastifyInstance> {
  const base = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    // one route per method: every route below declares its own scope
    exposeHeadRoutes: false,
  });
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(base);

  app.addHook('onRoute', requireDeclaredScope);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Open cloud PBX provisioning API',
        description:
          'Companies, groups, workplaces, features and Anywhere portals. Bearer tokens: ADMIN_TOKEN (platform), ' +
          'company admin tokens, employee tokens bound to one workplace.',
        version: '1.0.0',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });

  await app.register(fastifyCookie);
  const limits = deps.authFailures ?? { maxFailures: 10, windowMs: 60_000 };
  await app.register(authPlugin, {
    store: deps.store,
    ...(deps.config.ADMIN_TOKEN !== undefined ? { adminToken: deps.config.ADMIN_TOKEN } : {}),
    limiter: new AuthFailureLimiter(limits.maxFailures, limits.windowMs),
  });

  await app.register(healthPlugin, deps);
  const mailer = deps.mailer ?? (deps.config.SMTP_URL ? createSmtpMailer(deps.config.SMTP_URL) : undefined);
  await app.register(sessionsPlugin, {
    ...deps,
    ...(mailer ? { mailer } : {}),
    ...(deps.loginThrottle ? { throttle: deps.loginThrottle } : {}),
    prefix: '/v1',
  });
  await app.register(webAppPlugin);
  for (const plugin of [
    companiesPlugin,
    tokensPlugin,
    groupsPlugin,
    blockingProfilesPlugin,
    templatesPlugin,
    workplacesPlugin,
    workplaceFeaturesPlugin,
    portalsPlugin,
    routingPlugin,
    callThroughPlugin,
  ]) {
    await app.register(plugin, { ...deps, prefix: '/v1' });
  }
  await app.ready();
  return base;
}
