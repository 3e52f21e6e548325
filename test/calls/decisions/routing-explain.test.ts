/**
 * Issue 17 "Done when" (routing explain): every call scenario runs both ways — first through
 * POST /routing/explain, then as a real call on the simulator world — and what the
 * explanation predicts (which endpoints are dialled, in which order; who is bridged; the
 * voicebox; the prompt heard; the release cause) must be what the call did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation, PlanTree } from '../../../src/calls/decisions/explain.js';
import { portalFlow } from '../../../src/calls/flows/portal/portal.js';
import type { AnywherePortal, BlockingProfile, Company } from '../../../src/domain/model.js';
import { combineLegFailures, type RingFailure } from '../../../src/domain/ring-plan.js';
import type { SimChannel } from '../../../tools/ari-sim/index.js';
import { startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextNumber = 10;
let nextMobile = 100;
let nextProfile = 1;

const CALLER = '+4989111222';
const sound = (id: string) => `sound:pbx/${id}`;
type Behaviour = 'answer' | 'busy' | 'noanswer' | 'unreachable';

/** What a call did (or, from an explanation, will do). */
interface Outcome {
  dialled: string[];
  end: { bridgedTo: string } | { voicebox: true } | { cause: number } | { prompt: string };
}

async function workplace(body: Record<string, unknown> = {}): Promise<WorkplaceView> {
  const number = `+49301234${String(nextNumber++).padStart(2, '0')}`;
  return world.createWorkplace(company.id, admin, { groupId, number, ...body });
}
const mobileNumber = () => `+4917020${String(nextMobile++).padStart(5, '0')}`;
async function portal(body: Record<string, unknown> = {}): Promise<AnywherePortal> {
  return world.createPortal(company.id, admin, {
    groupId,
    // one counter with the workplaces: the group's range has room for both
    number: `+49301234${String(nextNumber++).padStart(2, '0')}`,
    ...body,
  });
}
async function blockingProfile(body: Partial<BlockingProfile>): Promise<BlockingProfile> {
  const res = await world.api<BlockingProfile>(
    'POST',
    `/v1/companies/${company.id}/blocking-profiles`,
    { name: `p${nextProfile++}`, incoming: [], outgoing: [], forwarded: [], ...body },
    admin,
  );
  expect(res.status).toBe(201);
  return res.body;
}
const device = (wp: WorkplaceView, i = 0) => world.deviceEndpoint(wp.devices[i]!.sipUsername);

