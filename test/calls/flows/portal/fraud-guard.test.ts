/**
 * Issue 17 "Done when" (fraud guard): the call-through guard on the simulator — destination
 * classes, alerts, limits under parallel call-throughs on TWO controllers sharing one Redis,
 * the automatic lock and its lifting through the API, and what it costs in store round trips
 * (one per call-through, none for any other call).
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallThroughAlert } from '../../../../src/calls/reporting/call-through-alerts.js';
import { portalFlow } from '../../../../src/calls/flows/portal/portal.js';
import type { CallThroughPolicySettings } from '../../../../src/domain/fraud.js';
import type { AnywherePortal, Company } from '../../../../src/domain/model.js';
import type { SimChannel } from '../../../../tools/ari-sim/index.js';
import { startWorld, until, type World, type WorkplaceView } from '../../../support/world.js';

const sound = (id: string) => `sound:pbx/${id}`;
const TIMING = { menuTimeoutMs: 1500, firstDigitTimeoutMs: 2000, interDigitTimeoutMs: 600 };

let world: World;
/** a second controller (own simulator, own ARI, own config cache) on the same Redis store */
let world2: World;
const alerts: CallThroughAlert[] = [];
let nextCompany = 0;
let nextMobile = 100;

interface Tenant {
  company: Company;
  admin: string;
  wp: WorkplaceView;
  mobile: string;
  portal: AnywherePortal;
}

/** A company with one employee (a mobile on parallel ringing) and a portal without PIN. */
async function tenant(policy?: CallThroughPolicySettings): Promise<Tenant> {
  const n = nextCompany++;
  const { company, admin } = await world.createCompany(`Fraud ${n}`);
  const first = `+4930${String(600 + n)}00000`;
  const group = await world.createGroup(company.id, admin, {
    numberRanges: [{ first, last: first.slice(0, -2) + '99' }],
  });
  const mobile = `+4917030${String(nextMobile++).padStart(5, '0')}`;
  const wp = await world.createWorkplace(company.id, admin, {
    groupId: group.id,
    number: first.slice(0, -2) + '10',
    parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
  });
  const portal = await world.createPortal(company.id, admin, {
    groupId: group.id,
    number: first.slice(0, -2) + '99',
    pinRequired: false,
  });
  if (policy) await putPolicy({ company, admin } as Tenant, policy);
  return { company, admin, wp, mobile, portal };
}

async function putPolicy(t: Pick<Tenant, 'company' | 'admin'>, policy: CallThroughPolicySettings) {
  const res = await world.api('PUT', `/v1/companies/${t.company.id}/call-through-policy`, policy, t.admin);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  // both controllers see the change before the next call
  for (const w of [world, world2]) {
    await until(async () => {
      const c = await w.controller.context.cache.company(t.company.id);
      return isDeepStrictEqual(c?.callThroughPolicy, policy);
    }, 'policy seen by the controller');
  }
}

/** Calls the portal from the mobile on world `w` and waits for the menu. */
async function menu(t: Tenant, w: World = world): Promise<SimChannel> {
  const ch = await w.driver.placeCall({ from: t.mobile, to: t.portal.number });
  await ch.waitForPlayback(sound('portal-welcome'));
  return ch;
}

/** One call-through: admitted (bridged with the answering destination) or refused (announced). */
async function callThrough(
  t: Tenant,
  dialled: string,
  e164: string,
  w: World = world,
): Promise<{ ch: SimChannel; result: 'connected' | 'refused'; far?: SimChannel }> {
  const endpoint = w.externalEndpoint(e164);
  w.driver.setEndpointBehaviour(endpoint, { kind: 'answer', afterMs: 20 });
  const ch = await menu(t, w);
  await ch.pressDigits(`${dialled}#`);
  await until(
    () => ch.bridgedWith().length > 0 || ch.heard().includes(sound('call-through-refused')),
    'connected or refused',
  );
  if (ch.heard().includes(sound('call-through-refused'))) return { ch, result: 'refused' };
  const far = w.driver.channel(ch.bridgedWith()[0]!)!;
  expect(far.endpoint).toBe(endpoint);
  expect(far.callerNumber()).toBe(t.wp.number);
  return { ch, result: 'connected', far };
}

