/** Schedules as API resources, and a workplace's availability (do-not-disturb, opening hours). */
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

const officeWeek = {
  mon: [{ from: '08:00', to: '17:00' }],
  tue: [{ from: '08:00', to: '17:00' }],
  wed: [{ from: '08:00', to: '17:00' }],
  thu: [{ from: '08:00', to: '17:00' }],
  fri: [{ from: '08:00', to: '14:00' }],
};

describe('schedules', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<typeof seedCompany>>;
  let b: Awaited<ReturnType<typeof seedCompany>>;

  beforeAll(async () => {
    t = await makeApp();
    a = await seedCompany(t.app, 'A GmbH', { first: '+4930444000', last: '+4930444049' });
    b = await seedCompany(t.app, 'B GmbH', { first: '+4930555000', last: '+4930555049' });
  });
  afterAll(async () => t.close());

  it('are created, read, listed, changed and deleted; bad input names every bad field', async () => {
    const bad = await expectStatus(
      call(t.app, 'POST', `${a.base}/schedules`, a.adminToken, {
        name: 'Büro',
        timezone: 'Berlin',
        week: { mon: [{ from: '8', to: '17:00' }], tue: [{ from: '09:00', to: '09:00' }] },
        holidays: { country: 'DE', state: 'XY' },
        closedDays: [{ from: '2026-12-31', to: '2026-12-24', name: 'Ferien' }],
      }),
      400,
    );
    expect(issuePaths(bad)).toEqual([
      'closedDays.0.to',
      'holidays.state',
      'timezone',
      'week.mon.0.from',
      'week.tue.0.to',
    ]);
    // an unknown weekday is named by the schema
    expect(
      issuePaths(
        await expectStatus(
          call(t.app, 'POST', `${a.base}/schedules`, a.adminToken, { name: 'x', week: { monday: [] } }),
          400,
        ),
      ),
    ).toEqual(['week.monday']);

    const created = await expectStatus(
      call(t.app, 'POST', `${a.base}/schedules`, a.adminToken, {
        name: 'Büro Berlin',
        week: officeWeek,
        holidays: { country: 'DE', state: 'BE' },
        closedDays: [{ from: '2026-12-24', to: '2026-12-31', name: 'Betriebsferien' }],
      }),
      201,
    );
    expect(created).toMatchObject({ name: 'Büro Berlin', companyId: a.company.id, week: officeWeek });
    expect(
      await expectStatus(call(t.app, 'GET', `${a.base}/schedules/${created.id}`, a.adminToken), 200),
    ).toEqual(created);
    const patched = await expectStatus(
      call(t.app, 'PATCH', `${a.base}/schedules/${created.id}`, a.adminToken, {
        timezone: 'Europe/Berlin',
        week: { ...officeWeek, sat: [{ from: '10:00', to: '13:00' }] },
      }),
      200,
    );
    expect(patched).toMatchObject({ timezone: 'Europe/Berlin', holidays: { state: 'BE' } });
    expect(patched.week.sat).toEqual([{ from: '10:00', to: '13:00' }]);
    const cleared = await expectStatus(
      call(t.app, 'PATCH', `${a.base}/schedules/${created.id}`, a.adminToken, {
        timezone: null,
        holidays: null,
      }),
      200,
    );
    expect(cleared.timezone).toBeUndefined();
    expect(cleared.holidays).toBeUndefined();
    // a bad change is refused whole
    await expectStatus(
      call(t.app, 'PATCH', `${a.base}/schedules/${created.id}`, a.adminToken, {
        name: 'renamed',
        week: { mon: [{ from: '25:00', to: '26:00' }] },
      }),
      400,
    );
    expect(
      (await expectStatus(call(t.app, 'GET', `${a.base}/schedules/${created.id}`, a.adminToken), 200)).name,
    ).toBe('Büro Berlin');
    const list = await expectStatus(call(t.app, 'GET', `${a.base}/schedules`, a.adminToken), 200);
    expect(list.map((s: { id: string }) => s.id)).toEqual([created.id]);
    await expectStatus(call(t.app, 'DELETE', `${a.base}/schedules/${created.id}`, a.adminToken), 204);
    await expectStatus(call(t.app, 'GET', `${a.base}/schedules/${created.id}`, a.adminToken), 404);
  });

  it('another company sees none of them', async () => {
    const own = await expectStatus(
      call(t.app, 'POST', `${a.base}/schedules`, a.adminToken, { name: 'A only', week: officeWeek }),
      201,
    );
    await expectStatus(call(t.app, 'GET', `${b.base}/schedules/${own.id}`, b.adminToken), 404);
    // (another company's URL answers as if it did not exist)
    await expectStatus(call(t.app, 'GET', `${a.base}/schedules/${own.id}`, b.adminToken), 404);
    expect(await expectStatus(call(t.app, 'GET', `${b.base}/schedules`, b.adminToken), 200)).toEqual([]);
    await expectStatus(call(t.app, 'DELETE', `${b.base}/schedules/${own.id}`, b.adminToken), 404);
  });

  it('a workplace takes a schedule with a closed-hours target and do-not-disturb; the employee may set them', async () => {
    const schedule = await expectStatus(
      call(t.app, 'POST', `${a.base}/schedules`, a.adminToken, { name: 'Hotline', week: officeWeek }),
      201,
    );
    const w = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930444010')),
      201,
    );
    const { token: employee } = await expectStatus(
      call(t.app, 'POST', `${a.base}/tokens`, a.adminToken, { role: 'employee', workplaceId: w.id }),
      201,
    );
    const url = `${a.base}/workplaces/${w.id}/availability`;
    expect(await expectStatus(call(t.app, 'GET', url, employee), 200)).toEqual({ doNotDisturb: false });

    // every bad field at once; nothing changes
    const bad = await expectStatus(
      call(t.app, 'PUT', url, employee, {
        doNotDisturb: true,
        scheduleId: 'nope',
        closedTarget: '+4930444010',
      }),
      400,
    );
    expect(issuePaths(bad)).toEqual(['closedTarget.number', 'scheduleId']);
    expect(await expectStatus(call(t.app, 'GET', url, employee), 200)).toEqual({ doNotDisturb: false });
    // another company's schedule is as unknown as a made-up one
    const foreign = await expectStatus(
      call(t.app, 'POST', `${b.base}/schedules`, b.adminToken, { name: 'B', week: officeWeek }),
      201,
    );
    expect(
      issuePaths(
        await expectStatus(
          call(t.app, 'PUT', url, employee, { doNotDisturb: false, scheduleId: foreign.id }),
          400,
        ),
      ),
    ).toEqual(['scheduleId']);

    expect(
      await expectStatus(
        call(t.app, 'PUT', url, employee, {
          doNotDisturb: true,
          scheduleId: schedule.id,
          closedTarget: '030 999 888',
        }),
        200,
      ),
    ).toEqual({ doNotDisturb: true, scheduleId: schedule.id, closedTarget: { number: '+4930999888' } });
    const view = await expectStatus(call(t.app, 'GET', `${a.base}/workplaces/${w.id}`, a.adminToken), 200);
    expect(view).toMatchObject({ doNotDisturb: true, scheduleId: schedule.id });

    // in use: the schedule cannot go
    const inUse = await expectStatus(
      call(t.app, 'DELETE', `${a.base}/schedules/${schedule.id}`, a.adminToken),
      409,
    );
    expect(inUse.message).toMatch(/schedule is still in use/);
    // the schedule only: the target defaults to the voicebox
    expect(
      await expectStatus(call(t.app, 'PUT', url, employee, { doNotDisturb: false, scheduleId: null }), 200),
    ).toEqual({
      doNotDisturb: false,
    });
    await expectStatus(call(t.app, 'DELETE', `${a.base}/schedules/${schedule.id}`, a.adminToken), 204);
  });

  it('routing explain shows which schedule and rule applied at `at`', async () => {
    const schedule = await expectStatus(
      call(t.app, 'POST', `${a.base}/schedules`, a.adminToken, {
        name: 'Zentrale',
        week: officeWeek,
        holidays: { country: 'DE', state: 'BE' },
      }),
      201,
    );
    const w = await expectStatus(
      call(t.app, 'POST', `${a.base}/workplaces`, a.adminToken, workplaceBody('+4930444020')),
      201,
    );
    await expectStatus(
      call(t.app, 'PUT', `${a.base}/workplaces/${w.id}/availability`, a.adminToken, {
        doNotDisturb: false,
        scheduleId: schedule.id,
        closedTarget: '+4930999777',
      }),
      200,
    );
    const explain = (at: string) =>
      expectStatus(
        call(t.app, 'POST', `${a.base}/routing/explain`, a.adminToken, {
          from: '+4989111',
          to: w.number,
          at,
        }),
        200,
      );
    const steps = (e: { steps: Array<{ step: string; outcome: string }> }) =>
      Object.fromEntries(e.steps.map((s) => [s.step, s.outcome]));
    // Monday 10:00 in Berlin: open
    const open = await explain('2026-12-07T09:00:00Z');
    expect(steps(open).availability).toBe('"Zentrale" is open (mon 08:00–17:00)');
    expect(open.plan.first.action).not.toBe('forward');
    // Monday 18:00: closed, forwarded to the closed-hours number
    const evening = await explain('2026-12-07T17:00:00Z');
    expect(steps(evening).availability).toBe('"Zentrale" is closed: outside the opening hours (mon 18:00)');
    expect(evening.plan.first).toMatchObject({
      action: 'forward',
      reason: 'closed',
      leg: { number: '+4930999777' },
    });
    // Christmas Day 2028 is a Monday: a public holiday in Berlin
    const christmas = await explain('2028-12-25T09:00:00Z');
    expect(steps(christmas).availability).toBe(
      '"Zentrale" is closed: public holiday "1. Weihnachtstag" (2028-12-25)',
    );
    // do-not-disturb within the hours (this workplace's voicebox is off: busy)
    await expectStatus(
      call(t.app, 'PUT', `${a.base}/workplaces/${w.id}/availability`, a.adminToken, { doNotDisturb: true }),
      200,
    );
    const dnd = await explain('2026-12-07T09:00:00Z');
    expect(dnd.plan.first).toEqual({ action: 'release', cause: 17, reason: 'do-not-disturb' });
  });
});
