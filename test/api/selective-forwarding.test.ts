/** Selective forwarding through the API: rules by caller, every bad field named, all or nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

describe('selective forwarding', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<typeof seedCompany>>;

  beforeAll(async () => {
    t = await makeApp();
    a = await seedCompany(t.app, 'S GmbH', { first: '+4930666000', last: '+4930666049' });
  });
  afterAll(async () => t.close());

  it('stores rules by caller in E.164 (prefixes keep their "*"), and routing explain applies them', async () => {
    const w = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930666010')),
      201,
    );
    const url = `${a.base}/workplaces/${w.id}/selective-forwarding`;
    expect(await expectStatus(call(t.app, 'GET', url, a.adminToken), 200)).toEqual({ rules: [] });

    const bad = await expectStatus(
      call(t.app, 'PUT', url, a.adminToken, {
        rules: [
          { callers: ['0171 1234567', 'not a number'], target: '+4930666010' },
          { callers: [], target: '030 777' },
          { callers: ['49*'], anonymous: true, target: 'voicebox' },
        ],
      }),
      400,
    );
    expect(issuePaths(bad)).toEqual([
      'rules.0.callers.1',
      'rules.0.target.number',
      'rules.1.callers',
      'rules.2.callers.0',
      'rules.2.target',
    ]);
    expect(await expectStatus(call(t.app, 'GET', url, a.adminToken), 200)).toEqual({ rules: [] });

    const saved = await expectStatus(
      call(t.app, 'PUT', url, a.adminToken, {
        rules: [
          { callers: ['0171 1234567', '089*'], target: '030 777 888' },
          { enabled: false, callers: ['+4940111'], target: '+4930555' },
        ],
      }),
      200,
    );
    expect(saved.rules).toEqual([
      {
        enabled: true,
        callers: ['+491711234567', '+4989*'],
        anonymous: false,
        target: { number: '+4930777888' },
      },
      { enabled: false, callers: ['+4940111'], anonymous: false, target: { number: '+4930555' } },
    ]);

    const explain = await expectStatus(
      call(t.app, 'POST', `${a.base}/routing/explain`, a.adminToken, { from: '+4989123', to: w.number }),
      200,
    );
    expect(explain.plan.first).toMatchObject({
      action: 'forward',
      reason: 'selective',
      leg: { number: '+4930777888' },
    });
    const other = await expectStatus(
      call(t.app, 'POST', `${a.base}/routing/explain`, a.adminToken, { from: '+4940111', to: w.number }),
      200,
    );
    expect(other.plan.first.reason).not.toBe('selective');

    // an empty list removes them
    expect(await expectStatus(call(t.app, 'PUT', url, a.adminToken, { rules: [] }), 200)).toEqual({
      rules: [],
    });
  });
});