async function explain(body: Record<string, unknown>, token = admin): Promise<Explanation> {
  const res = await world.api<Explanation>(
    'POST',
    `/v1/companies/${company.id}/routing/explain`,
    body,
    token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The ring plan walked with the endpoints' behaviours: what the controller will dial and how it ends. */
function predictPlan(plan: PlanTree, behaviour: (endpoint: string) => Behaviour): Outcome {
  const dialled: string[] = [];
  let step = plan.first;
  for (let i = 0; i < 4; i++) {
    switch (step.action) {
      case 'reject':
      case 'release':
        return { dialled, end: { cause: step.cause } };
      case 'voicebox':
        return { dialled, end: { voicebox: true } };
      case 'ring': {
        const endpoints = step.legs.map((l) => l.endpoint);
        dialled.push(...endpoints);
        const answered = endpoints.find((e) => behaviour(e) === 'answer');
        if (answered) return { dialled, end: { bridgedTo: answered } };
        const failure = combineLegFailures(endpoints.map((e) => behaviour(e) as RingFailure));
        step = plan.ifNobodyAnswers![failure];
        break;
      }
      case 'forward': {
        dialled.push(step.leg.endpoint);
        const b = behaviour(step.leg.endpoint);
        if (b === 'answer') return { dialled, end: { bridgedTo: step.leg.endpoint } };
        step = plan.ifForwardFails![b];
        break;
      }
    }
  }
  throw new Error('plan did not end');
}

function predict(e: Explanation, behaviour: (endpoint: string) => Behaviour): Outcome {
  switch (e.route) {
    case 'unallocated':
      return { dialled: [], end: { cause: 1 } };
    case 'workplace':
      return predictPlan(e.plan!, behaviour);
    case 'outbound': {
      if (e.outbound!.blocked) return { dialled: [], end: { prompt: sound('number-blocked') } };
      const endpoint = world.externalEndpoint(e.outbound!.e164);
      return { dialled: [endpoint], end: { bridgedTo: endpoint } };
    }
    default:
      throw new Error(`no prediction for ${e.route}`);
  }
}

type RestEntry = ReturnType<World['driver']['restLog']>[number];

/** A mark in the (bounded) REST log: the entries seen so far. */
function mark(): Set<RestEntry> {
  return new Set(world.driver.restLog());
}

/** Endpoints the controller asked Asterisk to create (create+dial, or originate) since the mark, in order. */
function dialledSince(before: Set<RestEntry>): string[] {
  return world.driver
    .restLog()
    .filter((r) => !before.has(r))
    .filter((r) => r.method === 'POST' && (r.path === '/channels/create' || r.path === '/channels'))
    .map((r) => String(r.query?.endpoint));
}

/** Places the call with the endpoints behaving as given, and observes how it ends. */
async function observe(
  place: () => Promise<SimChannel>,
  behaviours: Record<string, Behaviour>,
  firstPrompt?: string,
): Promise<Outcome> {
  for (const [endpoint, b] of Object.entries(behaviours)) {
    world.driver.setEndpointBehaviour(
      endpoint,
      b === 'noanswer' ? { kind: 'noanswer' } : { kind: b, afterMs: 30 },
    );
  }
  const start = mark();
  const caller = await place();
  await until(
    () =>
      !caller.isAlive() ||
      caller.bridgedWith().length > 0 ||
      caller.heard().includes(sound('beep')) ||
      (firstPrompt !== undefined && caller.heard().includes(firstPrompt)),
    'the call to end, connect or reach the voicebox',
    15_000,
  );
  let end: Outcome['end'];
  const bridged = caller.bridgedWith()[0];
  if (bridged) end = { bridgedTo: world.driver.channel(bridged)!.endpoint! };
  else if (caller.heard().includes(sound('beep'))) end = { voicebox: true };
  else if (firstPrompt !== undefined && caller.heard().includes(firstPrompt)) end = { prompt: firstPrompt };
  else if (caller.heard().length > 0) end = { prompt: caller.heard()[0]! };
  else end = { cause: caller.hangupCause()! };
  const dialled = dialledSince(start);
  if (caller.isAlive()) await caller.hangup();
  return { dialled, end };
}

/** Both ways: explain, predict, call, compare. */
async function bothWays(
  body: { from: string; to: string },
  behaviours: Record<string, Behaviour>,
  place: () => Promise<SimChannel>,
): Promise<{ explanation: Explanation; outcome: Outcome }> {
  const explanation = await explain(body);
  const behaviour = (endpoint: string): Behaviour => behaviours[endpoint] ?? 'noanswer';
  const predicted = predict(explanation, behaviour);
  const watchFor = 'prompt' in predicted.end ? predicted.end.prompt : undefined;
  const outcome = await observe(place, behaviours, watchFor);
  expect(outcome, JSON.stringify(explanation.steps, null, 1)).toEqual(predicted);
  return { explanation, outcome };
}

const fromTrunk =
  (to: string, from = CALLER) =>
  () =>
    world.driver.placeCall({ from, to });

beforeAll(async () => {
  world = await startWorld({
    flows: { portal: portalFlow },
    timing: { confirmationMs: 400, menuTimeoutMs: 1500, firstDigitTimeoutMs: 2000, interDigitTimeoutMs: 600 },
    logLevel: process.env.CALLS_LOG ?? 'silent',
  });
  ({ company, admin } = await world.createCompany());
  groupId = (await world.createGroup(company.id, admin)).id;
});

afterAll(async () => {
  await world?.close();
});

describe('calls to a workplace, explained and placed', () => {
  it('answered at the desk', async () => {
    const wp = await workplace();
    const { explanation } = await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'answer' },
      fromTrunk(wp.number),
    );
    expect(explanation.route).toBe('workplace');
    expect(explanation.plan!.first.action).toBe('ring');
    expect(explanation.steps.map((s) => s.step)).toEqual([
      'caller',
      'number',
      'blocking-profile',
      'incoming-blocking',
      'ring-plan',
      'if-busy',
      'if-noanswer',
      'if-unreachable',
      'voicebox',
    ]);
  });

  it('parallel ringing: the mobile answers; devices and numbers ring at once', async () => {
    const mobile = mobileNumber();
    const wp = await workplace({
      devices: [{ type: 'deskphone', model: 'Yealink T54W' }, { type: 'desktop' }],
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const { explanation, outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'noanswer', [device(wp, 1)]: 'noanswer', [world.externalEndpoint(mobile)]: 'answer' },
      fromTrunk(wp.number),
    );
    expect(outcome.dialled).toHaveLength(3);
    const first = explanation.plan!.first;
    expect(first.action === 'ring' && first.legs.map((l) => l.kind)).toEqual([
      'device',
      'device',
      'external',
    ]);
  });

  it('parallel ringing with answer confirmation is shown on the external leg', async () => {
    const mobile = mobileNumber();
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: true },
    });
    const e = await explain({ from: CALLER, to: wp.number });
    const first = e.plan!.first;
    expect(first.action === 'ring' && first.legs.map((l) => l.kind === 'external' && l.confirm)).toEqual([
      false,
      true,
    ]);
    await bothWays({ from: CALLER, to: wp.number }, { [device(wp)]: 'answer' }, fromTrunk(wp.number));
  });

  it('forward always: the devices never ring', async () => {
    const target = '+4940555100001';
    const wp = await workplace({ forwarding: { always: { enabled: true, target: { number: target } } } });
    const { explanation, outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      { [world.externalEndpoint(target)]: 'answer' },
      fromTrunk(wp.number),
    );
    expect(explanation.plan!.first).toMatchObject({ action: 'forward', reason: 'always' });
    expect(outcome.dialled).toEqual([world.externalEndpoint(target)]);
  });

  it('forward on busy', async () => {
    const target = '+4940555100002';
    const wp = await workplace({ forwarding: { busy: { enabled: true, target: { number: target } } } });
    const { explanation } = await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'busy', [world.externalEndpoint(target)]: 'answer' },
      fromTrunk(wp.number),
    );
    expect(explanation.plan!.ifNobodyAnswers!.busy).toMatchObject({ action: 'forward', reason: 'busy' });
  });

  it('forward on no answer, whose target is busy: released like a call to the target', async () => {
    const target = '+4940555100003';
    const wp = await workplace({
      forwarding: { noAnswer: { enabled: true, target: { number: target }, ringSeconds: 10 } },
    });
    const { explanation, outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'noanswer', [world.externalEndpoint(target)]: 'busy' },
      fromTrunk(wp.number),
    );
    expect(explanation.plan!.ifForwardFails!.busy).toMatchObject({ action: 'release', cause: 17 });
    expect(outcome.end).toEqual({ cause: 17 });
  });

  it('forward when unreachable', async () => {
    const target = '+4940555100004';
    const wp = await workplace({
      forwarding: { unreachable: { enabled: true, target: { number: target } } },
    });
    await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'unreachable', [world.externalEndpoint(target)]: 'answer' },
      fromTrunk(wp.number),
    );
  });

  it('nobody answers: the voicebox', async () => {
    const wp = await workplace({ forwarding: { noAnswer: { enabled: false, ringSeconds: 10 } } });
    const { outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'noanswer' },
      fromTrunk(wp.number),
    );
    expect(outcome.end).toEqual({ voicebox: true });
  });

  it('busy without voicebox: released busy', async () => {
    const wp = await workplace({ voicebox: { enabled: false } });
    const { outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      { [device(wp)]: 'busy' },
      fromTrunk(wp.number),
    );
    expect(outcome.end).toEqual({ cause: 17 });
  });

  it('a forward target blocked for forwarding: the voicebox, the target never dialled', async () => {
    const profile = await blockingProfile({ forwarded: ['+49900'] });
    const wp = await workplace({
      blockingProfileId: profile.id,
      forwarding: { always: { enabled: true, target: { number: '+49900123456' } } },
    });
    const { explanation, outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      {},
      fromTrunk(wp.number),
    );
    expect(explanation.plan!.first).toEqual({ action: 'voicebox', reason: 'forward-target-blocked' });
    expect(explanation.steps.find((s) => s.step === 'forward-blocked')?.outcome).toContain('+49900');
    expect(outcome.dialled).toEqual([]);
  });

  it('blocked by the profile (incoming, group level): rejected, nothing rings', async () => {
    const profile = await blockingProfile({ incoming: ['+4989'] });
    const group = await world.createGroup(company.id, admin, {
      name: 'Blocked',
      numberRanges: [{ first: '+4930777000', last: '+4930777099' }],
      blockingProfileId: profile.id,
    });
    const wp = await world.createWorkplace(company.id, admin, { groupId: group.id, number: '+4930777001' });
    const { explanation, outcome } = await bothWays(
      { from: CALLER, to: wp.number },
      {},
      fromTrunk(wp.number),
    );
    expect(outcome.end).toEqual({ cause: 21 });
    const blocking = explanation.steps.find((s) => s.step === 'blocking-profile')!;
    expect(blocking.detail).toMatchObject({ profileId: profile.id, level: 'group' });
    expect(explanation.steps.find((s) => s.step === 'incoming-blocking')!.detail).toMatchObject({
      blocked: true,
      prefix: '+4989',
    });
  });

  it('an unknown number: unallocated (cause 1)', async () => {
    const { explanation } = await bothWays({ from: CALLER, to: '030123488' }, {}, fromTrunk('+4930123488'));
    expect(explanation.route).toBe('unallocated');
  });

  it('internal call by extension from a colleague’s device', async () => {
    const from = await workplace();
    const to = await workplace();
    const { explanation } = await bothWays(
      { from: from.extension, to: to.extension },
      { [device(to)]: 'answer' },
      () => world.callFromDevice(from, to.extension),
    );
    expect(explanation.call).toMatchObject({
      kind: 'internal',
      callerNumber: from.number,
      fromWorkplaceId: from.id,
    });
  });

  it('a device calls out; an outgoing-blocked number is refused with a prompt', async () => {
    const profile = await blockingProfile({ outgoing: ['+49900'] });
    const wp = await workplace({ blockingProfileId: profile.id });
    const allowed = await bothWays(
      { from: wp.extension, to: '040555100777' },
      { [world.externalEndpoint('+4940555100777')]: 'answer' },
      () => world.callFromDevice(wp, '040555100777'),
    );
    expect(allowed.explanation.outbound).toMatchObject({ e164: '+4940555100777', blocked: false });
    const blocked = await bothWays({ from: wp.extension, to: '+49900123456' }, {}, () =>
      world.callFromDevice(wp, '+49900123456'),
    );
    expect(blocked.explanation.outbound).toMatchObject({
      blocked: true,
      prefix: '+49900',
      profileId: profile.id,
    });
  });
});

