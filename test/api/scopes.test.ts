/**
 * Every route × every kind of caller. The table must list every route of the OpenAPI
 * document (a new route without a row fails the last test), and every route's expected
 * outcome follows from its declared scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDeclaredScope } from '../../src/api/app.js';
import { AuthFailureLimiter } from '../../src/api/auth.js';
import {
  ADMIN_TOKEN,
  call,
  expectStatus,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

/** 'events': the WebSocket authenticates itself; every token of the company may watch (employees filtered) */
type Scope = 'platform' | 'company' | 'workplace' | 'employee' | 'events';
type Caller = 'none' | 'bad' | 'platform' | 'adminSame' | 'adminOther' | 'employeeOwn' | 'employeeOther';
const CALLERS: Caller[] = [
  'none',
  'bad',
  'platform',
  'adminSame',
  'adminOther',
  'employeeOwn',
  'employeeOther',
];

interface Row {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  scope: Scope;
  /** ids to use instead of the fixture's (e.g. a missing one, so nothing real gets deleted) */
  ids?: Record<string, string>;
}

const c = '/v1/companies/{cid}';
const w = `${c}/workplaces/{wid}`;
const ROWS: Row[] = [
  { method: 'POST', path: '/v1/companies', scope: 'platform' },
  { method: 'GET', path: '/v1/companies', scope: 'platform' },
  { method: 'GET', path: c, scope: 'company' },
  { method: 'PATCH', path: c, scope: 'company' },
  { method: 'DELETE', path: c, scope: 'platform', ids: { cid: 'throwaway' } },
  { method: 'POST', path: `${c}/tokens`, scope: 'company' },
  { method: 'GET', path: `${c}/tokens`, scope: 'company' },
  { method: 'DELETE', path: `${c}/tokens/{tid}`, scope: 'company' },
  { method: 'POST', path: `${c}/groups`, scope: 'company' },
  { method: 'GET', path: `${c}/groups`, scope: 'company' },
  { method: 'GET', path: `${c}/groups/{gid}`, scope: 'company' },
  { method: 'PATCH', path: `${c}/groups/{gid}`, scope: 'company' },
  { method: 'DELETE', path: `${c}/groups/{gid}`, scope: 'company' },
  { method: 'GET', path: `${c}/groups/{gid}/available-numbers`, scope: 'company' },
  { method: 'POST', path: `${c}/groups/{gid}/areas`, scope: 'company' },
  { method: 'GET', path: `${c}/groups/{gid}/areas`, scope: 'company' },
  { method: 'GET', path: `${c}/groups/{gid}/areas/{aid}`, scope: 'company' },
  { method: 'PATCH', path: `${c}/groups/{gid}/areas/{aid}`, scope: 'company' },
  { method: 'DELETE', path: `${c}/groups/{gid}/areas/{aid}`, scope: 'company' },
  { method: 'POST', path: `${c}/blocking-profiles`, scope: 'company' },
  { method: 'GET', path: `${c}/blocking-profiles`, scope: 'company' },
  { method: 'GET', path: `${c}/blocking-profiles/{pid}`, scope: 'company' },
  { method: 'PATCH', path: `${c}/blocking-profiles/{pid}`, scope: 'company' },
  { method: 'DELETE', path: `${c}/blocking-profiles/{pid}`, scope: 'company' },
  { method: 'POST', path: `${c}/schedules`, scope: 'company' },
  { method: 'GET', path: `${c}/schedules`, scope: 'employee' },
  { method: 'GET', path: `${c}/schedules/{sid}`, scope: 'employee' },
  { method: 'PATCH', path: `${c}/schedules/{sid}`, scope: 'company' },
  { method: 'DELETE', path: `${c}/schedules/{sid}`, scope: 'company' },
  { method: 'POST', path: `${c}/templates`, scope: 'company' },
  { method: 'GET', path: `${c}/templates`, scope: 'company' },
  { method: 'GET', path: `${c}/templates/{tid}`, scope: 'company' },
  { method: 'PUT', path: `${c}/templates/{tid}`, scope: 'company' },
  { method: 'DELETE', path: `${c}/templates/{tid}`, scope: 'company' },
  { method: 'POST', path: `${c}/workplaces`, scope: 'company' },
  { method: 'GET', path: `${c}/workplaces`, scope: 'company' },
  { method: 'POST', path: `${c}/workplaces/import`, scope: 'company' },
  { method: 'POST', path: `${c}/workplaces/credentials`, scope: 'company' },
  { method: 'GET', path: w, scope: 'workplace' },
  { method: 'PATCH', path: w, scope: 'company' },
  { method: 'DELETE', path: w, scope: 'company', ids: { wid: 'missing' } },
  { method: 'POST', path: `${w}/provision`, scope: 'company' },
  { method: 'GET', path: `${w}/devices`, scope: 'company' },
  { method: 'POST', path: `${w}/devices`, scope: 'company' },
  { method: 'DELETE', path: `${w}/devices/{did}`, scope: 'company' },
  { method: 'POST', path: `${w}/devices/{did}/credentials`, scope: 'company' },
  { method: 'GET', path: `${w}/forwarding`, scope: 'workplace' },
  { method: 'PUT', path: `${w}/forwarding`, scope: 'workplace' },
  { method: 'GET', path: `${w}/parallel-ringing`, scope: 'workplace' },
  { method: 'PUT', path: `${w}/parallel-ringing`, scope: 'workplace' },
  { method: 'GET', path: `${w}/voicebox`, scope: 'workplace' },
  { method: 'PUT', path: `${w}/voicebox`, scope: 'workplace' },
  { method: 'DELETE', path: `${w}/voicebox/lock`, scope: 'company' },
  { method: 'GET', path: `${w}/caller-id`, scope: 'workplace' },
  { method: 'PUT', path: `${w}/caller-id`, scope: 'workplace' },
  { method: 'GET', path: `${w}/availability`, scope: 'workplace' },
  { method: 'PUT', path: `${w}/availability`, scope: 'workplace' },
  { method: 'GET', path: `${w}/selective-forwarding`, scope: 'workplace' },
  { method: 'PUT', path: `${w}/selective-forwarding`, scope: 'workplace' },
  { method: 'GET', path: `${w}/voicebox/messages`, scope: 'workplace' },
  { method: 'GET', path: `${w}/voicebox/messages/{mid}`, scope: 'workplace' },
  { method: 'PATCH', path: `${w}/voicebox/messages/{mid}`, scope: 'workplace' },
  { method: 'DELETE', path: `${w}/voicebox/messages/{mid}`, scope: 'workplace' },
  { method: 'GET', path: `${w}/voicebox/messages/{mid}/audio`, scope: 'workplace' },
  { method: 'POST', path: `${c}/anywhere-portals`, scope: 'company' },
  { method: 'GET', path: `${c}/anywhere-portals`, scope: 'company' },
  { method: 'GET', path: `${c}/anywhere-portals/{pid}`, scope: 'company' },
  { method: 'PATCH', path: `${c}/anywhere-portals/{pid}`, scope: 'company' },
  { method: 'DELETE', path: `${c}/anywhere-portals/{pid}`, scope: 'company' },
  { method: 'POST', path: `${c}/routing/explain`, scope: 'employee' },
  { method: 'GET', path: `${c}/call-through-policy`, scope: 'company' },
  { method: 'PUT', path: `${c}/call-through-policy`, scope: 'company' },
  { method: 'GET', path: `${w}/call-through-lock`, scope: 'company' },
  { method: 'DELETE', path: `${w}/call-through-lock`, scope: 'company' },
  { method: 'POST', path: `${c}/event-tickets`, scope: 'company' },
  { method: 'POST', path: `${w}/event-tickets`, scope: 'workplace' },
  { method: 'GET', path: `${c}/events`, scope: 'events' },
  { method: 'GET', path: `${c}/calls`, scope: 'company' },
  { method: 'GET', path: `${w}/calls`, scope: 'workplace' },
  { method: 'GET', path: `${c}/accounts`, scope: 'company' },
  { method: 'POST', path: `${c}/accounts`, scope: 'company' },
  { method: 'POST', path: `${c}/accounts/{aid}/reset-link`, scope: 'company' },
  { method: 'DELETE', path: `${c}/accounts/{aid}`, scope: 'company' },
];
const PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'POST /v1/auth/login',
  'GET /v1/auth/session',
  'POST /v1/auth/logout',
  'POST /v1/auth/password',
  'POST /v1/auth/forgot-password',
];

