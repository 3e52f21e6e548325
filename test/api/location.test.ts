/** A location's address and networks, a workplace's nomadic use, the company's main number. */
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

describe('location, nomadic use and main number', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;

  beforeAll(async () => {
    t = await makeApp();
    s = await seedCompany(t.app, 'L GmbH', { first: '+4930444000', last: '+4930444049' });
  });
  afterAll(async () => t.close());

  it('a group takes a postal address and networks; each bad field is named, nothing is half-applied', async () => {
    const groupUrl = `${s.base}/groups/${s.group.id}`;
    const bad = await expectStatus(
      call(t.app, 'PATCH', groupUrl, s.adminToken, {
        address: { street: '', postalCode: '!', city: 'Berlin', country: 'Germany' },
        networks: ['203.0.113.0/24', '203.0.113.7/24', 'office'],
      }),
      400,
    );
    expect(issuePaths(bad).sort()).toEqual(['address.country', 'address.postalCode', 'address.street']);
    const badNets = await expectStatus(
      call(t.app, 'PATCH', groupUrl, s.adminToken, {
        networks: ['203.0.113.0/24', '203.0.113.7/24', 'office'],
      }),
      400,
    );
    expect(issuePaths(badNets)).toEqual(['networks[1]', 'networks[2]']);
    expect(JSON.stringify(badNets)).toContain('host bits');
    const unchanged = await expectStatus(call(t.app, 'GET', groupUrl, s.adminToken), 200);
    expect(unchanged.networks).toBeUndefined();
    expect(unchanged.address).toBeUndefined();

    const ok = await expectStatus(
      call(t.app, 'PATCH', groupUrl, s.adminToken, {
        address: { street: 'Alexanderplatz 1', postalCode: '10178', city: 'Berlin', country: 'de' },
        networks: ['203.0.113.0/24', '198.51.100.7'],
      }),
      200,
    );
    expect(ok.address).toEqual({
      street: 'Alexanderplatz 1',
      postalCode: '10178',
      city: 'Berlin',
      country: 'DE',
    });
    expect(ok.networks).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
  });

  it('a workplace may be restricted to its location only when the location has networks', async () => {
    const other = await expectStatus(
      call(t.app, 'POST', `${s.base}/groups`, s.adminToken, {
        name: 'Hamburg',
        timezone: 'Europe/Berlin',
        numberRanges: [{ first: '+4940444000', last: '+4940444009' }],
      }),
      201,
    );
    const wp = await expectStatus(
      call(
        t.app,
        'POST',
        `${s.base}/workplaces`,
        s.adminToken,
        workplaceBody('+4940444001', { groupId: other.id }),
      ),
      201,
    );
    expect(wp.nomadicUse).toBe('allowed');
    const refused = await expectStatus(
      call(t.app, 'PATCH', `${s.base}/workplaces/${wp.id}`, s.adminToken, { nomadicUse: 'restricted' }),
      400,
    );
    expect(issuePaths(refused)).toEqual(['nomadicUse']);
    await expectStatus(
      call(t.app, 'PATCH', `${s.base}/groups/${other.id}`, s.adminToken, { networks: ['192.0.2.0/24'] }),
      200,
    );
    const restricted = await expectStatus(
      call(t.app, 'PATCH', `${s.base}/workplaces/${wp.id}`, s.adminToken, { nomadicUse: 'restricted' }),
      200,
    );
    expect(restricted.nomadicUse).toBe('restricted');
    // the location cannot lose its networks while a workplace is restricted to it
    const conflict = await call(t.app, 'PATCH', `${s.base}/groups/${other.id}`, s.adminToken, {
      networks: [],
    });
    expect(conflict.statusCode).toBe(409);
  });

  it('the company main number is normalised and validated', async () => {
    const bad = await expectStatus(call(t.app, 'PATCH', s.base, s.adminToken, { mainNumber: '12' }), 400);
    expect(issuePaths(bad)).toEqual(['mainNumber']);
    const ok = await expectStatus(
      call(t.app, 'PATCH', s.base, s.adminToken, { mainNumber: '030 444 000' }),
      200,
    );
    expect(ok.mainNumber).toBe('+4930444000');
    const cleared = await expectStatus(call(t.app, 'PATCH', s.base, s.adminToken, { mainNumber: null }), 200);
    expect(cleared.mainNumber).toBeUndefined();
  });
});