describe('the Anywhere portal, explained and placed', () => {
  /** The first thing the caller hears: the PIN prompt, the menu, or "access denied". */
  function expectedFirstPrompt(e: Explanation): string {
    const p = e.portal!;
    if (p.result === 'refused') return sound('access-denied');
    return sound(p.result === 'pin' ? 'enter-pin' : 'portal-welcome');
  }

  async function portalBothWays(from: string, p: AnywherePortal): Promise<Explanation> {
    const e = await explain({ from, to: p.number });
    expect(e.route).toBe('portal');
    const prompt = expectedFirstPrompt(e);
    const start = mark();
    const ch = await world.driver.placeCall({ from, to: p.number });
    await ch.waitForPlayback(prompt);
    expect(ch.heard()[0]).toBe(prompt);
    if (e.portal!.result === 'refused') expect(await ch.waitForHangup()).toBe(16);
    else await ch.hangup();
    expect(dialledSince(start)).toEqual([]);
    return e;
  }

  it('caller ID only (no PIN): admitted to the menu', async () => {
    const mobile = mobileNumber();
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const p = await portal({ pinRequired: false });
    const e = await portalBothWays(mobile, p);
    expect(e.portal).toMatchObject({ auth: 'caller-number', result: 'admitted', workplaceIds: [wp.id] });
  });

  it('caller ID and PIN: the PIN is asked', async () => {
    const mobile = mobileNumber();
    await workplace({ parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false } });
    const p = await portal({ pinRequired: true });
    const e = await portalBothWays(mobile, p);
    expect(e.portal!.result).toBe('pin');
    expect(e.steps.map((s) => s.step)).toContain('portal-pin');
  });

  it('a refused caller: not a parallel-ringing number', async () => {
    const p = await portal();
    const e = await portalBothWays('+4917099999999', p);
    expect(e.portal).toMatchObject({ result: 'refused', reason: 'unknown-caller' });
  });

  describe('call-through', () => {
    async function menu(p: AnywherePortal, mobile: string): Promise<SimChannel> {
      const ch = await world.driver.placeCall({ from: mobile, to: p.number });
      await ch.waitForPlayback(sound('portal-welcome'));
      return ch;
    }

    it('allowed: dialled with the office number as caller ID', async () => {
      const mobile = mobileNumber();
      const wp = await workplace({
        parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      });
      const p = await portal({ pinRequired: false });
      const e = await explain({ from: mobile, via: p.number, to: '030555200123' });
      expect(e.callThrough).toMatchObject({
        result: 'external',
        e164: '+4930555200123',
        callerId: wp.number,
      });
      const target = world.externalEndpoint(e.callThrough!.e164!);
      world.driver.setEndpointBehaviour(target, { kind: 'answer', afterMs: 30 });
      const ch = await menu(p, mobile);
      const start = mark();
      await ch.pressDigits('030555200123#');
      const out = await world.driver.waitForChannel(target);
      expect(out.callerNumber()).toBe(e.callThrough!.callerId);
      await until(() => ch.bridgedWith().includes(out.id), 'bridged');
      expect(dialledSince(start)).toEqual([target]);
      await ch.hangup();
    });

    it('blocked (the stricter of portal and workplace profile): announced, never dialled', async () => {
      const mobile = mobileNumber();
      const workplaceProfile = await blockingProfile({ outgoing: ['+44'] });
      await workplace({
        blockingProfileId: workplaceProfile.id,
        parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      });
      const portalProfile = await blockingProfile({ outgoing: ['+49900'] });
      const p = await portal({ pinRequired: false, blockingProfileId: portalProfile.id });
      const e = await explain({ from: mobile, via: p.number, to: '00442079460003' });
      expect(e.callThrough).toMatchObject({ result: 'blocked', e164: '+442079460003' });
      const step = e.steps.find((s) => s.step === 'call-through-blocking')!;
      expect(step.detail).toMatchObject({
        portal: { profileId: portalProfile.id },
        workplace: { profileId: workplaceProfile.id, prefix: '+44', level: 'workplace' },
        stricterWins: { blocked: true },
      });
      const ch = await menu(p, mobile);
      const start = mark();
      await ch.pressDigits('00442079460003#');
      await ch.waitForPlayback(sound('number-blocked'));
      expect(dialledSince(start)).toEqual([]);
      await ch.hangup();
    });

    it('refused by the fraud guard (premium-rate): announced, never dialled', async () => {
      const mobile = mobileNumber();
      await workplace({ parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false } });
      const p = await portal({ pinRequired: false });
      const e = await explain({ from: mobile, via: p.number, to: '09001234567' });
      expect(e.callThrough).toMatchObject({
        result: 'refused-by-guard',
        reason: 'premium-rate',
        guard: { enabled: true, destinationClass: 'premium-rate', country: '49', locked: false },
      });
      const ch = await menu(p, mobile);
      const start = mark();
      await ch.pressDigits('09001234567#');
      await ch.waitForPlayback(sound('call-through-refused'));
      expect(dialledSince(start)).toEqual([]);
      await ch.hangup();
    });

    it('refused by the fraud guard while the workplace is at its concurrency limit', async () => {
      const res = await world.api(
        'PUT',
        `/v1/companies/${company.id}/call-through-policy`,
        { perWorkplace: { concurrent: 1 } },
        admin,
      );
      expect(res.status).toBe(200);
      await until(
        async () =>
          (await world.controller.context.cache.company(company.id))?.callThroughPolicy?.perWorkplace
            ?.concurrent === 1,
        'policy applied',
      );
      const mobile = mobileNumber();
      await workplace({ parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false } });
      const p = await portal({ pinRequired: false });
      const before = await explain({ from: mobile, via: p.number, to: '030555200124' });
      expect(before.callThrough).toMatchObject({
        result: 'external',
        guard: { usage: { workplace: { active: 0 } } },
      });
      // one call-through running …
      world.driver.setEndpointBehaviour(world.externalEndpoint('+4930555200124'), {
        kind: 'answer',
        afterMs: 20,
      });
      const first = await menu(p, mobile);
      await first.pressDigits('030555200124#');
      await until(() => first.bridgedWith().length > 0, 'first call-through connected');
      // … so the next one is refused: explained, then placed
      const e = await explain({ from: mobile, via: p.number, to: '030555200125' });
      expect(e.callThrough).toMatchObject({
        result: 'refused-by-guard',
        reason: 'workplace-concurrent',
        guard: { usage: { workplace: { active: 1 } } },
      });
      const second = await menu(p, mobile);
      const start = mark();
      await second.pressDigits('030555200125#');
      await second.waitForPlayback(sound('call-through-refused'));
      expect(dialledSince(start)).toEqual([]);
      await second.hangup();
      await first.hangup();
    });

    it('an ended call-through no longer counts: explain reads the usage view the next admission sees', async () => {
      // (the policy of the test above still holds: one call-through at once per workplace)
      const mobile = mobileNumber();
      await workplace({ parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false } });
      const p = await portal({ pinRequired: false });
      const target = world.externalEndpoint('+4930555200126');
      world.driver.setEndpointBehaviour(target, { kind: 'answer', afterMs: 20 });
      const first = await menu(p, mobile);
      await first.pressDigits('030555200126#');
      await until(() => first.bridgedWith().length > 0, 'call-through connected');
      await first.hangup();
      // the flow is over (the controller holds the ended call-through to settle it lazily) …
      await until(() => !world.controller.router.sessions.has(first.id), 'portal call over');
      // … and explain, at once, counts it as ended, as the controller's next admission does
      const e = await explain({ from: mobile, via: p.number, to: '030555200127' });
      expect(e.callThrough).toMatchObject({
        result: 'external',
        guard: { usage: { workplace: { active: 0 } } },
      });
      world.driver.setEndpointBehaviour(world.externalEndpoint('+4930555200127'), {
        kind: 'answer',
        afterMs: 20,
      });
      const second = await menu(p, mobile);
      const start = mark();
      await second.pressDigits('030555200127#');
      await until(() => second.bridgedWith().length > 0, 'second call-through connected');
      expect(dialledSince(start)).toEqual([world.externalEndpoint('+4930555200127')]);
      await second.hangup();
    });

    it('refused by the fraud guard: explain names the prompt the caller hears, not "number blocked"', async () => {
      const mobile = mobileNumber();
      await workplace({ parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false } });
      const p = await portal({ pinRequired: false });
      const e = await explain({ from: mobile, via: p.number, to: '09001234568' });
      expect(e.callThrough).toMatchObject({ result: 'refused-by-guard', prompt: 'call-through-refused' });
      const step = e.steps.find((s) => s.step === 'fraud-guard')!;
      expect(step.outcome).not.toContain('cannot be dialled');
      const ch = await menu(p, mobile);
      await ch.pressDigits('09001234568#');
      await ch.waitForPlayback(sound(e.callThrough!.prompt!));
      await ch.hangup();
    });

    it('to an internal extension: the colleague’s ring plan, showing the office number', async () => {
      const mobile = mobileNumber();
      const wp = await workplace({
        parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      });
      const colleague = await workplace();
      const p = await portal({ pinRequired: false });
      const e = await explain({ from: mobile, via: p.number, to: colleague.extension });
      expect(e.callThrough).toMatchObject({ result: 'internal', e164: colleague.number });
      expect(e.plan!.callerNumber).toBe(wp.number);
      const predicted = predictPlan(e.plan!, (ep) => (ep === device(colleague) ? 'answer' : 'noanswer'));
      world.driver.setEndpointBehaviour(device(colleague), { kind: 'answer', afterMs: 30 });
      const ch = await menu(p, mobile);
      const start = mark();
      await ch.pressDigits(`${colleague.extension}#`);
      await until(() => ch.bridgedWith().length > 0, 'bridged');
      expect({
        dialled: dialledSince(start),
        end: { bridgedTo: world.driver.channel(ch.bridgedWith()[0]!)!.endpoint },
      }).toEqual(predicted);
      await ch.hangup();
    });
  });
});

