/** Companies, groups (ranges, default group, available numbers), areas, blocking profiles, portals. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

describe('organisation', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;

  beforeAll(async () => {
    t = await makeApp();
    s = await seedCompany(t.app, 'O GmbH', { first: '+4930333000', last: '+4930333049' });
  });
  afterAll(async () => t.close());

  it('companies: create (validated), list, read, default blocking profile must exist', async () => {
    expect(
      issuePaths(await expectStatus(call(t.app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: '' }), 400)),
    ).toEqual(['name']);
    const list = await expectStatus(call(t.app, 'GET', '/v1/companies', ADMIN_TOKEN), 200);
    expect(list.map((c: { id: string }) => c.id)).toContain(s.company.id);
    const bad = await expectStatus(
      call(t.app, 'PATCH', s.base, s.adminToken, { defaultBlockingProfileId: 'nope' }),
      400,
    );
    expect(issuePaths(bad)).toEqual(['defaultBlockingProfileId']);
    const profile = await expectStatus(
      call(t.app, 'POST', `${s.base}/blocking-profiles`, s.adminToken, {
        name: 'no premium',
        incoming: [],
        outgoing: ['+49900', '+49137'],
        forwarded: ['+49900'],
      }),
      201,
    );
    const patched = await expectStatus(
      call(t.app, 'PATCH', s.base, s.adminToken, { defaultBlockingProfileId: profile.id }),
      200,
    );
    expect(patched.defaultBlockingProfileId).toBe(profile.id);
    await expectStatus(call(t.app, 'PATCH', s.base, s.adminToken, { mobileIntegration: true }), 403);
    const mobile = await expectStatus(
      call(t.app, 'PATCH', s.base, ADMIN_TOKEN, { mobileIntegration: true }),
      200,
    );
    expect(mobile.mobileIntegration).toBe(true);
    // with mobile integration two-digit extensions are refused
    const two = await expectStatus(
      call(
        t.app,
        'POST',
        `${s.base}/workplaces`,
        s.adminToken,
        workplaceBody('+4930333020', { extension: '20' }),
      ),
      400,
    );
    expect(issuePaths(two)).toEqual(['extension']);
    await expectStatus(call(t.app, 'PATCH', s.base, ADMIN_TOKEN, { mobileIntegration: false }), 200);
    // a profile in use cannot be deleted
    expect(
      issuePaths(
        await expectStatus(
          call(t.app, 'DELETE', `${s.base}/blocking-profiles/${profile.id}`, s.adminToken),
          409,
        ),
      ),
    ).toEqual(['defaultBlockingProfileId']);
  });

  it('blocking profile prefixes are validated per list and index', async () => {
    const body = await expectStatus(
      call(t.app, 'POST', `${s.base}/blocking-profiles`, s.adminToken, {
        name: 'x',
        incoming: ['0900'],
        outgoing: ['+49900', 'abc'],
      }),
      400,
    );
    expect(issuePaths(body)).toEqual(['incoming.0', 'outgoing.1']);
  });

  it('groups: first is default, ranges validated, no overlap with any company, timezone checked', async () => {
    expect(s.group.isDefault).toBe(true);
    const bad = await expectStatus(
      call(t.app, 'POST', `${s.base}/groups`, s.adminToken, {
        name: 'Bad',
        timezone: 'Europe/Nowhere',
        numberRanges: [
          { first: '+4930333099', last: '+4930333050' },
          { first: 'abc', last: '+49' },
        ],
      }),
      400,
    );
    expect(issuePaths(bad)).toEqual([
      'numberRanges.0',
      'numberRanges.1.first',
      'numberRanges.1.last',
      'timezone',
    ]);
    const other = await seedCompany(t.app, 'Overlap GmbH', { first: '+4930222000', last: '+4930222099' });
    const overlap = await expectStatus(
      call(t.app, 'POST', `${other.base}/groups`, other.adminToken, {
        name: 'Clash',
        timezone: 'Europe/Berlin',
        numberRanges: [{ first: '+4930333040', last: '+4930333060' }],
      }),
      400,
    );
    expect(issuePaths(overlap)).toEqual(['numberRanges.0']);
    const second = await expectStatus(
      call(t.app, 'POST', `${s.base}/groups`, s.adminToken, {
        name: 'Munich',
        timezone: 'Europe/Berlin',
        numberRanges: [{ first: '+4989333000', last: '+4989333009' }],
        isDefault: true,
      }),
      201,
    );
    expect(second.isDefault).toBe(true);
    const groups = await expectStatus(call(t.app, 'GET', `${s.base}/groups`, s.adminToken), 200);
    expect(
      groups.filter((g: { isDefault: boolean }) => g.isDefault).map((g: { id: string }) => g.id),
    ).toEqual([second.id]);
    // a workplace without groupId lands in the default group
    const w = await expectStatus(
      call(t.app, 'POST', `${s.base}/workplaces`, s.adminToken, workplaceBody('+4989333001')),
      201,
    );
    expect(w.groupId).toBe(second.id);
    // shrinking the ranges below a used number is refused
    const shrink = await expectStatus(
      call(t.app, 'PATCH', `${s.base}/groups/${second.id}`, s.adminToken, {
        numberRanges: [{ first: '+4989333005', last: '+4989333009' }],
      }),
      409,
    );
    expect(issuePaths(shrink)).toEqual(['numberRanges']);
    await expectStatus(
      call(t.app, 'PATCH', `${s.base}/groups/${s.group.id}`, s.adminToken, { isDefault: true }),
      200,
    );
  });

  it('available numbers skip taken ones and respect the limit', async () => {
    await expectStatus(
      call(t.app, 'POST', `${s.base}/workplaces`, s.adminToken, workplaceBody('+4930333000')),
      201,
    );
    await expectStatus(
      call(t.app, 'POST', `${s.base}/workplaces`, s.adminToken, workplaceBody('+4930333002')),
      201,
    );
    const res = await expectStatus(
      call(t.app, 'GET', `${s.base}/groups/${s.group.id}/available-numbers?limit=3`, s.adminToken),
      200,
    );
    expect(res.numbers).toEqual(['+4930333001', '+4930333003', '+4930333004']);
    const bad = await expectStatus(
      call(t.app, 'GET', `${s.base}/groups/${s.group.id}/available-numbers?limit=0`, s.adminToken),
      400,
    );
    expect(issuePaths(bad)).toEqual(['querystring.limit']);
  });

  it('areas belong to a group', async () => {
    const area = await expectStatus(
      call(t.app, 'POST', `${s.base}/groups/${s.group.id}/areas`, s.adminToken, { name: 'Support' }),
      201,
    );
    expect(
      (await expectStatus(call(t.app, 'GET', `${s.base}/groups/${s.group.id}/areas`, s.adminToken), 200)).map(
        (a: { id: string }) => a.id,
      ),
    ).toEqual([area.id]);
    expect(
      (
        await expectStatus(
          call(t.app, 'PATCH', `${s.base}/groups/${s.group.id}/areas/${area.id}`, s.adminToken, {
            name: 'Help',
          }),
          200,
        )
      ).name,
    ).toBe('Help');
    await expectStatus(
      call(t.app, 'DELETE', `${s.base}/groups/${s.group.id}/areas/${area.id}`, s.adminToken),
      204,
    );
  });

  it('Anywhere portals: defaults, number rules, PATCH toggles', async () => {
    const body = {
      groupId: s.group.id,
      displayFirstName: 'Anywhere',
      displayLastName: 'Berlin',
      number: '+4930333049',
    };
    const portal = await expectStatus(
      call(t.app, 'POST', `${s.base}/anywhere-portals`, s.adminToken, body),
      201,
    );
    expect(portal).toMatchObject({
      level: 'company',
      silentMode: false,
      pinRequired: true,
      extension: '3049',
      timezone: 'Europe/Berlin',
    });
    // the number is now taken, for workplaces too
    expect(
      issuePaths(
        await expectStatus(
          call(t.app, 'POST', `${s.base}/anywhere-portals`, s.adminToken, { ...body, extension: '9049' }),
          409,
        ),
      ),
    ).toEqual(['number']);
    expect(
      issuePaths(
        await expectStatus(
          call(
            t.app,
            'POST',
            `${s.base}/workplaces`,
            s.adminToken,
            workplaceBody('+4930333049', { extension: '8049' }),
          ),
          409,
        ),
      ),
    ).toEqual(['number']);
    const bad = await expectStatus(
      call(t.app, 'POST', `${s.base}/anywhere-portals`, s.adminToken, {
        ...body,
        number: '+4940000000',
        extension: '110',
        level: 'world',
        displayFirstName: 'X'.repeat(30),
      }),
      400,
    );
    expect(issuePaths(bad)).toEqual(['displayFirstName', 'extension', 'level', 'number']);
    const bad2 = await expectStatus(
      call(t.app, 'POST', `${s.base}/anywhere-portals`, s.adminToken, { ...body, number: '+4940000000' }),
      400,
    );
    expect(issuePaths(bad2)).toEqual(['number']);

    const url = `${s.base}/anywhere-portals/${portal.id}`;
    expect(
      await expectStatus(call(t.app, 'PATCH', url, s.adminToken, { silentMode: true }), 200),
    ).toMatchObject({ silentMode: true, pinRequired: true });
    expect(
      await expectStatus(
        call(t.app, 'PATCH', url, s.adminToken, { pinRequired: false, level: 'group' }),
        200,
      ),
    ).toMatchObject({
      silentMode: true,
      pinRequired: false,
      level: 'group',
    });
    expect((await t.store.portals.get(s.company.id, portal.id))?.silentMode).toBe(true);
    expect(
      issuePaths(
        await expectStatus(call(t.app, 'PATCH', url, s.adminToken, { blockingProfileId: 'nope' }), 400),
      ),
    ).toEqual(['blockingProfileId']);
    expect(
      issuePaths(await expectStatus(call(t.app, 'PATCH', url, s.adminToken, { number: '+4930333048' }), 400)),
    ).toEqual(['number']);
    await expectStatus(call(t.app, 'DELETE', url, s.adminToken), 204);
    await expectStatus(call(t.app, 'GET', url, s.adminToken), 404);
  });

  it('tokens: shown once, stored hashed, listed without secrets, deletable', async () => {
    const created = await expectStatus(
      call(t.app, 'POST', `${s.base}/tokens`, s.adminToken, { role: 'admin' }),
      201,
    );
    expect(created.token).toMatch(/^pbx_[A-Za-z0-9_-]{43}$/);
    const list = await expectStatus(call(t.app, 'GET', `${s.base}/tokens`, s.adminToken), 200);
    expect(JSON.stringify(list)).not.toContain(created.token);
    expect(JSON.stringify(list)).not.toContain('hash');
    const stored = (await t.store.tokens.list(s.company.id)).find((x) => x.id === created.id);
    expect(stored?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.token);
    expect(
      issuePaths(
        await expectStatus(
          call(t.app, 'POST', `${s.base}/tokens`, s.adminToken, { role: 'employee', workplaceId: 'nope' }),
          400,
        ),
      ),
    ).toEqual(['workplaceId']);
    await expectStatus(call(t.app, 'GET', s.base, created.token), 200);
    await expectStatus(call(t.app, 'DELETE', `${s.base}/tokens/${created.id}`, s.adminToken), 204);
    await expectStatus(call(t.app, 'GET', s.base, created.token), 401);
  });

  it('deleting a company removes everything it owns', async () => {
    const d = await seedCompany(t.app, 'Gone GmbH', { first: '+4930111000', last: '+4930111009' });
    const w = await expectStatus(
      call(t.app, 'POST', `${d.base}/workplaces`, d.adminToken, workplaceBody('+4930111001')),
      201,
    );
    await expectStatus(call(t.app, 'DELETE', d.base, ADMIN_TOKEN), 204);
    await expectStatus(call(t.app, 'GET', d.base, ADMIN_TOKEN), 404);
    expect(await t.store.numbers.resolve(w.number)).toBeUndefined();
    expect(t.provisioner.removed.map((x) => x.id)).toContain(w.id);
  });
});
