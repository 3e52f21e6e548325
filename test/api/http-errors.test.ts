/** Bad input at the HTTP level never becomes a 500: malformed JSON, wrong type, oversized bodies; bad tokens get rate limited. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, expectStatus, makeApp, seedCompany, type TestApp } from './helpers.js';

describe('HTTP-level errors', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;

  beforeAll(async () => {
    t = await makeApp({ storeKind: 'memory', authFailures: { maxFailures: 5, windowMs: 3_600_000 } });
    s = await seedCompany(t.app);
  });
  afterAll(async () => t.close());

  const raw = (
    payload: string | Buffer,
    contentType: string,
    url = '/v1/companies',
    remoteAddress = '127.0.0.1',
  ) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType },
      payload,
      remoteAddress,
    });

  it('malformed JSON → 400', async () => {
    const res = await raw('{"name": ', 'application/json');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'malformed_json' });
  });

  it('empty JSON body → 400', async () => {
    const res = await raw('', 'application/json');
    expect(res.statusCode).toBe(400);
  });

  it('wrong content type → 415', async () => {
    const res = await raw('<company/>', 'application/xml');
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('JSON body over 1 MiB → 413', async () => {
    const res = await raw(JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }), 'application/json');
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'body_too_large' });
  });

  it('CSV over 5 MiB → 413, CSV of 2 MiB is parsed (and validated)', async () => {
    const url = `${s.base}/workplaces/import`;
    const big = await t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'text/csv' },
      payload: 'firstName\n' + 'x\n'.repeat(3 * 1024 * 1024),
    });
    expect(big.statusCode).toBe(413);
    const medium = await t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'text/csv; charset=utf-8' },
      payload: 'colour\n' + 'x\n'.repeat(1024 * 1024),
    });
    expect(medium.statusCode).toBe(400);
  });

  it('unknown route → 404 in the error shape', async () => {
    const res = await call(t.app, 'GET', '/v1/nothing', ADMIN_TOKEN);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found' });
  });

  it('invalid path ids → 400 naming the parameter', async () => {
    const res = await call(t.app, 'GET', '/v1/companies/bad%20id', ADMIN_TOKEN);
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].path).toBe('params.cid');
  });

  it('repeated bad tokens from one address → 429, other addresses unaffected', async () => {
    const attempt = (remoteAddress: string, token = 'pbx_wrong') =>
      t.app.inject({
        method: 'GET',
        url: '/v1/companies',
        headers: { authorization: `Bearer ${token}` },
        remoteAddress,
      });
    for (let i = 0; i < 5; i++) expect((await attempt('10.0.0.9')).statusCode).toBe(401);
    expect((await attempt('10.0.0.9')).statusCode).toBe(429);
    expect((await attempt('10.0.0.10')).statusCode).toBe(401);
  });

  it('a valid token always passes, also from an address locked out by junk tokens (shared NAT)', async () => {
    const attempt = (token: string) =>
      t.app.inject({
        method: 'GET',
        url: `/v1/companies/${s.company.id}`,
        headers: { authorization: `Bearer ${token}` },
        remoteAddress: '10.0.0.20',
      });
    for (let i = 0; i < 8; i++) expect([401, 429]).toContain((await attempt('pbx_junk')).statusCode);
    expect((await attempt('pbx_junk')).statusCode).toBe(429);
    expect((await attempt(ADMIN_TOKEN)).statusCode).toBe(200);
    expect((await attempt(s.adminToken)).statusCode).toBe(200);
    // and still locked for the junk
    expect((await attempt('pbx_junk')).statusCode).toBe(429);
  });

  it('the docs page is served', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(res.statusCode);
    await expectStatus(call(t.app, 'GET', '/docs/json'), 200);
  });
});