describe('explain API rules', () => {
  it('an employee may explain calls to the own workplace only', async () => {
    const own = await workplace();
    const other = await workplace();
    const token = await world.employeeToken(company.id, admin, own.id);
    const url = `/v1/companies/${company.id}/routing/explain`;
    expect((await world.api('POST', url, { from: CALLER, to: own.number }, token)).status).toBe(200);
    expect((await world.api('POST', url, { from: CALLER, to: other.number }, token)).status).toBe(403);
    expect((await world.api('POST', url, { from: CALLER, to: '+4930123488' }, token)).status).toBe(403);
  });

  it("another company's number answers as a free number does; bad input names every field", async () => {
    const other = await world.createCompany('Other GmbH');
    const otherGroup = await world.createGroup(other.company.id, other.admin, {
      numberRanges: [{ first: '+4940888000', last: '+4940888099' }],
    });
    const foreign = await world.createWorkplace(other.company.id, other.admin, {
      groupId: otherGroup.id,
      number: '+4940888001',
    });
    const url = `/v1/companies/${company.id}/routing/explain`;
    // issue 25 item 14: no oracle for which numbers other companies hold
    const res = await world.api<Explanation>('POST', url, { from: CALLER, to: foreign.number }, admin);
    expect(res.status).toBe(200);
    const free = await world.api<Explanation>('POST', url, { from: CALLER, to: '+4940888002' }, admin);
    expect(free.status).toBe(200);
    const alike = (e: Explanation, n: string) =>
      JSON.stringify({ ...e, call: { ...e.call, at: '' } })
        .split(n)
        .join('N');
    expect(alike(res.body, foreign.number)).toBe(alike(free.body, '+4940888002'));
    expect(res.body.route).toBe('unallocated');
    const bad = await world.api<{ issues: Array<{ path: string }> }>(
      'POST',
      url,
      { from: 'abc', to: '', at: 'yesterday', extra: 1 },
      admin,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i) => i.path).sort()).toEqual(['at', 'extra', 'from', 'to']);
    const notPortal = await world.api<{ issues: Array<{ path: string }> }>(
      'POST',
      url,
      { from: CALLER, to: '030555', via: '+4930123488' },
      admin,
    );
    expect(notPortal.status).toBe(400);
    expect(notPortal.body.issues.map((i) => i.path)).toEqual(['via']);
  });
});

