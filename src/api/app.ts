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
import { AuthFailureLimiter, Authenticator, authPlugin, type Scope } from './auth.js';
import type { TelemetryBackend } from '../events/backend.js';
import { metricsPlugin, type PbxMetrics } from '../metrics.js';
import { blockingProfilesPlugin } from './blocking-profiles.js';
import { schedulesPlugin } from './schedules.js';
import { callThroughPlugin } from './call-through.js';
import { callsPlugin } from './calls.js';
import { companiesPlugin } from './companies.js';
import type { ApiDeps } from './context.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandler } from './errors.js';
import { eventHooks, eventsPlugin } from './events.js';
import { requestLogView } from '../logging.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, JSON_BODY_LIMIT_BYTES } from './limits.js';
import { capConnectionsPerClient } from './connections.js';
import { groupsPlugin } from './groups.js';
import { healthPlugin } from './health.js';
import { portalsPlugin } from './portals.js';
import { routingPlugin } from './routing.js';
import { sessionsPlugin } from './sessions.js';
import { webAppPlugin } from './web-app.js';
import { createSmtpMailer } from '../mail/smtp.js';
import type { LoginThrottle } from './login-throttle.js';
import type { PasswordGate } from './password-gate.js';
import { templatesPlugin } from './templates.js';
import { tokensPlugin } from './tokens.js';
import { workplaceFeaturesPlugin } from './workplace-features.js';
import { workplacesPlugin } from './workplaces.js';

export type { ApiDeps } from './context.js';
export type { RecordingFiles } from '../calls/engine/recording-files.js';

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
  /** bounds password hashing under a sign-in flood (password-gate.ts) */
  passwordGate?: PasswordGate;
  /** event stream, call lists (src/events) */
  telemetry?: TelemetryBackend;
  /** Prometheus metrics (src/metrics.ts): API latency, /metrics with METRICS_TOKEN */
  metrics?: PbxMetrics;
  /** socket timeouts and the per-client connection cap (defaults in limits.ts) */
  connectionLimits?: Partial<ConnectionLimits>;
}

export async function buildApp(deps: BuildAppOptions): Promise<FastifyInstance> {
  const connections = { ...DEFAULT_CONNECTION_LIMITS, ...deps.connectionLimits };
  const base = Fastify({
    connectionTimeout: connections.idleSocketTimeoutMs,
    keepAliveTimeout: connections.keepAliveTimeoutMs,
    requestTimeout: connections.requestTimeoutMs,
    http: {
      headersTimeout: connections.headersTimeoutMs,
      connectionsCheckingInterval: connections.checkIntervalMs,
    },
    // request lines carry the URL with the values of secret-looking query parameters redacted
    loggerInstance: deps.logger.child({}, { serializers: { req: requestLogView } }) as FastifyBaseLogger,
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    // request.ip is the client behind the configured proxies only; with none configured a
    // forged X-Forwarded-For cannot move a client into another limiter bucket
    trustProxy: deps.config.TRUST_PROXY ?? false,
    // one route per method: every route below declares its own scope
    exposeHeadRoutes: false,
    // errors raised before any route runs answer in the documented shape too
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  // JSON routes take JSON: a text/plain body is 415, not a string that fails validation
  base.removeContentTypeParser('text/plain');
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(base);

  app.addHook('onRoute', requireDeclaredScope);
  capConnectionsPerClient(
    base.server,
    connections.maxConnectionsPerClient,
    deps.config.TRUST_PROXY ?? [],
    deps.logger,
  );

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
  // one authentication for every entrance (HTTP routes, the event WebSocket, /metrics)
  const authenticator = new Authenticator(
    deps.store,
    new AuthFailureLimiter(limits.maxFailures, limits.windowMs),
    {
      ...(deps.config.ADMIN_TOKEN !== undefined ? { adminToken: deps.config.ADMIN_TOKEN } : {}),
      ...(deps.metrics && deps.config.METRICS_TOKEN !== undefined
        ? { metricsToken: deps.config.METRICS_TOKEN }
        : {}),
    },
  );
  await app.register(authPlugin, { store: deps.store, authenticator });

  await app.register(healthPlugin, deps);
  const mailer = deps.mailer ?? (deps.config.SMTP_URL ? createSmtpMailer(deps.config.SMTP_URL) : undefined);
  await app.register(sessionsPlugin, {
    ...deps,
    ...(mailer ? { mailer } : {}),
    ...(deps.loginThrottle ? { throttle: deps.loginThrottle } : {}),
    ...(deps.passwordGate ? { passwordGate: deps.passwordGate } : {}),
    prefix: '/v1',
  });
  await app.register(webAppPlugin);
  if (deps.metrics)
    await app.register(metricsPlugin, {
      metrics: deps.metrics,
      ...(deps.config.METRICS_TOKEN ? { token: deps.config.METRICS_TOKEN } : {}),
    });
  await app.register(eventHooks, deps);
  const metrics = deps.metrics;
  const telemetryDeps = {
    ...deps,
    authenticator,
    ...(deps.telemetry ? { callRecords: deps.telemetry.records } : {}),
    ...(metrics
      ? {
          onSlowClient: () => metrics.slowEventClients.inc(),
          hubReady: (hub: { size: number }) => metrics.watch({ eventSockets: () => hub.size }),
        }
      : {}),
    prefix: '/v1',
  };
  await app.register(eventsPlugin, telemetryDeps);
  await app.register(callsPlugin, telemetryDeps);
  for (const plugin of [
    companiesPlugin,
    tokensPlugin,
    groupsPlugin,
    blockingProfilesPlugin,
    schedulesPlugin,
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
