/**
 * Web app sign-in: user accounts (company admins and employees), browser sessions in an
 * HTTP-only SameSite=Strict cookie (Secure behind TLS), CSRF protection, invitations and
 * password resets as one-time links. The bearer tokens of the rest of the API are unchanged.
 *
 * CSRF: a cookie-authenticated request that changes state (anything but GET/HEAD) must send
 * the session's CSRF token in X-CSRF-Token (the page reads it from GET /v1/auth/session), and
 * a cross-origin Origin header is refused outright. Bearer-token requests are not affected.
 */
import '@fastify/cookie';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountLink, Principal, UserAccount, WebSession } from '../domain/model.js';
import { hashPassword, validatePassword, verifyPassword } from '../domain/password.js';
import { validateEmail, validateUsername } from '../domain/workplace-rules.js';
import { ConflictError, type Store } from '../store/store.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { ApiError, assertNoIssues, type FieldIssue, forbidden, notFound, unauthorized } from './errors.js';
import { LoginThrottle } from './login-throttle.js';
import { GateBusyError, PasswordGate } from './password-gate.js';
import { cidParams, errorResponses, idSchema } from './schemas.js';

export const SESSION_COOKIE = 'pbx_session';
export const SESSION_HOURS = 12;
export const INVITE_DAYS = 7;
export const RESET_HOURS = 2;
export const CSRF_HEADER = 'x-csrf-token';

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
const secret = () => randomBytes(32).toString('base64url');

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Behind TLS (directly, or a proxy fastify trusts) the cookie is Secure. */
function isTls(request: FastifyRequest, publicUrl?: string): boolean {
  return request.protocol === 'https' || (publicUrl?.startsWith('https:') ?? false);
}

/** The session of the request's cookie (unexpired), with its account; undefined otherwise. */
export async function sessionOf(
  store: Store,
  request: FastifyRequest,
): Promise<{ session: WebSession; account: UserAccount } | undefined> {
  const value = request.cookies?.[SESSION_COOKIE];
  if (typeof value !== 'string' || value.length < 20 || value.length > 100) return undefined;
  const session = await store.accounts.session(sha256(value), Date.now());
  if (!session) return undefined;
  const account = await store.accounts.get(session.companyId, session.accountId);
  return account ? { session, account } : undefined;
}

export function principalOfAccount(account: UserAccount): Principal {
  return {
    role: account.role,
    companyId: account.companyId,
    accountId: account.id,
    ...(account.workplaceId !== undefined ? { workplaceId: account.workplaceId } : {}),
  };
}

/** Refuses a state-changing cookie request without the session's CSRF token or from another origin. */
/** Refuses a request whose Origin header names another site (browsers send it on every POST). */
export function checkOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (origin === 'null') throw forbidden('cross-origin request refused');
  // compare as URL hosts (default ports dropped); http or https: a TLS proxy may sit in front
  const own = request.headers.host ?? '';
  const same = ['http', 'https'].some((scheme) => {
    try {
      const o = new URL(origin);
      return o.protocol === `${scheme}:` && new URL(`${scheme}://${own}`).host === o.host;
    } catch {
      return false;
    }
  });
  if (!same) throw forbidden('cross-origin request refused');
}

/** Refuses a state-changing cookie request without the session's CSRF token or from another origin. */
export function checkCsrf(request: FastifyRequest, session: WebSession): void {
  if (request.method === 'GET' || request.method === 'HEAD') return;
  checkOrigin(request);
  const token = request.headers[CSRF_HEADER];
  if (typeof token !== 'string' || !sameString(token, session.csrf)) {
    throw forbidden('missing or wrong CSRF token (send X-CSRF-Token from GET /v1/auth/session)');
  }
}