function dialledAnywhere(e164: string): boolean {
  return [world, world2].some((w) =>
    w.driver
      .restLog()
      .some((r) => /\/channels(\/create)?$/.test(r.path) && r.query?.endpoint === w.externalEndpoint(e164)),
  );
}

const alertsFor = (t: Tenant) => alerts.filter((a) => a.companyId === t.company.id);

beforeAll(async () => {
  world = await startWorld({
    flows: { portal: portalFlow },
    timing: TIMING,
    logLevel: process.env.CALLS_LOG ?? 'silent',
    // ended call-throughs ride along with the next admission (the round-trip test relies on it)
    callThroughGuard: { settleDelayMs: 60_000 },
  });
  world2 = await startWorld({
    flows: { portal: portalFlow },
    timing: TIMING,
    logLevel: process.env.CALLS_LOG ?? 'silent',
    storePrefix: world.storePrefix,
    callThroughGuard: { settleDelayMs: 50 },
  });
  for (const w of [world, world2]) w.controller.callThroughAlerts.onAlert((a) => alerts.push(a));
});

afterAll(async () => {
  await world2?.close();
  await world?.close();
});

describe('destination classes', () => {
  it('premium-rate (0900) is refused with its own prompt (not "number blocked"), never dialled, and alerted', async () => {
    const t = await tenant();
    const { ch, result } = await callThrough(t, '09001234567', '+499001234567');
    expect(result).toBe('refused');
    // back to the menu
    await until(() => ch.heard().filter((m) => m === sound('portal-welcome')).length === 2, 'the menu again');
    expect(ch.heard()).toEqual([
      sound('portal-welcome'),
      sound('call-through-refused'),
      sound('portal-welcome'),
    ]);
    expect(dialledAnywhere('+499001234567')).toBe(false);
    await ch.hangup();
    expect(alertsFor(t)).toMatchObject([
      {
        kind: 'destination-refused',
        reason: 'premium-rate',
        destinationClass: 'premium-rate',
        country: '49',
      },
    ]);
  });

  it('abroad only to allowed countries; the first call-through to a new country is alerted once', async () => {
    const t = await tenant();
    const uk = await callThrough(t, '00442079460101', '+442079460101');
    expect(uk.result).toBe('refused');
    await uk.ch.hangup();
    expect(alertsFor(t).map((a) => [a.kind, a.reason])).toEqual([
      ['destination-refused', 'country-not-allowed'],
    ]);

    await putPolicy(t, { allowedCountries: ['44'] });
    for (const n of ['+442079460102', '+442079460103']) {
      const call = await callThrough(t, `00${n.slice(1)}`, n);
      expect(call.result).toBe('connected');
      await call.far!.hangup();
      await call.ch.waitForHangup();
    }
    expect(alertsFor(t).map((a) => [a.kind, a.country])).toEqual([
      ['destination-refused', '44'],
      ['new-country', '44'],
    ]);
  });
});

