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
 * - 'metrics'   METRICS_TOKEN only: GET /metrics
 * A token of another company gets 404 (its objects do not exist for it), an employee outside
 * its workplace features gets 403. Repeated bad tokens from one client IP are answered with 429;
 * a valid token is never refused by that limit (the IP is the socket's, or the client named by
 * X-Forwarded-For when the socket is a proxy listed in TRUST_PROXY).
 * A request without a bearer token may carry the web app's session cookie instead (sessions.ts):
 * the signed-in account is then the principal, with a CSRF check on every state change.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { ApiError, forbidden, notFound, unauthorized } from './errors.js';
import { checkCsrf, principalOfAccount, SESSION_COOKIE, sessionOf } from './sessions.js';

export type Scope = 'public' | 'platform' | 'company' | 'workplace' | 'employee' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** what the principal authenticated with (event tickets carry it, streams re-check it) */
    credential?: Credential;
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

/**
 * What a request or a stream authenticated with, so that a long-lived stream can ask later
 * whether it still holds (events.ts re-checks on every token/account change and on an interval).
 */
export type Credential =
  | { kind: 'platform' }
  | { kind: 'metrics' }
  | { kind: 'token'; hash: string }
  | { kind: 'session'; hash: string };

export interface Authenticated {
  principal: Principal;
  credential: Credential;
}

/**
 * THE one authentication of a secret a client presents: API bearer tokens, ADMIN_TOKEN and
 * METRICS_TOKEN, whether they arrive in an Authorization header (every HTTP route, /metrics)
 * or in the event WebSocket's `bearer.<token>` subprotocol. Every refusal counts in the
 * per-address limiter and a blocked address is refused before any lookup, so no entrance can
 * be used to guess a secret at full speed (issue: the WebSocket and /metrics once skipped it).
 */
export class Authenticator {
  constructor(
    private readonly store: Store,
    readonly limiter: AuthFailureLimiter,
    private readonly secrets: { adminToken?: string; metricsToken?: string } = {},
  ) {}

  /** Throws 429 while the address is blocked, else 401 (counted). Never returns undefined. */
  async authenticate(token: string | undefined, ip: string): Promise<Authenticated> {
    // a valid token always passes, whoever else shares the address (NAT, reverse proxy): the
    // lookup comes first, only failures count and only failures are refused
    const found = token === undefined ? undefined : await this.lookup(token);
    if (found) return found;
    this.refuse(ip, token === undefined ? 'missing bearer token' : 'invalid token', token !== undefined);
  }

  /**
   * Counts a failed presentation of some other guessable secret (an event ticket) in the same
   * limiter, and throws: 429 while blocked, else 401 with `message`.
   */
  refuse(ip: string, message: string, count = true): never {
    if (this.limiter.isBlocked(ip)) {
      throw new ApiError(
        429,
        'rate_limited',
        'too many requests with invalid tokens from this address; try again later',
      );
    }
    if (count) this.limiter.recordFailure(ip);
    throw unauthorized(message);
  }

  /** Whether a credential still holds (the token exists, its account still exists). */
  async stillValid(credential: Credential): Promise<boolean> {
    switch (credential.kind) {
      case 'platform':
      case 'metrics':
        return true;
      case 'token':
        return (await this.tokenPrincipal(credential.hash)) !== undefined;
      case 'session': {
        const session = await this.store.accounts.session(credential.hash, Date.now());
        return (
          session !== undefined &&
          (await this.store.accounts.get(session.companyId, session.accountId)) !== undefined
        );
      }
    }
  }

  private async lookup(token: string): Promise<Authenticated | undefined> {
    const { adminToken, metricsToken } = this.secrets;
    if (adminToken !== undefined && sameSecret(token, adminToken))
      return { principal: { role: 'platform' }, credential: { kind: 'platform' } };
    if (metricsToken !== undefined && sameSecret(token, metricsToken))
      // a principal of no company and no role beyond reading /metrics (authorize refuses it elsewhere)
      return { principal: { role: 'metrics' }, credential: { kind: 'metrics' } };
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const hash = sha256Hex(token);
    const principal = await this.tokenPrincipal(hash);
    return principal ? { principal, credential: { kind: 'token', hash } } : undefined;
  }

  private async tokenPrincipal(hash: string): Promise<Principal | undefined> {
    const stored = await this.store.tokens.byHash(hash);
    if (!stored) return undefined;
    // a token minted from a web session lives no longer than its account (it is also deleted
    // with it and on a password reset; this check closes the gap of a concurrent mint)
    if (stored.accountId !== undefined) {
      const account = await this.store.accounts.get(stored.companyId, stored.accountId);
      if (!account || (account.credentialsSince !== undefined && stored.createdAt < account.credentialsSince))
        return undefined;
    }
    return {
      role: stored.role,
      companyId: stored.companyId,
      tokenId: stored.id,
      ...(stored.workplaceId !== undefined ? { workplaceId: stored.workplaceId } : {}),
    };
  }
}

export interface AuthOptions {
  store: Store;
  authenticator: Authenticator;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
export { bearer as bearerOf };

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
  if (scope === 'metrics') {
    if (principal.role === 'metrics') return;
    // as before: any other secret, valid elsewhere or not, is "not the metrics token"
    throw unauthorized('the metrics token is required');
  }
  if (principal.role === 'metrics') throw forbidden('the metrics token only reads /metrics');
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
  const { store, authenticator } = opts;

  app.decorateRequest('principal', undefined);
  app.decorateRequest('credential', undefined);

  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config?.scope;
    // unmatched URLs have no scope and fall through to the 404 handler
    if (scope === undefined || scope === 'public') return;
    const token = bearer(request);
    // the web app: no bearer token but a session cookie (CSRF-checked on state changes)
    if (token === undefined && scope !== 'metrics' && request.cookies?.[SESSION_COOKIE]) {
      const found = await sessionOf(store, request);
      if (!found) throw unauthorized('your session has ended; please sign in again');
      checkCsrf(request, found.session);
      request.principal = principalOfAccount(found.account);
      request.credential = { kind: 'session', hash: found.session.hash };
      authorize(request.principal, scope, request.params as Record<string, string | undefined>);
      return;
    }
    const { principal, credential } = await authenticator.authenticate(token, request.ip);
    request.principal = principal;
    request.credential = credential;
    authorize(principal, scope, request.params as Record<string, string | undefined>);
  });
};

// like fastify-plugin: the hook must apply to every route of the app, not only this plugin's
(authPluginImpl as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const authPlugin = authPluginImpl;
