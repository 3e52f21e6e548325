/**
 * Workplaces against the Redis store: creation rules (every failing field at once), 409s,
 * status transitions with a fake provisioner, devices and credentials, concurrency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/api/csv.js';
import {
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

describe('workplaces', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;
  const post = (body: unknown) => call(t.app, 'POST', `${s.base}/workplaces`, s.adminToken, body);

  beforeAll(async () => {
    t = await makeApp();
    s = await seedCompany(t.app, 'W GmbH', { first: '+4930777000', last: '+4930777199' });
  });
  afterAll(async () => t.close());

  it('creates an active workplace with defaults, devices with SIP credentials shown once', async () => {
    const w = await expectStatus(
      post(
        workplaceBody('+4930777001', {
          devices: [{ type: 'deskphone', model: 'Yealink T54W' }, { type: 'mobile' }],
          voicebox: { enabled: true, pin: '4711' },
        }),
      ),
      201,
    );
    expect(w).toMatchObject({
      groupId: s.group.id,
      number: '+4930777001',
      extension: '7001',
      language: 'de',
      timezone: 'Europe/Berlin',
      status: 'active',
      callerIdPresentation: 'number',
      voicebox: { enabled: true, pinSet: true, greeting: 'default' },
    });
    expect(JSON.stringify(w)).not.toContain('scrypt');
    expect(w.devices).toHaveLength(2);
    expect(w.devices[0].sipUsername).toBe(`${w.username}-1`);
    expect(w.devices[0].sipPassword.length).toBeGreaterThanOrEqual(24);
    expect(w.devices[0].sipPassword).not.toBe(w.devices[1].sipPassword);
    expect(t.provisioner.synced.at(-1)?.workplace.id).toBe(w.id);

    const read = await expectStatus(call(t.app, 'GET', `${s.base}/workplaces/${w.id}`, s.adminToken), 200);
    expect(read.devices[0].sipPassword).toBeUndefined();
    expect(read.devices[0].sipUsername).toBe(w.devices[0].sipUsername);
  });

  it('names a missing field "is required" and a wrong type by what it must be', async () => {
    const res = await call(t.app, 'POST', `${s.base}/workplaces`, s.adminToken, {
      firstName: 'Erika',
      email: 'erika.types@example.com',
      username: 'erika.types',
      number: 4930777002,
      devices: 'deskphone',
    });
    expect(res.statusCode).toBe(400);
    const issues = (res.json() as { issues: Array<{ path: string; message: string }> }).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'lastName', message: 'is required' },
        { path: 'number', message: 'must be a string' },
        { path: 'devices', message: 'must be an array' },
      ]),
    );
  });

  it('accepts national number forms and normalises them with COUNTRY_CODE', async () => {
    const w = await expectStatus(post(workplaceBody('030 777002')), 201);
    expect(w.number).toBe('+4930777002');
  });

  it('names every failing field of one request at once', async () => {
    const res = await post({
      firstName: 'A'.repeat(24),
      lastName: 'B'.repeat(31),
      email: 'not-an-email',
      username: 'Ab',
      number: '+4989000000',
      extension: '112',
      language: 'fr',
      timezone: 'Mars/Olympus',
      devices: [{ type: 'fax' }],
      parallelRinging: { enabled: true, numbers: [] },
      forwarding: { noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 3 } },
      voicebox: { enabled: true, pin: '12' },
    });
    const body = await expectStatus(res, 400);
    expect(body.error).toBe('validation');
    expect(issuePaths(body)).toEqual(
      expect.arrayContaining([
        'firstName',
        'lastName',
        'email',
        'username',
        'extension',
        'language',
        'timezone',
        'devices.0.type',
        'forwarding.noAnswer.ringSeconds',
        'voicebox.pin',
      ]),
    );
  });

  it.each([
    ['number outside the group ranges', { number: '+4989123456' }, ['number']],
    ['number not a phone number', { number: 'abc' }, ['number']],
    ['national number too long', { number: '+493012345678901' }, ['number']],
    ['extension starting with 77', { number: '+4930777010', extension: '7712' }, ['extension']],
    ['extension 911', { number: '+4930777011', extension: '911' }, ['extension']],
    ['five digits starting with 118', { number: '+4930777012', extension: '11833' }, ['extension']],
    ['unknown group', { number: '+4930777013', groupId: 'nope' }, ['groupId']],
    [
      'desk phone without model',
      { number: '+4930777014', devices: [{ type: 'deskphone' }] },
      ['devices.0.model'],
    ],
    [
      'seven devices',
      { number: '+4930777015', devices: Array.from({ length: 7 }, () => ({ type: 'desktop' })) },
      ['devices'],
    ],
    [
      'weak admin-chosen SIP password',
      { number: '+4930777016', devices: [{ type: 'desktop', password: 'short' }] },
      ['devices.0.password'],
    ],
    [
      'trivial PIN 1111',
      { number: '+4930777017', voicebox: { enabled: true, pin: '1111' } },
      ['voicebox.pin'],
    ],
    ['PIN 1234 (run)', { number: '+4930777018', voicebox: { enabled: true, pin: '1234' } }, ['voicebox.pin']],
    [
      'PIN containing the extension',
      { number: '+4930777019', voicebox: { enabled: true, pin: '570190' } },
      ['voicebox.pin'],
    ],
    [
      'parallel ringing: duplicates and own number',
      {
        number: '+4930777020',
        parallelRinging: { enabled: true, numbers: ['+491701234567', '0170 1234567', '+4930777020'] },
      },
      ['parallelRinging.numbers.1', 'parallelRinging.numbers.2'],
    ],
    [
      'parallel ringing: six numbers',
      {
        number: '+4930777021',
        parallelRinging: {
          enabled: true,
          numbers: ['+491701', '+491702', '+491703', '+491704', '+491705', '+491706'].map(
            (n) => n + '234567',
          ),
        },
      },
      ['parallelRinging.numbers'],
    ],
    [
      'enabled forwarding without target',
      { number: '+4930777022', forwarding: { busy: { enabled: true } } },
      ['forwarding.busy.target'],
    ],
    ['unknown field', { number: '+4930777023', colour: 'blue' }, ['colour']],
  ])('400 for %s', async (_name, overrides, paths) => {
    const body = await expectStatus(post(workplaceBody(overrides.number as string, overrides)), 400);
    expect(issuePaths(body)).toEqual(paths);
  });

  it('409 when the number, the extension or the username is taken', async () => {
    const first = await expectStatus(post(workplaceBody('+4930777030')), 201);
    const num = await expectStatus(post(workplaceBody('+4930777030', { extension: '9930' })), 409);
    expect(issuePaths(num)).toEqual(['number']);
    const ext = await expectStatus(post(workplaceBody('+4930777031', { extension: '7030' })), 409);
    expect(issuePaths(ext)).toEqual(['extension']);
    const user = await expectStatus(post(workplaceBody('+4930777032', { username: first.username })), 409);
    expect(issuePaths(user)).toEqual(['username']);
  });

  it('20 parallel creations of the same number: exactly one 201, the rest 409', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(workplaceBody('+4930777040', { extension: String(5000 + i) })),
      ),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  });

  it('20 parallel creations of the same extension with different numbers: one 201', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(workplaceBody(`+49307771${String(i).padStart(2, '0')}`, { extension: '4242' })),
      ),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(19);
  });

  it('username is immutable, group is immutable once active', async () => {
    const w = await expectStatus(post(workplaceBody('+4930777050')), 201);
    const url = `${s.base}/workplaces/${w.id}`;
    expect(
      issuePaths(
        await expectStatus(call(t.app, 'PATCH', url, s.adminToken, { username: 'someone.else' }), 409),
      ),
    ).toEqual(['username']);
    const g2 = await expectStatus(
      call(t.app, 'POST', `${s.base}/groups`, s.adminToken, {
        name: 'Hamburg',
        timezone: 'Europe/Berlin',
        numberRanges: [{ first: '+4940777000', last: '+4940777099' }],
      }),
      201,
    );
    expect(
      issuePaths(await expectStatus(call(t.app, 'PATCH', url, s.adminToken, { groupId: g2.id }), 409)),
    ).toEqual(['groupId']);
    // the same username is accepted, names change
    const patched = await expectStatus(
      call(t.app, 'PATCH', url, s.adminToken, { username: w.username, firstName: 'Erik', extension: '6050' }),
      200,
    );
    expect(patched).toMatchObject({ firstName: 'Erik', extension: '6050', username: w.username });
  });

  it('failed provisioning → failed with reason; retry → active; a pending workplace is protected', async () => {
    t.provisioner.result = { ok: false, reason: 'Asterisk unreachable' };
    const w = await expectStatus(post(workplaceBody('+4930777060', { devices: [{ type: 'desktop' }] })), 201);
    expect(w).toMatchObject({ status: 'failed', statusReason: 'Asterisk unreachable' });
    t.provisioner.result = { ok: true };
    const retried = await expectStatus(
      call(t.app, 'POST', `${s.base}/workplaces/${w.id}/provision`, s.adminToken),
      200,
    );
    expect(retried.status).toBe('active');
    expect(retried.statusReason).toBeUndefined();
  });

  it('without a provisioner a workplace stays pending: no delete, no core change, features editable', async () => {
    const bare = await makeApp({ withProvisioner: false });
    try {
      const b = await seedCompany(bare.app, 'P GmbH', { first: '+4930888000', last: '+4930888099' });
      const w = await expectStatus(
        call(bare.app, 'POST', `${b.base}/workplaces`, b.adminToken, workplaceBody('+4930888001')),
        201,
      );
      expect(w.status).toBe('pending');
      const url = `${b.base}/workplaces/${w.id}`;
      expect(issuePaths(await expectStatus(call(bare.app, 'DELETE', url, b.adminToken), 409))).toEqual([
        'status',
      ]);
      expect(
        issuePaths(
          await expectStatus(
            call(bare.app, 'PATCH', url, b.adminToken, { number: '+4930888002', extension: '8802' }),
            409,
          ),
        ),
      ).toEqual(['extension', 'number']);
      await expectStatus(call(bare.app, 'POST', `${url}/devices`, b.adminToken, { type: 'desktop' }), 409);
      await expectStatus(call(bare.app, 'PATCH', url, b.adminToken, { firstName: 'Changed' }), 200);
      await expectStatus(
        call(bare.app, 'PUT', `${url}/forwarding`, b.adminToken, {
          always: { enabled: true, target: { number: '+491701234567' } },
        }),
        200,
      );
    } finally {
      await bare.close();
    }
  });

  it('devices: add (max 6), regenerate one password, set a chosen one, delete; every change is synced', async () => {
    const w = await expectStatus(post(workplaceBody('+4930777070', { devices: [{ type: 'desktop' }] })), 201);
    const url = `${s.base}/workplaces/${w.id}/devices`;
    const before = t.provisioner.synced.length;
    const added = await expectStatus(
      call(t.app, 'POST', url, s.adminToken, { type: 'deskphone', model: 'Snom D785' }),
      201,
    );
    expect(added.sipUsername).toBe(`${w.username}-2`);
    expect(added.sipPassword).toBeTruthy();
    expect(t.provisioner.synced.length).toBe(before + 1);
    expect(t.provisioner.synced.at(-1)?.previous?.devices).toHaveLength(1);

    const regenerated = await expectStatus(
      call(t.app, 'POST', `${url}/${added.id}/credentials`, s.adminToken),
      200,
    );
    expect(regenerated.sipPassword).not.toBe(added.sipPassword);
    const chosen = await expectStatus(
      call(t.app, 'POST', `${url}/${added.id}/credentials`, s.adminToken, { password: 'Chosen-Passw0rd!' }),
      200,
    );
    expect(chosen.sipPassword).toBe('Chosen-Passw0rd!');
    const weak = await expectStatus(
      call(t.app, 'POST', `${url}/${added.id}/credentials`, s.adminToken, { password: 'weak' }),
      400,
    );
    expect(issuePaths(weak)).toEqual(['password']);

    const list = await expectStatus(call(t.app, 'GET', url, s.adminToken), 200);
    expect(list.map((d: { sipPassword?: string }) => d.sipPassword)).toEqual([undefined, undefined]);

    for (let i = 0; i < 4; i++)
      await expectStatus(call(t.app, 'POST', url, s.adminToken, { type: 'tablet' }), 201);
    const seventh = await expectStatus(call(t.app, 'POST', url, s.adminToken, { type: 'tablet' }), 400);
    expect(issuePaths(seventh)).toEqual(['type']);

    await expectStatus(call(t.app, 'DELETE', `${url}/${added.id}`, s.adminToken), 204);
    await expectStatus(call(t.app, 'DELETE', `${url}/${added.id}`, s.adminToken), 404);
  });

  it('bulk regeneration returns CSV with a new password for every device', async () => {
    const a = await expectStatus(
      post(workplaceBody('+4930777080', { devices: [{ type: 'desktop' }, { type: 'mobile' }] })),
      201,
    );
    const b = await expectStatus(
      post(workplaceBody('+4930777081', { devices: [{ type: 'universal' }] })),
      201,
    );
    const res = await call(t.app, 'POST', `${s.base}/workplaces/credentials`, s.adminToken, {
      workplaceIds: [a.id, b.id],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const [header, ...rows] = parseCsv(res.body);
    expect(header!.fields).toEqual(['workplaceId', 'username', 'deviceId', 'sipUsername', 'sipPassword']);
    expect(rows).toHaveLength(3);
    const oldPasswords = [...a.devices, ...b.devices].map((d: { sipPassword: string }) => d.sipPassword);
    for (const row of rows) expect(oldPasswords).not.toContain(row.fields[4]);
    expect(rows.map((r) => r.fields[3]).sort()).toEqual(
      [...a.devices, ...b.devices].map((d: { sipUsername: string }) => d.sipUsername).sort(),
    );

    const bad = await expectStatus(
      call(t.app, 'POST', `${s.base}/workplaces/credentials`, s.adminToken, {
        workplaceIds: [a.id, 'missing'],
      }),
      400,
    );
    expect(issuePaths(bad)).toEqual(['workplaceIds.1']);
  });

  it('delete removes devices from Asterisk, messages with their audio, and employee tokens', async () => {
    const w = await expectStatus(post(workplaceBody('+4930777090')), 201);
    const { token } = await expectStatus(
      call(t.app, 'POST', `${s.base}/tokens`, s.adminToken, { role: 'employee', workplaceId: w.id }),
      201,
    );
    await t.store.voicebox.add({
      id: 'm1',
      companyId: s.company.id,
      workplaceId: w.id,
      callerNumber: '+491701234567',
      receivedAt: new Date().toISOString(),
      durationSeconds: 3,
      recordingName: 'vb-m1',
      status: 'new',
    });
    await expectStatus(call(t.app, 'DELETE', `${s.base}/workplaces/${w.id}`, s.adminToken), 204);
    expect(t.provisioner.removed.map((x) => x.id)).toContain(w.id);
    expect(t.recordings.deleted).toContain('vb-m1');
    await expectStatus(call(t.app, 'GET', `${s.base}/workplaces/${w.id}`, token), 401);
    // the number is free again
    await expectStatus(post(workplaceBody('+4930777090')), 201);
  });

  it('objects of another company are 404', async () => {
    const other = await seedCompany(t.app, 'Other GmbH', { first: '+4930999000', last: '+4930999099' });
    const w = await expectStatus(post(workplaceBody('+4930777095')), 201);
    await expectStatus(call(t.app, 'GET', `${other.base}/workplaces/${w.id}`, other.adminToken), 404);
    await expectStatus(call(t.app, 'GET', `${s.base}/workplaces/${w.id}`, other.adminToken), 404);
  });
});