describe('limits across two controllers sharing Redis', () => {
  it('parallel call-throughs of one workplace on both controllers: never more than the concurrency limit', async () => {
    const t = await tenant({ perWorkplace: { concurrent: 2 }, lockAfterRefusals: 0 });
    const targets = ['+4940555300001', '+4940555300002', '+4940555300003', '+4940555300004'];
    // four call-throughs at once, two through each controller, all destinations answering
    const calls = await Promise.all(
      targets.map((n, i) => callThrough(t, `0${n.slice(3)}`, n, i % 2 === 0 ? world : world2)),
    );
    expect(calls.filter((c) => c.result === 'connected')).toHaveLength(2);
    expect(calls.filter((c) => c.result === 'refused')).toHaveLength(2);
    expect(
      alertsFor(t)
        .filter((a) => a.kind === 'limit')
        .map((a) => a.reason),
    ).toEqual(['workplace-concurrent', 'workplace-concurrent']);
    // one connected call ends: its slot is free again for the next call-through
    const ended = calls.find((c) => c.result === 'connected')!;
    await ended.far!.hangup();
    await ended.ch.waitForHangup();
    for (const c of calls) if (c.result === 'refused') await c.ch.hangup();
    const next = await callThrough(t, '040555300005', '+4940555300005', world);
    expect(next.result).toBe('connected');
    for (const c of [...calls, next]) if (c.ch.isAlive()) await c.ch.hangup();
  });

  it('the company limit holds across workplaces and controllers', async () => {
    const t = await tenant({ perCompany: { concurrent: 1 }, lockAfterRefusals: 0 });
    const colleagueMobile = `+4917030${String(nextMobile++).padStart(5, '0')}`;
    await world.createWorkplace(t.company.id, t.admin, {
      groupId: t.wp.groupId,
      number: t.wp.number.slice(0, -2) + '11',
      parallelRinging: { enabled: true, numbers: [colleagueMobile], answerConfirmation: false },
    });
    const first = await callThrough(t, '040555300011', '+4940555300011', world);
    expect(first.result).toBe('connected');
    const second = await callThrough(
      { ...t, mobile: colleagueMobile },
      '040555300012',
      '+4940555300012',
      world2,
    );
    expect(second.result).toBe('refused');
    expect(alertsFor(t).map((a) => a.reason)).toEqual(['company-concurrent']);
    await first.ch.hangup();
    await second.ch.hangup();
  });

  it('the hourly limit, then the automatic lock after repeated refusals; only an admin lifts it', async () => {
    const t = await tenant({ perWorkplace: { perHour: 2 }, lockAfterRefusals: 2 });
    for (const [i, w] of [world, world2].entries()) {
      const call = await callThrough(t, `04055530002${i}`, `+494055530002${i}`, w);
      expect(call.result).toBe('connected');
      await call.ch.hangup();
    }
    const third = await callThrough(t, '040555300023', '+4940555300023', world2);
    expect(third.result).toBe('refused');
    await third.ch.hangup();
    const fourth = await callThrough(t, '040555300024', '+4940555300024', world);
    expect(fourth.result).toBe('refused');
    await fourth.ch.hangup();
    expect(alertsFor(t).map((a) => [a.kind, a.reason])).toEqual([
      ['limit', 'workplace-per-hour'],
      ['limit', 'workplace-per-hour'],
      ['locked', 'workplace-per-hour'],
    ]);
    // the configured value that was hit: perHour 2, then lockAfterRefusals 2
    expect(alertsFor(t).map((a) => a.limit)).toEqual([2, 2, 2]);
    const lockUrl = `/v1/companies/${t.company.id}/workplaces/${t.wp.id}/call-through-lock`;
    const status = await world.api<Record<string, unknown>>('GET', lockUrl, undefined, t.admin);
    expect(status.body).toMatchObject({ locked: true, reason: 'workplace-per-hour', refusalsToday: 2 });
    expect(status.body.workplace).toMatchObject({ thisHour: 2 });

    // a higher limit does not open a locked workplace
    await putPolicy(t, { perWorkplace: { perHour: 10 }, lockAfterRefusals: 2 });
    const locked = await callThrough(t, '040555300025', '+4940555300025', world2);
    expect(locked.result).toBe('refused');
    await locked.ch.hangup();
    // an employee may not lift it; the admin may
    const employee = await world.employeeToken(t.company.id, t.admin, t.wp.id);
    expect((await world.api('DELETE', lockUrl, undefined, employee)).status).toBe(403);
    expect((await world.api('DELETE', lockUrl, undefined, t.admin)).status).toBe(204);
    expect((await world.api<{ locked: boolean }>('GET', lockUrl, undefined, t.admin)).body.locked).toBe(
      false,
    );
    const open = await callThrough(t, '040555300026', '+4940555300026', world2);
    expect(open.result).toBe('connected');
    await open.ch.hangup();
    // *11 was never locked: the portal still works for the employee
  });
});

