/** CSV list import (all or nothing, every bad row and field reported) and templates. */
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

describe('CSV import and templates', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;
  const importCsv = (csv: string, contentType = 'text/csv') =>
    call(t.app, 'POST', `${s.base}/workplaces/import`, s.adminToken, csv, {
      headers: { 'content-type': contentType },
    });

  beforeAll(async () => {
    t = await makeApp();
    s = await seedCompany(t.app, 'I GmbH', { first: '+4930444000', last: '+4930444199' });
    await expectStatus(
      call(
        t.app,
        'POST',
        `${s.base}/workplaces`,
        s.adminToken,
        workplaceBody('+4930444099', { username: 'existing.user' }),
      ),
      201,
    );
  });
  afterAll(async () => t.close());

  it('mixed good and bad rows: nothing imported, every bad row and field reported by file line', async () => {
    const g = s.group.id;
    const csv = [
      'firstName,lastName,email,username,groupId,number,extension',
      `Anna,Alpha,anna@example.com,anna.alpha,${g},+4930444001,`, // line 2: good
      `Bert,Beta,not-mail,Bert,${g},+4989000001,`, // line 3: email, username, number
      `"Cäcilie, ""Cilly""",Gamma,c@example.com,cilly.gamma,${g},+4930444001,`, // line 4: number dup of line 2 (and extension)
      `Dora,Delta,d@example.com,existing.user,${g},+4930444099,7712`, // line 5: username + number taken, bad extension
      `Emil,Epsilon,e@example.com,emil.epsilon,nope,+4930444005,`, // line 6: group
      `Fritz,Zeta,f@example.com,fritz.zeta,${g}`, // line 7: field count
    ].join('\r\n');
    const body = await expectStatus(importCsv(csv), 400);
    expect(issuePaths(body)).toEqual(
      [
        'rows[3].email',
        'rows[3].username',
        'rows[3].number',
        'rows[4].number',
        'rows[4].extension',
        'rows[5].extension',
        'rows[5].number',
        'rows[5].username',
        'rows[6].groupId',
        'rows[7]',
      ].sort(),
    );
    expect((await t.store.workplaces.list(s.company.id)).map((w) => w.username)).toEqual(['existing.user']);
  });

  it('header problems are reported before any row', async () => {
    const body = await expectStatus(importCsv('firstName,lastName,colour\nA,B,red\n'), 400);
    expect(issuePaths(body)).toEqual([
      'header.colour',
      'header.email',
      'header.groupId',
      'header.number',
      'header.username',
    ]);
    expect(issuePaths(await expectStatus(importCsv(''), 400))).toEqual(['header']);
    expect(issuePaths(await expectStatus(importCsv('a\n"open'), 400))).toEqual(['rows[2]']);
  });

  it('an all-good file imports every row with credentials, from a template too', async () => {
    const template = await expectStatus(
      call(t.app, 'POST', `${s.base}/templates`, s.adminToken, {
        name: 'Sales desk',
        groupId: s.group.id,
        devices: [{ type: 'deskphone', model: 'Yealink T54W' }, { type: 'mobile' }],
        forwarding: { noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 15 } },
        voiceboxEnabled: true,
        language: 'en',
      }),
      201,
    );
    const csv = [
      'firstName,lastName,email,username,groupId,number,templateId',
      `Gerd,Eta,g@example.com,gerd.eta,${s.group.id},+4930444010,`,
      `Hanna,Theta,h@example.com,hanna.theta,${s.group.id},030 444011,${template.id}`,
    ].join('\n');
    const body = await expectStatus(importCsv(csv), 201);
    expect(body.imported).toBe(2);
    const [gerd, hanna] = body.workplaces;
    expect(gerd).toMatchObject({
      username: 'gerd.eta',
      number: '+4930444010',
      extension: '4010',
      status: 'active',
      devices: [],
    });
    expect(hanna).toMatchObject({
      username: 'hanna.theta',
      number: '+4930444011',
      templateId: template.id,
      language: 'en',
      voicebox: { enabled: true },
      forwarding: { noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 15 } },
    });
    expect(hanna.devices).toHaveLength(2);
    expect(hanna.devices[0].sipPassword).toBeTruthy();
    expect((await t.store.workplaces.list(s.company.id)).length).toBe(3);
  });

  it('a Windows-1252 file (Excel) imports with its umlauts, a semicolon-separated one too', async () => {
    const csv = [
      'firstName;lastName;email;username;groupId;number',
      `Jürgen;Müller;jm@example.com;juergen.mueller;${s.group.id};+4930444160`,
      `Ändrea;Weiß;aw@example.com;aendrea.weiss;${s.group.id};+4930444161`,
    ].join('\r\n');
    const res = await t.app.inject({
      method: 'POST',
      url: `${s.base}/workplaces/import`,
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'text/csv' },
      payload: Buffer.from(csv, 'latin1'),
    });
    const body = await expectStatus(res, 201);
    expect(
      body.workplaces.map((w: { firstName: string; lastName: string }) => `${w.firstName} ${w.lastName}`),
    ).toEqual(['Jürgen Müller', 'Ändrea Weiß']);
    const stored = await t.store.workplaces.list(s.company.id);
    expect(JSON.stringify(stored)).not.toContain('\uFFFD');
    expect(stored.map((w) => w.lastName)).toContain('Müller');
  });

  it('a file that already holds U+FFFD is refused naming the row, nothing stored', async () => {
    const before = (await t.store.workplaces.list(s.company.id)).length;
    const csv = [
      'firstName,lastName,email,username,groupId,number',
      `Kai,M\uFFFDller,k@example.com,kai.m,${s.group.id},+4930444170`,
    ].join('\n');
    const body = await expectStatus(importCsv(csv, 'text/csv; charset=utf-8'), 400);
    expect(issuePaths(body)).toEqual(['rows[2]']);
    expect((await t.store.workplaces.list(s.company.id)).length).toBe(before);
  });

  it('JSON to the import route is refused without a crash', async () => {
    const res = await call(t.app, 'POST', `${s.base}/workplaces/import`, s.adminToken, { rows: [] });
    expect(res.statusCode).toBe(400);
  });

  it('POST /workplaces with templateId takes everything else from the template', async () => {
    const area = await expectStatus(
      call(t.app, 'POST', `${s.base}/groups/${s.group.id}/areas`, s.adminToken, { name: 'Sales' }),
      201,
    );
    const profile = await expectStatus(
      call(t.app, 'POST', `${s.base}/blocking-profiles`, s.adminToken, {
        name: 'no premium',
        outgoing: ['+49900'],
      }),
      201,
    );
    const template = await expectStatus(
      call(t.app, 'POST', `${s.base}/templates`, s.adminToken, {
        name: 'Support',
        groupId: s.group.id,
        areaId: area.id,
        blockingProfileId: profile.id,
        devices: [{ type: 'desktop' }],
        parallelRinging: { enabled: true, numbers: ['0171 5550000'] },
        voiceboxEnabled: true,
      }),
      201,
    );
    expect(template.parallelRinging.numbers).toEqual(['+491715550000']);
    const w = await expectStatus(
      call(t.app, 'POST', `${s.base}/workplaces`, s.adminToken, {
        firstName: 'Ida',
        lastName: 'Iota',
        email: 'ida@example.com',
        username: 'ida.iota',
        number: '+4930444020',
        templateId: template.id,
      }),
      201,
    );
    expect(w).toMatchObject({
      groupId: s.group.id,
      areaId: area.id,
      blockingProfileId: profile.id,
      templateId: template.id,
      parallelRinging: { enabled: true, numbers: ['+491715550000'] },
      voicebox: { enabled: true },
    });
    expect(w.devices).toHaveLength(1);
  });

  it('template validation names every bad field', async () => {
    const body = await expectStatus(
      call(t.app, 'POST', `${s.base}/templates`, s.adminToken, {
        name: '',
        groupId: 'nope',
        devices: [{ type: 'deskphone' }],
        forwarding: { busy: { enabled: true } },
      }),
      400,
    );
    expect(issuePaths(body)).toEqual(['name']);
    const second = await expectStatus(
      call(t.app, 'POST', `${s.base}/templates`, s.adminToken, {
        name: 'x',
        groupId: 'nope',
        devices: [{ type: 'deskphone' }],
        forwarding: { busy: { enabled: true } },
      }),
      400,
    );
    expect(issuePaths(second)).toEqual(['devices.0.model', 'forwarding.busy.target', 'groupId']);
  });
});
