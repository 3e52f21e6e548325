/**
 * Concurrent requests against the real Redis store (Promise.all of parallel HTTP requests,
 * several trials each): no overlap of number ranges, no orphans of a deleted group or company,
 * exactly one default group, no dangling blocking-profile reference, no lost company update.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workplace } from '../../src/domain/model.js';
import {
  ADMIN_TOKEN,
  call,
  expectStatus,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

type Seeded = Awaited<ReturnType<typeof seedCompany>>;

describe('races (real Redis)', () => {
  let t: TestApp;
  let rangeSeq = 0;
  /** a fresh 100-number range per call, so trials never collide */
  const freshRange = () => {
    rangeSeq++;
    const base = `+4971${String(rangeSeq).padStart(5, '0')}`;
    return { first: `${base}00`, last: `${base}99` };
  };
  const company = (): Promise<Seeded> => seedCompany(t.app, `Race ${rangeSeq}`, freshRange());

  beforeAll(async () => {
    t = await makeApp();
    expect(t.store.kind).toBe('redis');
  });
  afterAll(async () => t.close());

  it('8 companies creating the same range at once: exactly one 201, the rest 400', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const companies = await Promise.all(Array.from({ length: 8 }, () => company()));
      const range = freshRange();
      const results = await Promise.all(
        companies.map((c) =>
          call(t.app, 'POST', `${c.base}/groups`, c.adminToken, {
            name: 'Hamburg',
            timezone: 'Europe/Berlin',
            numberRanges: [range],
          }),
        ),
      );
      const codes = results.map((r) => r.statusCode).sort();
      expect(codes, `trial ${trial}`).toEqual([201, 400, 400, 400, 400, 400, 400, 400]);
      for (const r of results.filter((r) => r.statusCode === 400)) {
        // never names the other tenant's range or group
        expect(r.json().issues).toEqual([
          { path: 'numberRanges.0', message: 'overlaps a range in use; numbers are global' },
        ]);
      }
    }
  });

  it('10 groups of one range in one company at once: exactly one 201', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const c = await company();
      const range = freshRange();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(t.app, 'POST', `${c.base}/groups`, c.adminToken, {
            name: `G${i}`,
            timezone: 'Europe/Berlin',
            numberRanges: [range],
          }),
        ),
      );
      expect(
        results.filter((r) => r.statusCode === 201),
        `trial ${trial}`,
      ).toHaveLength(1);
      expect(results.every((r) => r.statusCode === 201 || r.statusCode === 400)).toBe(true);
    }
  });

  it('deleting a group while workplaces are created in it leaves no orphan', async () => {
    for (let trial = 0; trial < 8; trial++) {
      const c = await company();
      const range = freshRange();
      const g = await expectStatus(
        call(t.app, 'POST', `${c.base}/groups`, c.adminToken, {
          name: 'Doomed',
          timezone: 'Europe/Berlin',
          numberRanges: [range],
        }),
        201,
      );
      const base = range.first.slice(0, -2);
      const creates = Array.from({ length: 10 }, (_, i) =>
        call(
          t.app,
          'POST',
          `${c.base}/workplaces`,
          c.adminToken,
          workplaceBody(`${base}${10 + i}`, { groupId: g.id }),
        ),
      );
      const del = call(t.app, 'DELETE', `${c.base}/groups/${g.id}`, c.adminToken);
      const [delRes, ...createRes] = await Promise.all([del, ...creates]);
      const groupExists = (await t.store.groups.get(c.company.id, g.id)) !== undefined;
      const inGroup = (await t.store.workplaces.list(c.company.id)).filter((w) => w.groupId === g.id);
      if (delRes.statusCode === 204) {
        expect(groupExists).toBe(false);
        expect(inGroup, `trial ${trial}: orphans`).toEqual([]);
      } else {
        expect(delRes.statusCode).toBe(409);
        expect(groupExists).toBe(true);
      }
      expect(createRes.filter((r) => r.statusCode === 201).length).toBe(inGroup.length);
      for (const r of createRes) expect([201, 400, 409]).toContain(r.statusCode);
      // whatever was created stays editable and deletable
      for (const w of inGroup) {
        await expectStatus(
          call(t.app, 'PATCH', `${c.base}/workplaces/${w.id}`, c.adminToken, { firstName: 'Ok' }),
          200,
        );
        await expectStatus(call(t.app, 'DELETE', `${c.base}/workplaces/${w.id}`, c.adminToken), 204);
      }
    }
  });

  it('deleting a company while its admin creates workplaces leaves nothing claimed', async () => {
    // the order of device pushes and removals as Asterisk would see them
    const events: Array<['sync' | 'remove', Workplace]> = [];
    const { sync, remove } = t.provisioner;
    let syncStarted = () => {};
    t.provisioner.sync = async (w, previous) => {
      syncStarted();
      // as a real push, it takes a moment: the delete may overtake it
      await new Promise((r) => setTimeout(r, 15));
      events.push(['sync', w]);
      return sync.call(t.provisioner, w, previous);
    };
    t.provisioner.remove = async (w) => {
      events.push(['remove', w]);
      return remove.call(t.provisioner, w);
    };
    for (let trial = 0; trial < 10; trial++) {
      const c = await company();
      const base = c.group.numberRanges[0].first.slice(0, -2);
      const bodies = Array.from({ length: 10 }, (_, i) => workplaceBody(`${base}${20 + i}`));
      const firstSync = new Promise<void>((resolve) => (syncStarted = resolve));
      const creates = bodies.map((b) => call(t.app, 'POST', `${c.base}/workplaces`, c.adminToken, b));
      // at once, or right when the first workplace's devices are being pushed to Asterisk
      const del =
        trial % 2 === 0
          ? call(t.app, 'DELETE', c.base, ADMIN_TOKEN)
          : firstSync.then(() => call(t.app, 'DELETE', c.base, ADMIN_TOKEN));
      const [delRes, ...createRes] = await Promise.all([del, ...creates]);
      expect(delRes.statusCode, `trial ${trial}`).toBe(204);
      for (const r of createRes) expect([201, 404]).toContain(r.statusCode);
      expect(await t.store.workplaces.list(c.company.id)).toEqual([]);
      for (const b of bodies) {
        expect(
          await t.store.numbers.resolve(b.number),
          `trial ${trial}: ${b.number} still claimed`,
        ).toBeUndefined();
      }
      // nothing of it is left in Asterisk either: for every device push, the last word was a removal
      const last = new Map<string, string>();
      for (const [op, w] of events) if (w.companyId === c.company.id) last.set(w.id, op);
      for (const [id, op] of last)
        expect(op, `trial ${trial}: devices of ${id} left in Asterisk`).toBe('remove');
      // the numbers and usernames are free again: another company can take them
      const next = await seedCompany(t.app, 'Next', c.group.numberRanges[0]);
      await expectStatus(call(t.app, 'POST', `${next.base}/workplaces`, next.adminToken, bodies[0]), 201);
    }
    t.provisioner.sync = sync;
    t.provisioner.remove = remove;
  });

  it('parallel group creates with isDefault: exactly one default, a 409 stores nothing', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const c = await company();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(t.app, 'POST', `${c.base}/groups`, c.adminToken, {
            name: `D${i}`,
            timezone: 'Europe/Berlin',
            isDefault: true,
          }),
        ),
      );
      const groups = await expectStatus(call(t.app, 'GET', `${c.base}/groups`, c.adminToken), 200);
      expect(
        groups.filter((g: { isDefault: boolean }) => g.isDefault),
        `trial ${trial}`,
      ).toHaveLength(1);
      const created = results.filter((r) => r.statusCode === 201).length;
      expect(groups).toHaveLength(1 + created);
      for (const r of results) expect([201, 409]).toContain(r.statusCode);
    }
  });

  it('parallel PATCHes making different groups the default: exactly one default', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const c = await company();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        ids.push(
          (
            await expectStatus(
              call(t.app, 'POST', `${c.base}/groups`, c.adminToken, {
                name: `P${i}`,
                timezone: 'Europe/Berlin',
              }),
              201,
            )
          ).id,
        );
      }
      const results = await Promise.all(
        ids.map((id) => call(t.app, 'PATCH', `${c.base}/groups/${id}`, c.adminToken, { isDefault: true })),
      );
      for (const r of results) expect(r.statusCode).toBe(200);
      const groups = await expectStatus(call(t.app, 'GET', `${c.base}/groups`, c.adminToken), 200);
      expect(
        groups.filter((g: { isDefault: boolean }) => g.isDefault),
        `trial ${trial}`,
      ).toHaveLength(1);
    }
  });

  it('blocking-profile delete racing the company default naming it: never dangling, PATCH keeps working', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const c = await company();
      const bp = await expectStatus(
        call(t.app, 'POST', `${c.base}/blocking-profiles`, c.adminToken, {
          name: 'premium',
          outgoing: ['+49900'],
        }),
        201,
      );
      const [del, patch] = await Promise.all([
        call(t.app, 'DELETE', `${c.base}/blocking-profiles/${bp.id}`, c.adminToken),
        call(t.app, 'PATCH', c.base, c.adminToken, { defaultBlockingProfileId: bp.id }),
      ]);
      const stored = await t.store.companies.get(c.company.id);
      const profile = await t.store.blockingProfiles.get(c.company.id, bp.id);
      if (stored?.defaultBlockingProfileId) expect(profile, `trial ${trial}: dangling`).toBeDefined();
      expect(del.statusCode === 204 && patch.statusCode === 200, `trial ${trial}: both won`).toBe(false);
      await expectStatus(call(t.app, 'PATCH', c.base, c.adminToken, { name: `after ${trial}` }), 200);
    }
  });

  it('two parallel company PATCHes of different fields both land', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const c = await company();
      const bp = await expectStatus(
        call(t.app, 'POST', `${c.base}/blocking-profiles`, c.adminToken, { name: 'p' }),
        201,
      );
      const results = await Promise.all([
        call(t.app, 'PATCH', c.base, c.adminToken, { name: `Renamed ${trial}` }),
        call(t.app, 'PATCH', c.base, c.adminToken, { defaultBlockingProfileId: bp.id }),
        call(t.app, 'PATCH', c.base, ADMIN_TOKEN, { mobileIntegration: true }),
      ]);
      for (const r of results) expect(r.statusCode).toBe(200);
      const stored = await t.store.companies.get(c.company.id);
      expect(stored, `trial ${trial}: lost update`).toMatchObject({
        name: `Renamed ${trial}`,
        defaultBlockingProfileId: bp.id,
        mobileIntegration: true,
      });
    }
  });

  it('a call-through policy PUT racing a company PATCH of another field: both land', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const c = await company();
      const [put, patch, platform] = await Promise.all([
        call(t.app, 'PUT', `${c.base}/call-through-policy`, c.adminToken, { lockAfterRefusals: trial + 1 }),
        call(t.app, 'PATCH', c.base, c.adminToken, { name: `Renamed ${trial}` }),
        call(t.app, 'PATCH', c.base, ADMIN_TOKEN, { mobileIntegration: true }),
      ]);
      for (const r of [put, patch, platform]) expect(r.statusCode, r.body).toBe(200);
      const stored = await t.store.companies.get(c.company.id);
      expect(stored, `trial ${trial}: lost update`).toMatchObject({
        name: `Renamed ${trial}`,
        mobileIntegration: true,
        callThroughPolicy: { lockAfterRefusals: trial + 1 },
      });
    }
  });
});