const accountView = z.object({
  id: idSchema,
  companyId: idSchema,
  role: z.enum(['admin', 'employee']),
  workplaceId: idSchema.optional(),
  username: z.string(),
  email: z.string().optional(),
  status: z.enum(['invited', 'active']).describe('invited: no password set yet'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
function toView(a: UserAccount): z.infer<typeof accountView> {
  const { passwordHash, credentialsSince: _internal, emailSignIn: _private, ...rest } = a;
  return { ...rest, status: passwordHash ? 'active' : 'invited' };
}

const sessionView = z.object({
  account: accountView,
  companyName: z.string(),
  csrfToken: z.string().describe('send in X-CSRF-Token with every state-changing request'),
  expiresAt: z.string(),
});

const linkView = z.object({
  account: accountView,
  link: z.string().describe('one-time link; shown to the admin to pass on'),
  expiresAt: z.string(),
  emailed: z
    .boolean()
    .describe('true when it was also sent by e-mail (SMTP_URL set and the account has an e-mail)'),
});

const loginBody = z.strictObject({
  login: z.string().trim().min(1, 'is required').max(254),
  password: z.string().min(1, 'is required').max(1000),
});
const inviteBody = z.strictObject({
  role: z.enum(['admin', 'employee']),
  workplaceId: idSchema.optional().describe('employees: their workplace (required)'),
  username: z.string().trim().optional().describe("default for employees: the workplace's username"),
  email: z.string().trim().toLowerCase().optional(),
});
const setPasswordBody = z.strictObject({
  token: z.string().min(1, 'is required').max(200),
  password: z.string(),
});
const forgotBody = z.strictObject({ login: z.string().trim().min(1, 'is required').max(254) });
const accountParams = cidParams.extend({ aid: idSchema });

export interface SessionOptions extends ApiDeps {
  throttle?: LoginThrottle;
  /** bounds scrypt work under a sign-in flood (password-gate.ts); tests pass a small one */
  passwordGate?: PasswordGate;
}

export const sessionsPlugin: FastifyPluginAsyncZod<SessionOptions> = async (app, deps) => {
  const { store, config, mailer, logger } = deps;
  const throttle = deps.throttle ?? new LoginThrottle();
  const gate = deps.passwordGate ?? new PasswordGate();
  const tags = ['web sign-in'];

  /** scrypt through the gate: 429 (this address) or 503 (the service) + Retry-After when busy */
  async function hashing<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> {
    try {
      return await gate.run(request.ip, work);
    } catch (err) {
      if (!(err instanceof GateBusyError)) throw err;
      const busy =
        err.reason === 'address'
          ? new ApiError(
              429,
              'rate_limited',
              'too many sign-ins from this address at once; try again shortly',
            )
          : new ApiError(503, 'unavailable', 'sign-in is busy; try again shortly');
      busy.retryAfterSeconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
      throw busy;
    }
  }

  async function deleteTokensOf(account: UserAccount): Promise<void> {
    const minted = (await store.tokens.list(account.companyId)).filter((t) => t.accountId === account.id);
    for (const t of minted) await store.tokens.delete(account.companyId, t.id);
  }

  /**
   * The background half of forgot-password. Only an account that has a password gets a reset
   * link: an invited account's open invitation must not be voided by an anonymous request (its
   * invitation link is the way in; an admin can send a new one).
   */
  async function sendReset(request: FastifyRequest, login: string): Promise<void> {
    const account = await store.accounts.byLogin(login);
    if (!account?.email || !account.passwordHash) return;
    await newLink(request, account, 'reset');
  }

  function setCookie(
    request: FastifyRequest,
    reply: FastifyReply,
    value: string,
    maxAgeSeconds: number,
  ): void {
    reply.setCookie(SESSION_COOKIE, value, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: isTls(request, config.PUBLIC_URL),
      maxAge: maxAgeSeconds,
    });
  }

  function linkUrl(request: FastifyRequest, token: string, purpose: 'invite' | 'reset'): string {
    const base = config.PUBLIC_URL?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`;
    // in the fragment: never sent to a server, so never in an access log or a Referer
    return `${base}/app/#/set-password?purpose=${purpose}&token=${token}`;
  }

  async function newLink(
    request: FastifyRequest,
    account: UserAccount,
    purpose: 'invite' | 'reset',
    mailTo: string | undefined = account.email,
  ): Promise<{ link: string; expiresAt: string; emailed: boolean }> {
    await store.accounts.deleteLinksOf(account.id);
    const token = secret();
    const ms = purpose === 'invite' ? INVITE_DAYS * 86_400_000 : RESET_HOURS * 3_600_000;
    const record: AccountLink = {
      hash: sha256(token),
      accountId: account.id,
      companyId: account.companyId,
      purpose,
      expiresAt: new Date(Date.now() + ms).toISOString(),
    };
    await store.accounts.createLink(record);
    const link = linkUrl(request, token, purpose);
    let emailed = false;
    if (mailer && mailTo) {
      try {
        await mailer.send(linkMail(config.SMTP_FROM, account, link, purpose, mailTo));
        emailed = true;
      } catch (err) {
        // the link itself is never logged
        logger.warn(
          { err: (err as Error).message, accountId: account.id },
          'invitation / reset mail not sent',
        );
      }
    }
    return { link, expiresAt: record.expiresAt, emailed };
  }

  app.post(
    '/auth/login',
    {
      config: { scope: 'public' },
      schema: { tags, security: [], body: loginBody, response: { 200: sessionView, ...errorResponses } },
    },
    async (request, reply) => {
      // no login CSRF: another site cannot sign a browser in to its own account
      checkOrigin(request);
      const { login, password } = request.body;
      const account = await store.accounts.byLogin(login.toLowerCase());
      // one budget per account, whichever of its names is typed; unknown names get their own
      const key = account ? `account:${account.id}` : `login:${login.toLowerCase()}`;
      // the attempt is taken (counted) BEFORE the slow check, in one synchronous step: parallel
      // guesses cannot all pass a check that only sees failures counted after their hashing
      const wait = throttle.reserve(key);
      if (wait > 0) {
        reply.header('retry-after', Math.ceil(wait / 1000));
        throw new ApiError(429, 'rate_limited', 'too many failed sign-ins for this account; try again later');
      }
      let ok: boolean;
      try {
        ok = await hashing(request, () => verifyPassword(password, account?.passwordHash));
      } catch (err) {
        // never checked (busy): the attempt does not count against the account
        throttle.cancel(key);
        throw err;
      }
      if (!ok || !account) throw unauthorized('wrong username or password');
      throttle.recordSuccess(key);
      const company = await loadCompany(store, account.companyId);
      const value = secret();
      const session: WebSession = {
        hash: sha256(value),
        accountId: account.id,
        companyId: account.companyId,
        csrf: secret(),
        createdAt: nowIso(),
        expiresAt: new Date(Date.now() + SESSION_HOURS * 3_600_000).toISOString(),
      };
      await store.accounts.createSession(session);
      setCookie(request, reply, value, SESSION_HOURS * 3600);
      return {
        account: toView(account),
        companyName: company.name,
        csrfToken: session.csrf,
        expiresAt: session.expiresAt,
      };
    },
  );

  app.get(
    '/auth/session',
    {
      config: { scope: 'public' },
      schema: { tags, security: [], response: { 200: sessionView, ...errorResponses } },
    },
    async (request) => {
      const found = await sessionOf(store, request);
      if (!found) throw unauthorized('not signed in');
      const company = await loadCompany(store, found.account.companyId);
      return {
        account: toView(found.account),
        companyName: company.name,
        csrfToken: found.session.csrf,
        expiresAt: found.session.expiresAt,
      };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { scope: 'public' },
      schema: { tags, security: [], response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const found = await sessionOf(store, request);
      if (found) {
        checkCsrf(request, found.session);
        await store.accounts.deleteSession(found.session);
      }
      setCookie(request, reply, '', 0);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/password',
    {
      config: { scope: 'public' },
      schema: {
        tags,
        security: [],
        description: 'Sets the password with the token of an invitation or reset link (single use).',
        body: setPasswordBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      checkOrigin(request);
      const { token, password } = request.body;
      // taking the link is the single-use step; a refused password gives it back below
      const hash = sha256(token);
      const peek = await store.accounts.takeLink(hash, Date.now());
      if (!peek)
        throw new ApiError(400, 'validation', 'this link is invalid, used or expired', [
          { path: 'token', message: 'this link is invalid, used or expired' },
        ]);
      const account = await store.accounts.get(peek.companyId, peek.accountId);
      if (!account) throw notFound('account');
      const workplace = account.workplaceId
        ? await store.workplaces.get(account.companyId, account.workplaceId)
        : undefined;
      const company = await store.companies.get(account.companyId);
      const problems = validatePassword(password, {
        username: account.username,
        ...(account.email ? { email: account.email } : {}),
        names: [workplace?.firstName, workplace?.lastName, company?.name].filter(
          (n): n is string => typeof n === 'string',
        ),
      });
      if (problems.length > 0) {
        // give the link back: the person corrects the password and submits again
        await store.accounts.createLink(peek);
        assertNoIssues(problems.map((message) => ({ path: 'password', message })));
      }
      const at = nowIso();
      const next: UserAccount = {
        ...account,
        passwordHash: await hashing(request, () => hashPassword(password)).catch(async (err: unknown) => {
          await store.accounts.createLink(peek);
          throw err;
        }),
        // tokens minted before now stop authenticating even if one escapes the deletion below
        credentialsSince: at,
        updatedAt: at,
      };
      await store.accounts.put(next, account);
      // a reset signs out every other browser, and ends what those browsers minted: whoever
      // reset the password because it leaked must not find the thief's API token still working
      await store.accounts.deleteSessionsOf(account.id);
      await deleteTokensOf(account);
      // a new password lifts a sign-in lock
      throttle.recordSuccess(`account:${account.id}`);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/forgot-password',
    {
      config: { scope: 'public' },
      schema: {
        tags,
        security: [],
        description:
          'Mails a reset link when the account exists, has an e-mail, and SMTP_URL and PUBLIC_URL are set. ' +
          'Always 202: the answer never tells whether an account exists. Otherwise an admin creates the link.',
        body: forgotBody,
        response: { 202: z.object({ status: z.literal('accepted') }), ...errorResponses },
      },
    },
    async (request, reply) => {
      checkOrigin(request);
      const login = request.body.login.toLowerCase();
      // the link's host must not come from the request of an anonymous caller (reset poisoning)
      if (mailer && config.PUBLIC_URL && throttle.retryAfterMs(`reset:${login}`) === 0) {
        throttle.recordFailure(`reset:${login}`);
        // answered before any lookup or mail: the response takes the same time whether the
        // account exists or not (the mail took ~900 ms, an unknown login ~4 ms); the work runs
        // after the answer, and an unknown login does the same lookup as a known one
        const log = request.log;
        setImmediate(() => {
          void sendReset(request, login).catch((err: unknown) => {
            log.warn({ err: (err as Error).message }, 'reset link not sent');
          });
        });
      }
      return reply.code(202).send({ status: 'accepted' as const });
    },
  );

  app.get(
    '/companies/:cid/accounts',
    {
      config: { scope: 'company' },
      schema: { tags, params: cidParams, response: { 200: z.array(accountView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return (await store.accounts.list(company.id)).map(toView);
    },
  );

  app.post(
    '/companies/:cid/accounts',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams,
        description: 'Invites an admin or an employee: answers the one-time link to set a password.',
        body: inviteBody,
        response: { 201: linkView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      const body = request.body;
      const issues: FieldIssue[] = [];
      let username = body.username;
      if (body.role === 'employee') {
        if (!body.workplaceId) issues.push({ path: 'workplaceId', message: 'is required for an employee' });
        else {
          const w = await store.workplaces.get(company.id, body.workplaceId);
          if (!w) issues.push({ path: 'workplaceId', message: 'no such workplace in this company' });
          else username ??= w.username;
        }
      } else if (body.workplaceId) {
        issues.push({ path: 'workplaceId', message: 'only for employees' });
      }
      if (username === undefined) {
        if (body.role === 'admin') issues.push({ path: 'username', message: 'is required' });
      } else for (const message of validateUsername(username)) issues.push({ path: 'username', message });
      if (body.email !== undefined)
        for (const message of validateEmail(body.email)) issues.push({ path: 'email', message });
      assertNoIssues(issues);
      const at = nowIso();
      const draft = (emailSignIn: boolean): UserAccount => ({
        id: newId(),
        companyId: company.id,
        role: body.role,
        ...(body.role === 'employee' && body.workplaceId ? { workplaceId: body.workplaceId } : {}),
        username: username!,
        ...(body.email ? { email: body.email } : {}),
        ...(body.email && !emailSignIn ? { emailSignIn: false } : {}),
        createdAt: at,
        updatedAt: at,
      });
      // E-mail sign-in names are unique across the platform. An address another company's
      // account already signs in with is not refused (that answer told this company who the
      // other one employs): the account is created and invited alike, the address kept for
      // mail only, and the person signs in with the username. Within the own company the
      // clash is said plainly (the admin sees those accounts anyway).
      const elsewhere = async (): Promise<boolean> => {
        if (!body.email) return false;
        const holder = await store.accounts.byLogin(body.email);
        return holder !== undefined && holder.companyId !== company.id;
      };
      let account = draft(!(await elsewhere()));
      try {
        await store.accounts.put(account);
      } catch (err) {
        // claimed by another company in between: same answer as above
        if (!(err instanceof ConflictError && err.field === 'email' && (await elsewhere()))) throw err;
        account = draft(false);
        await store.accounts.put(account);
      }
      const link = await newLink(request, account, 'invite');
      return reply.code(201).send({ account: toView(account), ...link });
    },
  );

  app.post(
    '/companies/:cid/accounts/:aid/reset-link',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: accountParams,
        description: 'A new one-time link to set a password (replaces open links); mailed when possible.',
        response: { 201: linkView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const account = await store.accounts.get(request.params.cid, request.params.aid);
      if (!account) throw notFound('account');
      const link = await newLink(request, account, account.passwordHash ? 'reset' : 'invite');
      return reply.code(201).send({ account: toView(account), ...link });
    },
  );

  app.delete(
    '/companies/:cid/accounts/:aid',
    {
      config: { scope: 'company' },
      schema: { tags, params: accountParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const account = await store.accounts.get(request.params.cid, request.params.aid);
      if (!account) throw notFound('account');
      if (request.principal?.accountId === account.id) throw forbidden('you cannot delete your own account');
      await store.accounts.delete(account);
      // tokens minted from its sessions go with it (each deletion ends its event streams)
      await deleteTokensOf(account);
      return reply.code(204).send(null);
    },
  );
};

function linkMail(from: string, account: UserAccount, link: string, purpose: 'invite' | 'reset', to: string) {
  const invite = purpose === 'invite';
  return {
    from,
    to,
    subject: invite
      ? 'Einladung zur Telefonanlage / Invitation to the phone system'
      : 'Passwort zurücksetzen / Reset your password',
    text: [
      invite
        ? `Sie wurden zur Telefonanlage eingeladen. Ihr Benutzername: ${account.username}`
        : `Mit diesem Link setzen Sie ein neues Passwort für ${account.username}.`,
      'Passwort festlegen:',
      link,
      '',
      invite
        ? `You have been invited to the phone system. Your username: ${account.username}`
        : `Use this link to set a new password for ${account.username}.`,
      'Set your password:',
      link,
      '',
      invite
        ? `Der Link gilt ${INVITE_DAYS} Tage / valid for ${INVITE_DAYS} days.`
        : `Der Link gilt ${RESET_HOURS} Stunden / valid for ${RESET_HOURS} hours.`,
    ].join('\n'),
  };
}
