/**
 * The call-through fraud guard's API: the company policy (validated, defaults for what is left
 * out, published to the controllers) and a workplace's lock, lifted only by an admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CALL_THROUGH_POLICY } from '../../src/domain/fraud.js';
import {
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

let t: TestApp;
let a: Awaited<ReturnType<typeof seedCompany>>;
let b: Awaited<ReturnType<typeof seedCompany>>;
let wid: string;
let otherWid: string;

beforeAll(async () => {
  t = await makeApp();
  a = await seedCompany(t.app, 'A GmbH', { first: '+4930555000', last: '+4930555099' });
  b = await seedCompany(t.app, 'B GmbH', { first: '+4940555000', last: '+4940555099' });
  wid = (
    await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930555001')),
      201,
    )
  ).id;
  otherWid = (
    await expectStatus(
      call(t.app, 'POST', `${b.base}/workplaces`, b.adminToken, workplaceBody('+4940555001')),
      201,
    )
  ).id;
});
afterAll(async () => t.close());

describe('call-through policy', () => {
  it('defaults until set; a PUT keeps what it names and defaults the rest', async () => {
    expect(
      await expectStatus(call(t.app, 'GET', `${a.base}/call-through-policy`, a.adminToken), 200),
    ).toEqual(DEFAULT_CALL_THROUGH_POLICY);
    const put = await expectStatus(
      call(t.app, 'PUT', `${a.base}/call-through-policy`, a.adminToken, {
        perWorkplace: { concurrent: 1 },
        allowedCountries: ['43', '41', '43'],
        lockAfterRefusals: 3,
      }),
      200,
    );
    expect(put).toMatchObject({
      perWorkplace: { perHour: 10, concurrent: 1, minutesPerDay: 120 },
      allowedCountries: ['43', '41'],
      lockAfterRefusals: 3,
      allowPremiumRate: false,
    });
    expect(
      await expectStatus(call(t.app, 'GET', `${a.base}/call-through-policy`, a.adminToken), 200),
    ).toEqual(put);
    // the company itself is unchanged otherwise and its view does not grow the policy
    const company = await expectStatus(call(t.app, 'GET', a.base, a.adminToken), 200);
    expect(company.name).toBe('A GmbH');
    expect(company.callThroughPolicy).toBeUndefined();
    // the stored settings reach the controllers through the store
    expect((await t.store.companies.get(a.company.id))?.callThroughPolicy).toMatchObject({
      lockAfterRefusals: 3,
    });
    // another company is untouched
    expect(
      await expectStatus(call(t.app, 'GET', `${b.base}/call-through-policy`, b.adminToken), 200),
    ).toEqual(DEFAULT_CALL_THROUGH_POLICY);
  });

  it('bad input is a 400 naming every bad field', async () => {
    const res = await call(t.app, 'PUT', `${a.base}/call-through-policy`, a.adminToken, {
      enabled: 'yes',
      perWorkplace: { perHour: -1, concurrent: 1.5, extra: 1 },
      perCompany: { minutesPerDay: 'lots' },
      premiumRatePrefixes: ['+49900', '0900'],
      // 'DE' is a region and accepted now; 'XX' is no region of the numbering plan
      allowedCountries: ['049', 'XX'],
      lockAfterRefusals: 5000,
      unknown: true,
    });
    expect(res.statusCode).toBe(400);
    expect(issuePaths(res.json())).toEqual([
      'allowedCountries.0',
      'allowedCountries.1',
      'enabled',
      'lockAfterRefusals',
      'perCompany.minutesPerDay',
      'perWorkplace.concurrent',
      'perWorkplace.extra',
      'perWorkplace.perHour',
      'premiumRatePrefixes',
      'unknown',
    ]);
  });

  it("another company's admin gets 404; an employee 403", async () => {
    expect((await call(t.app, 'GET', `${a.base}/call-through-policy`, b.adminToken)).statusCode).toBe(404);
    const employee = (
      await expectStatus(
        call(t.app, 'POST', `${a.base}/tokens`, a.adminToken, { role: 'employee', workplaceId: wid }),
        201,
      )
    ).token;
    expect((await call(t.app, 'PUT', `${a.base}/call-through-policy`, employee, {})).statusCode).toBe(403);
  });
});

describe('call-through lock', () => {
  it('shows the lock and the counters; DELETE lifts it', async () => {
    const lockUrl = `${a.base}/workplaces/${wid}/call-through-lock`;
    expect(await expectStatus(call(t.app, 'GET', lockUrl, a.adminToken), 200)).toMatchObject({
      locked: false,
      refusalsToday: 0,
      workplace: { thisHour: 0, active: 0, secondsToday: 0 },
    });
    const policy = { ...DEFAULT_CALL_THROUGH_POLICY, lockAfterRefusals: 1 };
    const verdict = await t.store.callThroughs.admit({
      callId: 'c1',
      companyId: a.company.id,
      workplaceId: wid,
      nowMs: Date.now(),
      country: '49',
      refusal: 'premium-rate',
      policy,
      leaseSeconds: 60,
    });
    expect(verdict).toMatchObject({ kind: 'refused', lockedNow: true });
    expect(await expectStatus(call(t.app, 'GET', lockUrl, a.adminToken), 200)).toMatchObject({
      locked: true,
      reason: 'premium-rate',
      refusalsToday: 1,
    });
    await expectStatus(call(t.app, 'DELETE', lockUrl, a.adminToken), 204);
    expect(await expectStatus(call(t.app, 'GET', lockUrl, a.adminToken), 200)).toMatchObject({
      locked: false,
      refusalsToday: 0,
    });
  });

  it("another company's workplace is not found", async () => {
    const url = `${a.base}/workplaces/${otherWid}/call-through-lock`;
    expect((await call(t.app, 'GET', url, a.adminToken)).statusCode).toBe(404);
    expect((await call(t.app, 'DELETE', url, a.adminToken)).statusCode).toBe(404);
  });
});