/** What a caller gets from a route of a scope: an exact status, or 'allowed' (passes auth). */
function expected(scope: Scope, caller: Caller): number | 'allowed' {
  if (caller === 'none' || caller === 'bad') return 401;
  if (caller === 'platform') return 'allowed';
  if (scope === 'events') return caller === 'adminOther' ? 404 : 'allowed';
  if (scope === 'platform') return 403;
  if (caller === 'adminOther') return 404;
  if (caller === 'adminSame') return 'allowed';
  if (scope === 'company') return 403;
  // 'employee': every employee of the company passes auth; the route limits it to its workplace
  if (scope === 'employee') return 'allowed';
  return caller === 'employeeOwn' ? 'allowed' : 403;
}

describe('route scopes', () => {
  let t: TestApp;
  const tokens = {} as Record<Caller, string | undefined>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await makeApp();
    const a = await seedCompany(t.app, 'A GmbH', { first: '+4930555000', last: '+4930555099' });
    const b = await seedCompany(t.app, 'B GmbH', { first: '+4940555000', last: '+4940555099' });
    const throwaway = await expectStatus(
      call(t.app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: 'C' }),
      201,
    );
    const own = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930555001')),
      201,
    );
    const other = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930555002')),
      201,
    );
    await expectStatus(
      call(t.app, 'POST', `${b.base}/workplaces`, b.adminToken, workplaceBody('+4940555001')),
      201,
    );
    const employee = async (wid: string) =>
      (
        await expectStatus(
          call(t.app, 'POST', `${a.base}/tokens`, a.adminToken, { role: 'employee', workplaceId: wid }),
          201,
        )
      ).token;
    Object.assign(tokens, {
      none: undefined,
      bad: 'pbx_not-a-real-token',
      platform: ADMIN_TOKEN,
      adminSame: a.adminToken,
      adminOther: b.adminToken,
      employeeOwn: await employee(own.id),
      employeeOther: await employee(other.id),
    });
    Object.assign(ids, {
      cid: a.company.id,
      gid: a.group.id,
      wid: own.id,
      throwaway: throwaway.id,
      tid: 'missing',
      aid: 'missing',
      pid: 'missing',
      did: 'missing',
      mid: 'missing',
    });
  });
  afterAll(async () => t.close());

  const cases = ROWS.flatMap((row) =>
    CALLERS.map((caller) => [`${row.method} ${row.path} as ${caller}`, row, caller] as const),
  );
  it.each(cases)('%s', async (_name, row, caller) => {
    const url = row.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const override = row.ids?.[name];
      return override !== undefined ? (ids[override] ?? override) : ids[name]!;
    });
    const body = ['POST', 'PUT', 'PATCH'].includes(row.method) ? {} : undefined;
    const res = await call(t.app, row.method, url, tokens[caller], body);
    const want = expected(row.scope, caller);
    if (want === 'allowed') {
      expect([401, 403, 429], res.body).not.toContain(res.statusCode);
      expect(res.statusCode, res.body).toBeLessThan(500);
      if (res.statusCode === 404) expect(res.json().message).not.toBe('company not found');
    } else {
      expect(res.statusCode, res.body).toBe(want);
    }
  });

  it('the OpenAPI document lists exactly the routes of the table, each with the bearer scheme', async () => {
    const doc = await expectStatus(call(t.app, 'GET', '/docs/json'), 200);
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(
      doc.paths as Record<string, Record<string, { security?: unknown[] }>>,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path}`;
        documented.push(key);
        if (PUBLIC.includes(key)) expect(op.security, key).toEqual([]);
        else expect(op.security, key).toBeUndefined(); // the document-wide bearerAuth applies
      }
    }
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(documented.sort()).toEqual([...ROWS.map((r) => `${r.method} ${r.path}`), ...PUBLIC].sort());
  });

  it('health routes need no token', async () => {
    await expectStatus(call(t.app, 'GET', '/healthz'), 200);
    expect(await expectStatus(call(t.app, 'GET', '/readyz'), 200)).toMatchObject({ status: 'ready' });
  });
});

describe('scope declaration guard', () => {
  it('refuses a route without a declared scope', () => {
    expect(() => requireDeclaredScope({ method: 'GET', url: '/v1/new-thing', config: {} })).toThrow(
      /declares no scope/,
    );
    expect(() => requireDeclaredScope({ method: 'GET', url: '/v1/new-thing' })).toThrow(/declares no scope/);
  });
  it('accepts declared scopes and makes the docs public', () => {
    expect(() =>
      requireDeclaredScope({ method: 'GET', url: '/v1/x', config: { scope: 'company' } }),
    ).not.toThrow();
    const docs: { method: string; url: string; config?: { scope?: 'public' } } = {
      method: 'GET',
      url: '/docs/json',
    };
    requireDeclaredScope(docs);
    expect(docs.config?.scope).toBe('public');
  });
});

describe('AuthFailureLimiter', () => {
  it('blocks an address after the limit within the window, and forgets it afterwards', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(3, 1000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.isBlocked('a')).toBe(false);
      limiter.recordFailure('a');
    }
    expect(limiter.isBlocked('a')).toBe(true);
    expect(limiter.isBlocked('b')).toBe(false);
    now = 1000;
    expect(limiter.isBlocked('a')).toBe(false);
  });
});
