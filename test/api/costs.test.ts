/**
 * Cost amplification: what a request costs depends on the request, not on the size of the
 * platform. Counted in store round trips (deterministic, no timings): group create and a
 * 1-row CSV import cost the same with 3 or 40 other companies; error answers are bounded;
 * PIN changes are rate limited per workplace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ISSUES } from '../../src/api/errors.js';
import {
  ADMIN_TOKEN,
  call,
  expectStatus,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

describe('cost amplification', () => {
  let t: TestApp;
  let seq = 0;
  const range = () => {
    seq++;
    const base = `+4972${String(seq).padStart(5, '0')}`;
    return { first: `${base}00`, last: `${base}99` };
  };

  /** More companies, each with a group and a workplace. */
  async function grow(count: number) {
    for (let i = 0; i < count; i++) {
      const c = await seedCompany(t.app, `Filler ${seq}`, range());
      await expectStatus(
        call(
          t.app,
          'POST',
          `${c.base}/workplaces`,
          c.adminToken,
          workplaceBody(c.group.numberRanges[0].first.replace(/00$/, '55')),
        ),
        201,
      );
    }
  }

  async function tripsOf(request: () => Promise<unknown>): Promise<number> {
    const before = t.store.roundTrips();
    await request();
    return t.store.roundTrips() - before;
  }

  beforeAll(async () => {
    t = await makeApp({ pinChangeLimit: { max: 3, windowMs: 3_600_000 } });
  });
  afterAll(async () => t.close());

  it('group create and a 1-row CSV import cost the same round trips with 3 or 40 companies', async () => {
    const measure = async () => {
      const c = await seedCompany(t.app, 'Measured', range());
      const group = await tripsOf(() =>
        expectStatus(
          call(t.app, 'POST', `${c.base}/groups`, c.adminToken, {
            name: 'More',
            timezone: 'Europe/Berlin',
            numberRanges: [range()],
          }),
          201,
        ),
      );
      const csv = [
        'firstName,lastName,email,username,groupId,number',
        `Ina,Iota,i@example.com,ina.${seq}.${Date.now()},${c.group.id},${c.group.numberRanges[0].first.replace(/00$/, '55')}`,
      ].join('\n');
      const csvImport = await tripsOf(() =>
        expectStatus(
          call(t.app, 'POST', `${c.base}/workplaces/import`, c.adminToken, csv, {
            headers: { 'content-type': 'text/csv' },
          }),
          201,
        ),
      );
      return { group, csvImport };
    };
    await grow(3);
    const small = await measure();
    await grow(37);
    const large = await measure();
    expect(large).toEqual(small);
  });

  it('0.87 MB of unknown keys gets a bounded 400', async () => {
    const body: Record<string, unknown> = { name: 'x' };
    let size = 12;
    for (let i = 0; size < 870_000; i++) {
      const key = `unknown_key_number_${i}`;
      body[key] = 1;
      size += key.length + 5;
    }
    const res = await call(t.app, 'POST', '/v1/companies', ADMIN_TOKEN, body);
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(16_000);
    const answer = res.json();
    expect(answer.issues).toHaveLength(MAX_ISSUES + 1);
    expect(answer.issues[MAX_ISSUES].message).toMatch(/^and \d+ more problems$/);
    expect(answer.message.length).toBeLessThan(1000);
  });

  it('a long value is not echoed back whole', async () => {
    const res = await call(t.app, 'POST', '/v1/companies', ADMIN_TOKEN, {
      name: 'x',
      ['k'.repeat(100_000)]: 1,
    });
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(2_000);
  });

  it('PIN changes are rate limited per workplace (429 with Retry-After), before any hashing', async () => {
    const c = await seedCompany(t.app, 'Pins', range());
    const first = c.group.numberRanges[0].first.replace(/00$/, '55');
    const w = await expectStatus(
      call(t.app, 'POST', `${c.base}/workplaces`, c.adminToken, workplaceBody(first)),
      201,
    );
    const other = await expectStatus(
      call(t.app, 'POST', `${c.base}/workplaces`, c.adminToken, workplaceBody(first.replace(/55$/, '56'))),
      201,
    );
    const { token } = await expectStatus(
      call(t.app, 'POST', `${c.base}/tokens`, c.adminToken, { role: 'employee', workplaceId: w.id }),
      201,
    );
    const pins = ['2580', '1397', '8642', '9513'];
    const change = (wid: string, pin: string, auth = token) =>
      call(t.app, 'PUT', `${c.base}/workplaces/${wid}/voicebox`, auth, { enabled: true, pin });
    for (const pin of pins.slice(0, 3)) await expectStatus(change(w.id, pin), 200);
    const refused = await change(w.id, pins[3]!);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ error: 'rate_limited' });
    // the admin's token does not get around it; another workplace is not affected
    expect((await change(w.id, pins[3]!, c.adminToken)).statusCode).toBe(429);
    await expectStatus(change(other.id, pins[0]!, c.adminToken), 200);
    // switching the voicebox on and off without a PIN is not limited
    await expectStatus(
      call(t.app, 'PUT', `${c.base}/workplaces/${w.id}/voicebox`, token, { enabled: false }),
      200,
    );
  });

  it("the overlap error does not reveal another tenant's range", async () => {
    const a = await seedCompany(t.app, 'A', { first: '+4973000000', last: '+4973000099' });
    const b = await seedCompany(t.app, 'B', range());
    const res = await call(t.app, 'POST', `${b.base}/groups`, b.adminToken, {
      name: 'Steal',
      timezone: 'Europe/Berlin',
      numberRanges: [{ first: '+4973000050', last: '+4973000060' }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('+4973000000');
    expect(res.body).not.toContain('+4973000099');
    expect(res.body).not.toContain(a.group.id);
    expect(res.json().issues).toEqual([
      { path: 'numberRanges.0', message: 'overlaps a range in use; numbers are global' },
    ]);
  });
});