describe('minutes per day', () => {
  it('an admitted call-through is cut when the day’s minutes are used up; the next is refused', async () => {
    const t = await tenant({ perWorkplace: { minutesPerDay: 1 } });
    // 58 of the 60 seconds were talked earlier today
    await world.store.callThroughs.settle([
      {
        callId: 'earlier',
        companyId: t.company.id,
        workplaceId: t.wp.id,
        startedAtMs: Date.now(),
        seconds: 58,
      },
    ]);
    const call = await callThrough(t, '040555300041', '+4940555300041');
    expect(call.result).toBe('connected');
    // nobody hangs up: the controller cuts it
    await call.ch.waitForHangup(10_000);
    await call.far!.waitForHangup();
    const next = await callThrough(t, '040555300042', '+4940555300042');
    expect(next.result).toBe('refused');
    await next.ch.hangup();
    expect(alertsFor(t).map((a) => a.reason)).toEqual(['workplace-minutes']);
  });
});

describe('cost', () => {
  /** Counts the guard's store calls while `run` runs. */
  async function guardCalls(run: () => Promise<void>): Promise<number> {
    const repo = world.store.callThroughs;
    const original = { admit: repo.admit, settle: repo.settle };
    let count = 0;
    repo.admit = (...args) => (count++, original.admit(...args));
    repo.settle = (...args) => (count++, original.settle(...args));
    try {
      await run();
    } finally {
      Object.assign(repo, original);
    }
    return count;
  }

  /** Store round trips of one whole call-through (from the portal call to its end). */
  async function roundTripsOf(t: Tenant, e164: string): Promise<number> {
    const endpoint = world.externalEndpoint(e164);
    world.driver.setEndpointBehaviour(endpoint, { kind: 'answer', afterMs: 20 });
    const before = world.store.roundTrips();
    const ch = await world.driver.placeCall({ from: t.mobile, to: t.portal.number });
    await ch.waitForPlayback(sound('portal-welcome'));
    await ch.pressDigits(`0${e164.slice(3)}#`);
    await until(() => ch.bridgedWith().length > 0, 'connected');
    await ch.hangup();
    await until(() => !world.controller.router.sessions.has(ch.id), 'call over');
    return world.store.roundTrips() - before;
  }

  it('a call-through costs exactly one round trip more than without the guard; ended ones ride along', async () => {
    const t = await tenant();
    const target = '+4940555300031';
    // anything else the store does meanwhile can only add round trips: the fewest of two calls
    // is the call's own cost
    await roundTripsOf(t, target); // warms the caches (number, blocking, company)
    // each carries the previous call's settlement too
    const guarded = Math.min(await roundTripsOf(t, target), await roundTripsOf(t, target));
    await putPolicy(t, { enabled: false });
    await roundTripsOf(t, target); // warms the caches again after the change
    const unguarded = Math.min(await roundTripsOf(t, target), await roundTripsOf(t, target));
    expect(guarded - unguarded).toBe(1);
  });

  it('calls to a workplace, *11 and the portal menu never touch the guard', async () => {
    const t = await tenant();
    const calls = await guardCalls(async () => {
      world.driver.setEndpointBehaviour(world.deviceEndpoint(t.wp.devices[0]!.sipUsername), {
        kind: 'answer',
        afterMs: 20,
      });
      const caller = await world.driver.placeCall({ from: '+4989111222', to: t.wp.number });
      await until(() => caller.bridgedWith().length > 0, 'answered');
      const ch = await menu(t);
      await ch.pressDigits('*11');
      await until(() => caller.bridgedWith().includes(ch.id), 'pulled');
      await caller.hangup();
      await until(
        () =>
          !world.controller.router.sessions.has(caller.id) && !world.controller.router.sessions.has(ch.id),
        'calls over',
      );
    });
    expect(calls).toBe(0);
    const through = await guardCalls(async () => {
      const call = await callThrough(t, '040555300032', '+4940555300032');
      await call.ch.hangup();
    });
    expect(through).toBe(1);
  });
});