describe('another company (issue 25 items 1 and 14)', () => {
  /** Company A: a workplace with a desk device, a private mobile, a forward target and a named profile. */
  let nextRange = 1;
  async function companyA() {
    const k = nextRange++;
    const a = await world.createCompany('A GmbH');
    const profile = await world.api<BlockingProfile>(
      'POST',
      `/v1/companies/${a.company.id}/blocking-profiles`,
      { name: 'A secret profile', incoming: [], outgoing: [], forwarded: [] },
      a.admin,
    );
    const group = await world.createGroup(a.company.id, a.admin, {
      numberRanges: [{ first: `+4940777${k}00`, last: `+4940777${k}99` }],
    });
    const wp = await world.createWorkplace(a.company.id, a.admin, {
      groupId: group.id,
      number: `+4940777${k}01`,
      blockingProfileId: profile.body.id,
      parallelRinging: { enabled: true, numbers: ['+4917077700001'], answerConfirmation: false },
      forwarding: { busy: { enabled: true, target: { number: '+4917077700002' } } },
    });
    const secrets = [
      wp.id,
      device(wp),
      wp.devices[0]!.id,
      '+4917077700001',
      '+4917077700002',
      'A secret profile',
      profile.body.id,
      a.company.id,
    ];
    return { wp, secrets };
  }
  const leaks = (e: Explanation, secrets: string[]) => secrets.filter((x) => JSON.stringify(e).includes(x));

  it("a call-through to another company's number is an ordinary external call, explained and placed", async () => {
    const { wp: theirs, secrets } = await companyA();
    const mobile = mobileNumber();
    const ours = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const p = await portal({ pinRequired: false });
    const e = await explain({ from: mobile, via: p.number, to: theirs.number });
    expect(e.callThrough).toMatchObject({ result: 'external', e164: theirs.number, callerId: ours.number });
    expect(e.plan).toBeUndefined();
    expect(leaks(e, secrets)).toEqual([]);
    // the real call path: out through the trunk, A's devices and numbers never rung
    const target = world.externalEndpoint(theirs.number);
    world.driver.setEndpointBehaviour(target, { kind: 'answer', afterMs: 30 });
    const ch = await world.driver.placeCall({ from: mobile, to: p.number });
    await ch.waitForPlayback(sound('portal-welcome'));
    const start = mark();
    await ch.pressDigits(`${theirs.number.replace('+49', '0')}#`);
    const out = await world.driver.waitForChannel(target);
    expect(out.callerNumber()).toBe(ours.number);
    await until(() => ch.bridgedWith().includes(out.id), 'bridged');
    expect(dialledSince(start)).toEqual([target]);
    await ch.hangup();
  });

  it("a desk device calling another company's number calls out as to any number; explained alike a free one", async () => {
    const { wp: theirs, secrets } = await companyA();
    const ours = await workplace();
    const { explanation } = await bothWays(
      { from: ours.extension, to: theirs.number },
      { [world.externalEndpoint(theirs.number)]: 'answer' },
      () => world.callFromDevice(ours, theirs.number),
    );
    expect(explanation.route).toBe('outbound');
    expect(explanation.outbound).toMatchObject({ e164: theirs.number, blocked: false });
    expect(leaks(explanation, secrets)).toEqual([]);
    const free = await explain({ from: ours.extension, to: theirs.number.replace(/01$/, '99') });
    expect(free.route).toBe(explanation.route);
    expect(free.steps.map((s) => s.step)).toEqual(explanation.steps.map((s) => s.step));
  });

  it("explaining a call from another company's number or to its portal shows nothing of it", async () => {
    const { wp: theirs, secrets } = await companyA();
    const ours = await workplace();
    const fromTheirs = await explain({ from: '+4917077700001', to: ours.number });
    expect(fromTheirs.route).toBe('workplace');
    // (the caller number asked about is echoed back; nothing else of A is shown)
    expect(leaks(fromTheirs, secrets.slice(0, 3).concat(secrets.slice(4)))).toEqual([]);
    const url = `/v1/companies/${company.id}/routing/explain`;
    // a via that is another company's number is refused as a free number is: not a portal of ours
    const via = await world.api<{ issues: Array<{ path: string }> }>(
      'POST',
      url,
      { from: CALLER, to: '030555', via: theirs.number },
      admin,
    );
    const viaFree = await world.api(
      'POST',
      url,
      { from: CALLER, to: '030555', via: theirs.number.replace(/01$/, '98') },
      admin,
    );
    expect([via.status, viaFree.status]).toEqual([400, 400]);
    expect(JSON.stringify(via.body)).toBe(JSON.stringify(viaFree.body));
  });
});
