/**
 * Bearer token → principal, and the one place where every route's declared scope is enforced.
 *
 * Every route declares `config: { scope }` (app.ts refuses to register a route without one):
 * - 'public'    no token (health, docs)
 * - 'platform'  the platform admin (ADMIN_TOKEN) only
 * - 'company'   the platform admin, or an admin token of the company in `:cid`
 * - 'workplace' as 'company', plus an employee token bound to the workplace in `:wid`
 * - 'employee'  as 'company', plus any employee token of the company; the route itself limits
 *               an employee to their own workplace (e.g. routing explain of calls to it)
 * A token of another company gets 404 (its objects do not exist for it), an employee outside
 * its workplace features gets 403. Repeated bad tokens from one client IP are answered with 429;
 * a valid token is never refused by that limit (the IP is the socket's, or the client named by
 * X-Forwarded-For when the socket is a proxy listed in TRUST_PROXY).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { ApiError, forbidden, notFound, unauthorized } from './errors.js';

export type Scope = 'public' | 'platform' | 'company' | 'workplace' | 'employee';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export const TOKEN_PREFIX = 'pbx_';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A new company token: shown once, stored only as its sha256. */
export function newToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: sha256Hex(token) };
}

/** Fixed-window counter of failed authentications per client IP. */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; windowStart: number }>();

  constructor(
    readonly maxFailures: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private current(ip: string): { count: number; windowStart: number } | undefined {
    const entry = this.failures.get(ip);
    if (entry && this.now() - entry.windowStart >= this.windowMs) {
      this.failures.delete(ip);
      return undefined;
    }
    return entry;
  }

  isBlocked(ip: string): boolean {
    return (this.current(ip)?.count ?? 0) >= this.maxFailures;
  }

  recordFailure(ip: string): void {
    const entry = this.current(ip);
    if (entry) entry.count += 1;
    else {
      // bound memory under a spray of source addresses: drop expired windows first
      if (this.failures.size >= 10_000) this.prune();
      this.failures.set(ip, { count: 1, windowStart: this.now() });
    }
  }

  private prune(): void {
    const now = this.now();
    for (const [ip, e] of this.failures) if (now - e.windowStart >= this.windowMs) this.failures.delete(ip);
    if (this.failures.size >= 10_000) this.failures.clear();
  }
}

export interface AuthOptions {
  store: Store;
  adminToken?: string;
  limiter: AuthFailureLimiter;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function sameSecret(a: string, b: string): boolean {
  // hashing first gives equal lengths, so timingSafeEqual never leaks the length either
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Checks a principal against a route's scope and the `:cid` / `:wid` it addresses. */
export function authorize(
  principal: Principal,
  scope: Exclude<Scope, 'public'>,
  params: Record<string, string | undefined>,
): void {
  if (principal.role === 'platform') return;
  if (scope === 'platform') throw forbidden('only the platform admin may use this route');
  const cid = params.cid;
  if (cid === undefined || principal.companyId !== cid) throw notFound('company');
  if (principal.role === 'admin') return;
  // employee
  if (scope === 'employee') return;
  if (scope !== 'workplace') throw forbidden('an employee token may only use its own workplace features');
  if (params.wid !== principal.workplaceId)
    throw forbidden('an employee token may only use its own workplace');
}

const authPluginImpl: FastifyPluginAsync<AuthOptions> = async (app, opts) => {
  const { store, adminToken, limiter } = opts;

  async function principalFor(token: string): Promise<Principal | undefined> {
    if (adminToken !== undefined && sameSecret(token, adminToken)) return { role: 'platform' };
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const stored = await store.tokens.byHash(sha256Hex(token));
    if (!stored) return undefined;
    return {
      role: stored.role,
      companyId: stored.companyId,
      tokenId: stored.id,
      ...(stored.workplaceId !== undefined ? { workplaceId: stored.workplaceId } : {}),
    };
  }

  app.decorateRequest('principal', undefined);

  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config?.scope;
    // unmatched URLs have no scope and fall through to the 404 handler
    if (scope === undefined || scope === 'public') return;
    const ip = request.ip;
    // the token is checked first: a valid token always passes, whoever else shares the
    // address (NAT, reverse proxy); only failures count and only failures are refused
    const token = bearer(request);
    const principal = token === undefined ? undefined : await principalFor(token);
    if (!principal) {
      if (limiter.isBlocked(ip)) {
        throw new ApiError(
          429,
          'rate_limited',
          'too many requests with invalid tokens from this address; try again later',
        );
      }
      if (token !== undefined) limiter.recordFailure(ip);
      throw unauthorized(token === undefined ? 'missing bearer token' : 'invalid token');
    }
    request.principal = principal;
    authorize(principal, scope, request.params as Record<string, string | undefined>);
  });
};

// like fastify-plugin: the hook must apply to every route of the app, not only this plugin's
(authPluginImpl as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const authPlugin = authPluginImpl;
