/**
 * Web app sign-in over the API: invitation → set password → sign in → cookie session with
 * CSRF; per-account throttle; reset links; mail through a local SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/api/login-throttle.js';
import { createSmtpMailer } from '../../src/mail/smtp.js';
import { startSmtpServer } from '../support/smtp-server.js';
import {
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

const PASSWORD = 'correct horse battery';

function cookieOf(res: { headers: Record<string, unknown> }): { header: string; value: string } {
  const raw = res.headers['set-cookie'];
  const line = (Array.isArray(raw) ? raw[0] : raw) as string;
  return { header: line, value: line.split(';')[0]!.split('=')[1]! };
}

describe('web sign-in', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let now = 1_000_000;
  const throttle = new LoginThrottle(() => now);
  let a: Awaited<ReturnType<typeof seedCompany>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await makeApp({
      mailer: createSmtpMailer(smtp.url),
      loginThrottle: throttle,
      env: { SMTP_FROM: 'pbx@example.com' },
    });
    a = await seedCompany(t.app);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  async function invite(body: Record<string, unknown>) {
    return expectStatus(call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, body), 201);
  }
  async function setPassword(link: string, password = PASSWORD) {
    const token = new URL(link.replace('#/', '')).searchParams.get('token')!;
    return call(t.app, 'POST', '/v1/auth/password', undefined, { token, password });
  }
  async function login(loginName: string, password = PASSWORD) {
    return call(t.app, 'POST', '/v1/auth/login', undefined, { login: loginName, password });
  }

  it('an invited admin sets a password, signs in and gets an HttpOnly SameSite=Strict cookie', async () => {
    const mailed = smtp.next();
    const inv = await invite({ role: 'admin', username: 'chef.admin', email: 'chef@example.com' });
    expect(inv.account.status).toBe('invited');
    expect(inv.emailed).toBe(true);
    expect(inv.link).toMatch(/\/app\/#\/set-password\?purpose=invite&token=/);
    const mail = await mailed;
    expect(mail.to).toEqual(['chef@example.com']);
    expect(mail.data).toContain(inv.link);

    // bad password: named at the field, and the link still works afterwards
    const weak = await setPassword(inv.link, 'short');
    expect(weak.statusCode).toBe(400);
    expect(issuePaths(weak.json())).toEqual(['password']);
    expect((await setPassword(inv.link)).statusCode).toBe(204);
    // single use
    const again = await setPassword(inv.link);
    expect(again.statusCode).toBe(400);
    expect(issuePaths(again.json())).toEqual(['token']);

    // another site cannot sign the browser in (login CSRF)
    const foreign = await call(
      t.app,
      'POST',
      '/v1/auth/login',
      undefined,
      { login: 'chef@example.com', password: PASSWORD },
      {
        headers: { origin: 'https://evil.example' },
      },
    );
    expect(foreign.statusCode).toBe(403);
    expect(foreign.headers['set-cookie']).toBeUndefined();
    const res = await login('chef@example.com');
    expect(res.statusCode, res.body).toBe(200);
    const cookie = cookieOf(res);
    expect(cookie.header).toMatch(/HttpOnly/);
    expect(cookie.header).toMatch(/SameSite=Strict/);
    expect(cookie.header).not.toMatch(/Secure/); // plain HTTP here
    expect(res.body).not.toContain(cookie.value);
    const session = await expectStatus(
      call(t.app, 'GET', '/v1/auth/session', undefined, undefined, {
        cookies: { pbx_session: cookie.value },
      }),
      200,
    );
    expect(session.account.role).toBe('admin');
    expect(session.account).not.toHaveProperty('passwordHash');

    // the cookie authenticates the API; state changes need the CSRF token
    const cookies = { pbx_session: cookie.value };
    await expectStatus(call(t.app, 'GET', `${a.base}/workplaces`, undefined, undefined, { cookies }), 200);
    const noCsrf = await call(
      t.app,
      'POST',
      `${a.base}/workplaces`,
      undefined,
      workplaceBody('+4930123401'),
      { cookies },
    );
    expect(noCsrf.statusCode).toBe(403);
    const crossOrigin = await call(
      t.app,
      'POST',
      `${a.base}/workplaces`,
      undefined,
      workplaceBody('+4930123401'),
      {
        cookies,
        headers: { 'x-csrf-token': session.csrfToken, origin: 'https://evil.example' },
      },
    );
    expect(crossOrigin.statusCode).toBe(403);
    await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, undefined, workplaceBody('+4930123401'), {
        cookies,
        headers: { 'x-csrf-token': session.csrfToken, origin: 'http://localhost:80', host: 'localhost:80' },
      }),
      201,
    );
    // another company does not exist for this session
    const other = await seedCompany(t.app, 'Other', { first: '+4940123400', last: '+4940123499' });
    expect(
      (await call(t.app, 'GET', `${other.base}/workplaces`, undefined, undefined, { cookies })).statusCode,
    ).toBe(404);

    // sign out ends the session
    await expectStatus(
      call(t.app, 'POST', '/v1/auth/logout', undefined, undefined, {
        cookies,
        headers: { 'x-csrf-token': session.csrfToken },
      }),
      204,
    );
    expect(
      (await call(t.app, 'GET', `${a.base}/workplaces`, undefined, undefined, { cookies })).statusCode,
    ).toBe(401);
  });

  it('an employee account is limited to its own workplace', async () => {
    const w = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930123402')),
      201,
    );
    const w2 = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930123403')),
      201,
    );
    const inv = await invite({ role: 'employee', workplaceId: w.id });
    expect(inv.account.username).toBe(w.username);
    expect(inv.emailed).toBe(false); // no e-mail given
    await setPassword(inv.link);
    const cookies = { pbx_session: cookieOf(await login(w.username)).value };
    await expectStatus(
      call(t.app, 'GET', `${a.base}/workplaces/${w.id}/forwarding`, undefined, undefined, { cookies }),
      200,
    );
    expect(
      (
        await call(t.app, 'GET', `${a.base}/workplaces/${w2.id}/forwarding`, undefined, undefined, {
          cookies,
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await call(t.app, 'GET', `${a.base}/workplaces`, undefined, undefined, { cookies })).statusCode,
    ).toBe(403);
    // deleting the workplace deletes its employee account
    await expectStatus(call(t.app, 'DELETE', `${a.base}/workplaces/${w.id}`, a.adminToken), 204);
    expect((await login(w.username)).statusCode).toBe(401);
  });

  it('invitations name every bad field', async () => {
    const res = await call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, {
      role: 'employee',
      username: 'Ab',
      email: 'not-an-address',
    });
    expect(res.statusCode).toBe(400);
    expect(issuePaths(res.json())).toEqual(['email', 'username', 'workplaceId']);
    const taken = await call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, {
      role: 'admin',
      username: 'chef.admin',
    });
    expect(taken.statusCode).toBe(409);
    expect(issuePaths(taken.json())).toEqual(['username']);
  });

  it('failed sign-ins lock that account only, for a while, whatever the address', async () => {
    const inv = await invite({ role: 'admin', username: 'victim.admin', email: 'victim@example.com' });
    await setPassword(inv.link);
    // one budget per account, whichever of its names is typed
    for (let i = 0; i < 3; i++) expect((await login('victim.admin', 'wrong password!')).statusCode).toBe(401);
    for (let i = 0; i < 2; i++)
      expect((await login('Victim@Example.com', 'wrong password!')).statusCode).toBe(401);
    // now even the right password waits
    const locked = await login('victim.admin');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // another account behind the same address is not affected
    expect((await login('chef.admin')).statusCode).toBe(200);
    now += 31_000;
    expect((await login('victim.admin')).statusCode).toBe(200);
  });

  it('an admin reset link signs the account out everywhere and sets a new password', async () => {
    const accounts = await expectStatus(call(t.app, 'GET', `${a.base}/accounts`, a.adminToken), 200);
    const chef = accounts.find((x: { username: string }) => x.username === 'chef.admin');
    expect(chef.status).toBe('active');
    const cookies = { pbx_session: cookieOf(await login('chef.admin')).value };
    const reset = await expectStatus(
      call(t.app, 'POST', `${a.base}/accounts/${chef.id}/reset-link`, a.adminToken),
      201,
    );
    expect(reset.link).toContain('purpose=reset');
    expect((await setPassword(reset.link, 'a brand new passphrase')).statusCode).toBe(204);
    expect((await call(t.app, 'GET', '/v1/auth/session', undefined, undefined, { cookies })).statusCode).toBe(
      401,
    );
    expect((await login('chef.admin')).statusCode).toBe(401);
    expect((await login('chef.admin', 'a brand new passphrase')).statusCode).toBe(200);
  });

  it('the web app is served with strict security headers and nothing outside web/', async () => {
    const index = await call(t.app, 'GET', '/app/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect((await call(t.app, 'GET', '/app/app.js')).headers['content-type']).toMatch(/javascript/);
    expect((await call(t.app, 'GET', '/app')).statusCode).toBe(302);
    for (const url of ['/app/../package.json', '/app/..%2fpackage.json', '/app/%2e%2e/src/main.ts']) {
      const res = await call(t.app, 'GET', url);
      expect(res.statusCode, url).not.toBe(200);
      expect(res.body).not.toContain('open-cloud-pbx');
    }
    // the OpenAPI document does not list the static files
    const doc = await expectStatus(call(t.app, 'GET', '/docs/json'), 200);
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/app'))).toBe(false);
  });

  it('self-service reset answers 202 and mails nothing without PUBLIC_URL (no host-header links)', async () => {
    const before = smtp.mails.length;
    await expectStatus(
      call(t.app, 'POST', '/v1/auth/forgot-password', undefined, { login: 'chef@example.com' }),
      202,
    );
    await expectStatus(
      call(t.app, 'POST', '/v1/auth/forgot-password', undefined, { login: 'nobody@example.com' }),
      202,
    );
    expect(smtp.mails.length).toBe(before);
  });
});

describe('web sign-in behind TLS', () => {
  it.each([
    ['a trusted proxy says https', { TRUST_PROXY: '127.0.0.1' }, { 'x-forwarded-proto': 'https' }],
    ['PUBLIC_URL is https', { PUBLIC_URL: 'https://pbx.example.com' }, {}],
  ])('the session cookie is Secure when %s', async (_name, env, headers) => {
    const t = await makeApp({ storeKind: 'memory', env });
    try {
      const a = await seedCompany(t.app);
      const inv = await expectStatus(
        call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, { role: 'admin', username: 'tls.admin' }),
        201,
      );
      const token = new URL(inv.link.replace('#/', '')).searchParams.get('token');
      await expectStatus(
        call(t.app, 'POST', '/v1/auth/password', undefined, { token, password: PASSWORD }),
        204,
      );
      const res = await call(
        t.app,
        'POST',
        '/v1/auth/login',
        undefined,
        { login: 'tls.admin', password: PASSWORD },
        { headers },
      );
      expect(res.statusCode, res.body).toBe(200);
      expect(cookieOf(res).header).toMatch(/; Secure/);
      if ('PUBLIC_URL' in env) expect(inv.link).toMatch(/^https:\/\/pbx\.example\.com\/app\/#\/set-password/);
    } finally {
      await t.close();
    }
  });
});
