/**
 * Every free-text field refuses control and invisible characters with a 400 naming the field:
 * NUL, tab, CR/LF, C1 controls, bidi overrides and isolates, zero-width characters, the BOM.
 * A value of only invisible characters is missing ("is required").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textProblems } from '../../src/api/schemas.js';
import {
  ADMIN_TOKEN,
  call,
  expectStatus,
  makeApp,
  seedCompany,
  workplaceBody,
  type TestApp,
} from './helpers.js';

const BAD = {
  nul: 'Ann\u0000a',
  newline: 'Anna\nSmith',
  crlf: 'T54W\r\nX-Injected: 1',
  tab: 'An\tna',
  c1: 'Anna\u0085',
  rtlOverride: 'Anna\u202Egnp.exe',
  isolate: 'Anna\u2066x\u2069',
  zeroWidth: 'An\u200Bna',
  bom: '\uFEFFAnna',
};

describe('control and invisible characters in free-text fields', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;
  let n = 0;
  const nextNumber = () => `+49301234${String(10 + (n++ % 80)).padStart(2, '0')}`;

  beforeAll(async () => {
    t = await makeApp({ storeKind: 'memory' });
    s = await seedCompany(t.app);
  });
  afterAll(async () => t.close());

  /** Each request must answer 400 with an issue on exactly `field`, and store nothing. */
  const cases: Array<{ name: string; field: string; send: (bad: string) => Promise<unknown> }> = [
    {
      name: 'company name',
      field: 'name',
      send: (v) => call(t.app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: v }),
    },
    {
      name: 'company name (PATCH)',
      field: 'name',
      send: (v) => call(t.app, 'PATCH', s.base, s.adminToken, { name: v }),
    },
    {
      name: 'group name',
      field: 'name',
      send: (v) =>
        call(t.app, 'POST', `${s.base}/groups`, s.adminToken, { name: v, timezone: 'Europe/Berlin' }),
    },
    {
      name: 'area name',
      field: 'name',
      send: (v) => call(t.app, 'POST', `${s.base}/groups/${s.group.id}/areas`, s.adminToken, { name: v }),
    },
    {
      name: 'blocking profile name',
      field: 'name',
      send: (v) => call(t.app, 'POST', `${s.base}/blocking-profiles`, s.adminToken, { name: v }),
    },
    {
      name: 'template name',
      field: 'name',
      send: (v) => call(t.app, 'POST', `${s.base}/templates`, s.adminToken, { name: v }),
    },
    {
      name: 'workplace first name',
      field: 'firstName',
      send: (v) =>
        call(
          t.app,
          'POST',
          `${s.base}/workplaces`,
          s.adminToken,
          workplaceBody(nextNumber(), { firstName: v }),
        ),
    },
    {
      name: 'workplace e-mail',
      field: 'email',
      send: (v) =>
        call(
          t.app,
          'POST',
          `${s.base}/workplaces`,
          s.adminToken,
          workplaceBody(nextNumber(), { email: `a${v}@example.com` }),
        ),
    },
    {
      name: 'device model',
      field: 'devices.0.model',
      send: (v) =>
        call(
          t.app,
          'POST',
          `${s.base}/workplaces`,
          s.adminToken,
          workplaceBody(nextNumber(), { devices: [{ type: 'deskphone', model: v }] }),
        ),
    },
    {
      name: 'portal display name',
      field: 'displayLastName',
      send: (v) =>
        call(t.app, 'POST', `${s.base}/anywhere-portals`, s.adminToken, {
          groupId: s.group.id,
          displayFirstName: 'Zentrale',
          displayLastName: v,
          number: nextNumber(),
        }),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: every kind of hidden character → 400 naming ${c.field}`, async () => {
      for (const [kind, bad] of Object.entries(BAD)) {
        const body = await expectStatus(c.send(bad) as never, 400).catch((err: Error) => {
          throw new Error(`${kind}: ${err.message}`);
        });
        const paths = (body.issues as Array<{ path: string; message: string }>).map((i) => i.path);
        expect(paths, kind).toContain(c.field);
        expect(JSON.stringify(body.issues), kind).toMatch(/control or invisible|required|at most|email/);
      }
    });
  }

  it('a name of only zero-width or bidi characters is "required"', async () => {
    for (const invisible of ['\u200B', '\u200B\u200C\u200D', ' \u202E ', '\uFEFF']) {
      const body = await expectStatus(
        call(t.app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: invisible }),
        400,
      );
      expect(body.issues).toEqual([{ path: 'name', message: 'is required' }]);
    }
  });

  it('nothing was stored by the refused requests; ordinary text passes', async () => {
    const companies = await expectStatus(call(t.app, 'GET', '/v1/companies', ADMIN_TOKEN), 200);
    expect(companies).toHaveLength(1);
    const ok = await expectStatus(
      call(
        t.app,
        'POST',
        `${s.base}/workplaces`,
        s.adminToken,
        workplaceBody(nextNumber(), { firstName: 'Zoë-Renée', lastName: "O'Brien Müller" }),
      ),
      201,
    );
    expect(ok.firstName).toBe('Zoë-Renée');
  });

  it('textProblems names the code points', () => {
    expect(textProblems('a\u202Eb\u0000')).toEqual([
      'must not contain control or invisible characters (U+202E, U+0000)',
    ]);
    expect(textProblems('Müller')).toEqual([]);
  });
});
