/**
 * Issue 15: live events over a real WebSocket client, call lists after call scenarios, and
 * /metrics parsed strictly — all on the simulator world (real Redis, real HTTP API).
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portalFlow } from '../../../src/calls/flows/portal/portal.js';
import type { AnywherePortal, Company } from '../../../src/domain/model.js';
import {
  callRecordSchema,
  pbxEventSchema,
  type CallRecord,
  type PbxEvent,
} from '../../../src/events/model.js';
import { parsePrometheusText, sampleValue } from '../../support/prom-text.js';
import { startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

let world: World;
let company: Company;
let admin: string;
let groupId: string;
let nextNumber = 10;
let nextMobile = 100;
const METRICS_TOKEN = 'metrics-token-for-the-tests-0123';

const CALLER = '+4989111222';
const sound = (id: string) => `sound:pbx/${id}`;

async function workplace(body: Record<string, unknown> = {}): Promise<WorkplaceView> {
  const number = `+49301234${String(nextNumber++).padStart(2, '0')}`;
  return world.createWorkplace(company.id, admin, { groupId, number, ...body });
}
const device = (wp: WorkplaceView, i = 0) => world.deviceEndpoint(wp.devices[i]!.sipUsername);
const mobileNumber = () => `+4917020${String(nextMobile++).padStart(5, '0')}`;

interface Socket {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  events(): PbxEvent[];
  closed: Promise<{ code: number; reason: string }>;
}

/** A WebSocket to the event stream, offering our protocol plus the credential. */
async function openStream(opts: {
  protocols?: string[];
  headers?: Record<string, string>;
  query?: string;
  cid?: string;
}): Promise<Socket> {
  const url = `${world.apiUrl.replace(/^http/, 'ws')}/v1/companies/${opts.cid ?? company.id}/events${opts.query ?? ''}`;
  const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  await until(() => messages.some((m) => m.type === 'hello'), 'hello');
  return {
    ws,
    messages,
    closed,
    events: () => messages.filter((m) => typeof m.id === 'string') as unknown as PbxEvent[],
  };
}

async function ticket(token: string, path = `/v1/companies/${company.id}/event-tickets`) {
  const res = await world.api<{ ticket: string; protocols: string[] }>('POST', path, undefined, token);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function callList(path: string, token = admin): Promise<CallRecord[]> {
  const res = await world.api<{ items: CallRecord[] }>('GET', path, undefined, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items;
}

/** The workplace's record of the call `callId`, once written. */
async function recordOf(wp: WorkplaceView, callId: string): Promise<CallRecord> {
  let found: CallRecord | undefined;
  await until(async () => {
    const items = await callList(`/v1/companies/${company.id}/workplaces/${wp.id}/calls`);
    found = items.find((r) => r.id === callId);
    return found !== undefined;
  }, `call record ${callId}`);
  return callRecordSchema.parse(found);
}

async function metrics() {
  const res = await fetch(`${world.apiUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheusText(await res.text());
}

beforeAll(async () => {
  world = await startWorld({
    timing: { confirmationMs: 400, menuTimeoutMs: 400, firstDigitTimeoutMs: 1000, interDigitTimeoutMs: 400 },
    env: { METRICS_TOKEN },
    flows: { portal: portalFlow },
    logLevel: process.env.CALLS_LOG ?? 'silent',
  });
  ({ company, admin } = await world.createCompany());
  groupId = (await world.createGroup(company.id, admin)).id;
});

afterAll(async () => {
  await world?.close();
});

describe('event stream', () => {
  it('an admin watches a call live (ticket); an employee of another workplace sees none of it', async () => {
    const wp = await workplace();
    const other = await workplace();
    const t = await ticket(admin);
    const adminStream = await openStream({ protocols: t.protocols });
    expect(adminStream.ws.protocol).toBe('pbx.events.v1');
    expect(adminStream.messages[0]).toEqual({ type: 'hello', v: 1, scope: 'company' });
    const otherEmployee = await world.employeeToken(company.id, admin, other.id);
    const employeeStream = await openStream({ protocols: ['pbx.events.v1', `bearer.${otherEmployee}`] });
    expect(employeeStream.messages[0]).toMatchObject({ scope: 'workplace', workplaceId: other.id });

    world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 50 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    await until(() => caller.bridgedWith().length > 0, 'bridged');
    await desk.hangup();
    await caller.waitForHangup();
    await until(
      () => adminStream.events().some((e) => e.type === 'call.ended' && e.callId === caller.id),
      'call.ended',
    );
    const ofCall = adminStream.events().filter((e) => 'callId' in e && e.callId === caller.id);
    for (const e of ofCall) pbxEventSchema.parse(e);
    expect(ofCall.map((e) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(ofCall[0]).toMatchObject({
      companyId: company.id,
      workplaceId: wp.id,
      direction: 'inbound',
      from: CALLER,
      to: wp.number,
      ringing: [{ kind: 'device', id: wp.devices[0]!.id }],
    });
    expect(ofCall[1]).toMatchObject({ answeredBy: { kind: 'device', id: wp.devices[0]!.id } });
    expect(ofCall[2]).toMatchObject({ outcome: 'answered', direction: 'inbound', cause: 16 });
    // ids increase; timestamps are ISO
    const ids = ofCall.map((e) => e.id);
    expect([...ids].sort((a, b) => (BigInt(a.split('-')[0]!) < BigInt(b.split('-')[0]!) ? -1 : 1))).toEqual(
      ids,
    );
    expect(Number.isNaN(Date.parse(ofCall[0]!.at))).toBe(false);
    // the other workplace's employee saw nothing of it
    expect(employeeStream.events().filter((e) => e.workplaceId !== other.id)).toEqual([]);
    expect(employeeStream.events().some((e) => 'callId' in e && e.callId === caller.id)).toBe(false);
    adminStream.ws.close();
    employeeStream.ws.close();
  });

  it('a ticket is good once, only for its company; no credential, a bad token or a plain GET are refused', async () => {
    const t = await ticket(admin);
    const first = await openStream({ protocols: t.protocols });
    first.ws.close();
    await expect(openStream({ protocols: t.protocols })).rejects.toThrow('HTTP 401');
    const other = await world.createCompany('Other GmbH');
    const foreign = await ticket(other.admin, `/v1/companies/${other.company.id}/event-tickets`);
    await expect(openStream({ protocols: foreign.protocols })).rejects.toThrow('HTTP 404');
    await expect(openStream({ protocols: ['pbx.events.v1'] })).rejects.toThrow('HTTP 401');
    await expect(openStream({ protocols: ['pbx.events.v1', 'bearer.pbx_nope'] })).rejects.toThrow('HTTP 401');
    await expect(openStream({ protocols: ['pbx.events.v1', `bearer.${other.admin}`] })).rejects.toThrow(
      'HTTP 404',
    );
    // non-browser clients may use the Authorization header
    const viaHeader = await openStream({
      protocols: ['pbx.events.v1'],
      headers: { authorization: `Bearer ${admin}` },
    });
    viaHeader.ws.close();
    const plain = await world.api('GET', `/v1/companies/${company.id}/events`, undefined, admin);
    expect(plain.status).toBe(426);
    // an employee's ticket from its own route is bound to its workplace
    const wp = await workplace();
    const employee = await world.employeeToken(company.id, admin, wp.id);
    const own = await ticket(employee, `/v1/companies/${company.id}/workplaces/${wp.id}/event-tickets`);
    const s = await openStream({ protocols: own.protocols });
    expect(s.messages[0]).toMatchObject({ scope: 'workplace', workplaceId: wp.id });
    s.ws.close();
    const denied = await world.api('POST', `/v1/companies/${company.id}/event-tickets`, undefined, employee);
    expect(denied.status).toBe(403);
  });

  it('a reconnecting client resumes after its last event id; a too old id gets resume.gap', async () => {
    const wp = await workplace();
    const t1 = await ticket(admin);
    const s1 = await openStream({ protocols: t1.protocols });
    await world.api(
      'PUT',
      `/v1/companies/${company.id}/workplaces/${wp.id}/caller-id`,
      { presentation: 'anonymous' },
      admin,
    );
    await until(() => s1.events().some((e) => e.type === 'config.changed'), 'first change');
    const last = s1.events().at(-1)!.id;
    s1.ws.close();
    await s1.closed;
    // while nobody listens
    await world.api(
      'PUT',
      `/v1/companies/${company.id}/workplaces/${wp.id}/caller-id`,
      { presentation: 'number' },
      admin,
    );
    await world.telemetry.backend.flush();
    const t2 = await ticket(admin);
    const s2 = await openStream({ protocols: t2.protocols, query: `?lastEventId=${last}` });
    await until(() => s2.events().some((e) => e.type === 'config.changed'), 'replayed change');
    const replayed = s2.events().filter((e) => e.type === 'config.changed');
    expect(replayed[0]).toMatchObject({
      workplaceId: wp.id,
      route: 'PUT /v1/companies/:cid/workplaces/:wid/caller-id',
    });
    expect(replayed.every((e) => e.id > last || e.id.length > last.length)).toBe(true);
    s2.ws.close();
    const t3 = await ticket(admin);
    const s3 = await openStream({ protocols: t3.protocols, query: '?lastEventId=1000-0' });
    await until(() => s3.messages.some((m) => m.type === 'resume.gap'), 'gap');
    s3.ws.close();
    const bad = await world.api('GET', `/v1/companies/${company.id}/events?lastEventId=x`, undefined, admin);
    expect(bad.status).toBe(400);
  });
});

describe('call lists', () => {
  it('answered: who answered, times and duration; the employee reads its own list only', async () => {
    const wp = await workplace();
    world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 50 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    const desk = await world.driver.waitForChannel(device(wp));
    await until(() => caller.bridgedWith().length > 0, 'bridged');
    await caller.hangup();
    await desk.waitForHangup();
    const r = await recordOf(wp, caller.id);
    expect(r).toMatchObject({
      companyId: company.id,
      workplaceId: wp.id,
      direction: 'inbound',
      from: CALLER,
      fromDialled: CALLER,
      to: wp.number,
      outcome: 'answered',
      answeredBy: { kind: 'device', id: wp.devices[0]!.id },
    });
    expect(r.answeredAt! >= r.startedAt && r.endedAt >= r.answeredAt!).toBe(true);
    const employee = await world.employeeToken(company.id, admin, wp.id);
    expect(
      (await callList(`/v1/companies/${company.id}/workplaces/${wp.id}/calls`, employee)).map((x) => x.id),
    ).toContain(caller.id);
    const other = await workplace();
    const denied = await world.api(
      'GET',
      `/v1/companies/${company.id}/workplaces/${other.id}/calls`,
      undefined,
      employee,
    );
    expect(denied.status).toBe(403);
    const companyWide = await world.api('GET', `/v1/companies/${company.id}/calls`, undefined, employee);
    expect(companyWide.status).toBe(403);
  });

  it('missed → voicebox: outcome voicebox, and the stream tells of the stored message', async () => {
    const wp = await workplace({ forwarding: { noAnswer: { enabled: false, ringSeconds: 5 } } });
    const t = await ticket(admin);
    const s = await openStream({ protocols: t.protocols });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'noanswer' });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await caller.waitForPlayback(sound('beep'));
    await caller.speak(500);
    await caller.pressDigits('#');
    await caller.waitForHangup();
    const r = await recordOf(wp, caller.id);
    expect(r).toMatchObject({ outcome: 'voicebox', durationSeconds: 0 });
    expect(r.answeredBy).toBeUndefined();
    await until(
      () => s.events().some((e) => e.type === 'voicebox.message' && e.callId === caller.id),
      'message event',
    );
    const types = s
      .events()
      .filter((e) => 'callId' in e && e.callId === caller.id)
      .map((e) => e.type);
    expect(types).toEqual(['call.ringing', 'call.voicebox', 'voicebox.message', 'call.ended']);
    s.ws.close();
  });

  it('busy → forwarded: outcome forwarded with the target; busy without forwarding: busy', async () => {
    const target = '+4940777000111';
    const wp = await workplace({ forwarding: { busy: { enabled: true, target: { number: target } } } });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'busy', afterMs: 30 });
    world.driver.setEndpointBehaviour(world.externalEndpoint(target), { kind: 'answer', afterMs: 30 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await until(() => caller.bridgedWith().length > 0, 'bridged with the target');
    await caller.hangup();
    expect(await recordOf(wp, caller.id)).toMatchObject({
      outcome: 'forwarded',
      forwardedTo: target,
      answeredBy: { kind: 'number', id: target },
    });

    const plain = await workplace({ voicebox: { enabled: false } });
    world.driver.setEndpointBehaviour(device(plain), { kind: 'busy', afterMs: 30 });
    const second = await world.driver.placeCall({ from: CALLER, to: plain.number });
    expect(await second.waitForHangup()).toBe(17);
    expect(await recordOf(plain, second.id)).toMatchObject({ outcome: 'busy' });
  });

  it('blocked incoming, and an outgoing call from a device (both sides of an internal call)', async () => {
    const profile = await world.api<{ id: string }>(
      'POST',
      `/v1/companies/${company.id}/blocking-profiles`,
      { name: 'no munich', incoming: ['+4989'], outgoing: [], forwarded: [] },
      admin,
    );
    const wp = await workplace({ blockingProfileId: profile.body.id });
    const blocked = await world.driver.placeCall({ from: CALLER, to: wp.number });
    expect(await blocked.waitForHangup()).toBe(21);
    expect(await recordOf(wp, blocked.id)).toMatchObject({ outcome: 'blocked', direction: 'inbound' });

    const from = await workplace();
    const to = await workplace();
    world.driver.setEndpointBehaviour(device(to), { kind: 'answer', afterMs: 20 });
    const internal = await world.callFromDevice(from, to.extension);
    await until(() => internal.bridgedWith().length > 0, 'internal call bridged');
    await internal.hangup();
    expect(await recordOf(to, internal.id)).toMatchObject({
      direction: 'internal',
      outcome: 'answered',
      from: from.number,
      to: to.number,
    });
    expect(await recordOf(from, internal.id)).toMatchObject({
      direction: 'internal',
      outcome: 'answered',
      toDialled: to.extension,
    });

    const external = '+4940555000777';
    world.driver.setEndpointBehaviour(world.externalEndpoint(external), { kind: 'answer', afterMs: 20 });
    const out = await world.callFromDevice(from, external);
    await until(() => out.bridgedWith().length > 0, 'outgoing bridged');
    await out.hangup();
    expect(await recordOf(from, out.id)).toMatchObject({
      direction: 'outbound',
      outcome: 'answered',
      from: from.number,
      to: external,
    });
  });

  it('pulled to the mobile through the portal (*11); a refused portal caller lands in the company list', async () => {
    const mobile = mobileNumber();
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const portal: AnywherePortal = await world.createPortal(company.id, admin, {
      groupId,
      number: '+4930123480',
      silentMode: true,
      pinRequired: false,
    });
    const t = await ticket(admin);
    const s = await openStream({ protocols: t.protocols });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 50 });
    const remote = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'live call');
    const onMobile = await world.driver.placeCall({ from: mobile, to: portal.number });
    await onMobile.waitForState('Up');
    await onMobile.pressDigits('*11');
    await until(() => remote.bridgedWith().includes(onMobile.id), 'pulled');
    await remote.hangup();
    await onMobile.waitForHangup();
    expect(await recordOf(wp, remote.id)).toMatchObject({ outcome: 'pulled', pulledTo: mobile });
    await until(
      () => s.events().some((e) => e.type === 'call.pulled' && e.callId === remote.id),
      'pulled event',
    );
    // the portal call that pulled it is a line of the employee's list too
    expect(await recordOf(wp, onMobile.id)).toMatchObject({
      workplaceId: wp.id,
      portalId: portal.id,
      direction: 'inbound',
      outcome: 'pulled',
      from: mobile,
      to: CALLER,
      toDialled: portal.number,
    });

    const stranger = await world.driver.placeCall({ from: '+4971100000001', to: portal.number });
    await stranger.waitForHangup();
    let refused: CallRecord | undefined;
    await until(async () => {
      refused = (await callList(`/v1/companies/${company.id}/calls?outcome=refused`)).find(
        (r) => r.id === stranger.id,
      );
      return refused !== undefined;
    }, 'refused record');
    expect(refused).toMatchObject({ portalId: portal.id, outcome: 'refused', fromDialled: '+4971100000001' });
    expect(refused!.workplaceId).toBeUndefined();
    await until(
      () => s.events().some((e) => e.type === 'portal.refused' && e.callId === stranger.id),
      'refused event',
    );
    s.ws.close();
  });

  it("a call-through through the portal is a line of the employee's list, with the destination", async () => {
    const mobile = mobileNumber();
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const portal = await world.createPortal(company.id, admin, {
      groupId,
      number: '+4930123482',
      pinRequired: false,
    });
    const s = await openStream({ protocols: (await ticket(admin)).protocols });
    const destination = '+4940555000888';
    world.driver.setEndpointBehaviour(world.externalEndpoint(destination), { kind: 'answer', afterMs: 20 });
    const ch = await world.driver.placeCall({ from: mobile, to: portal.number });
    await ch.waitForPlayback(sound('portal-welcome'));
    await ch.pressDigits('040555000888#');
    await until(() => ch.bridgedWith().length > 0, 'connected');
    await ch.hangup();
    const r = await recordOf(wp, ch.id);
    expect(r).toMatchObject({
      companyId: company.id,
      workplaceId: wp.id,
      portalId: portal.id,
      direction: 'outbound',
      outcome: 'call-through',
      from: wp.number,
      fromDialled: mobile,
      to: destination,
      toDialled: portal.number,
      answeredBy: { kind: 'number', id: destination },
    });
    expect(r.answeredAt! >= r.startedAt && r.endedAt >= r.answeredAt!).toBe(true);
    await until(
      () => s.events().some((e) => e.type === 'call.ended' && e.callId === ch.id),
      'call.ended of the call-through',
    );
    const ofCall = s.events().filter((e) => 'callId' in e && e.callId === ch.id);
    for (const e of ofCall) pbxEventSchema.parse(e);
    expect(ofCall).toMatchObject([
      { type: 'call.answered', workplaceId: wp.id, answeredBy: { kind: 'number', id: destination } },
      { type: 'call.ended', workplaceId: wp.id, direction: 'outbound', outcome: 'call-through' },
    ]);
    s.ws.close();

    // to a colleague's extension: an internal call-through, in both lists
    const colleague = await workplace();
    world.driver.setEndpointBehaviour(device(colleague), { kind: 'answer', afterMs: 20 });
    const internal = await world.driver.placeCall({ from: mobile, to: portal.number });
    await internal.waitForPlayback(sound('portal-welcome'));
    await internal.pressDigits(`${colleague.extension}#`);
    await until(() => internal.bridgedWith().length > 0, 'colleague answered');
    await internal.hangup();
    // the caller's line names whom they called, not where the colleague answered (that used to
    // be asserted here: answeredBy the colleague's device); the colleague's own line keeps it
    const callersLine = await recordOf(wp, internal.id);
    expect(callersLine).toMatchObject({
      direction: 'internal',
      outcome: 'call-through',
      to: colleague.number,
    });
    expect(callersLine).not.toHaveProperty('answeredBy');
    expect(await recordOf(colleague, internal.id)).toMatchObject({
      outcome: 'answered',
      from: wp.number,
      answeredBy: { kind: 'device', id: colleague.devices[0]!.id },
    });
  });

  describe('*11 is recorded as pulled only once the call was moved', () => {
    /** a desk call of a fresh workplace, answered, and its employee on a silent portal */
    async function deskCallAndPortal(portalNumber: string) {
      const mobile = mobileNumber();
      const wp = await workplace({
        parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      });
      const portal = await world.createPortal(company.id, admin, {
        groupId,
        number: portalNumber,
        silentMode: true,
        pinRequired: false,
      });
      world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 20 });
      const remote = await world.driver.placeCall({ from: CALLER, to: wp.number });
      await until(async () => (await world.store.liveCalls.get(wp.id)) !== undefined, 'live call');
      const onMobile = await world.driver.placeCall({ from: mobile, to: portal.number });
      await onMobile.waitForState('Up');
      return { wp, remote, onMobile };
    }

    it('a move that fails: the call is not pulled, the portal call leaves no line', async () => {
      const { wp, remote, onMobile } = await deskCallAndPortal('+4930123483');
      const s = await openStream({ protocols: (await ticket(admin)).protocols });
      const bridges = world.ari.bridges;
      const addChannel = bridges.addChannel;
      bridges.addChannel = async (...args: Parameters<typeof addChannel>) => {
        const channels = [args[0].channel].flat();
        if (channels.includes(onMobile.id)) throw new Error('injected: the move fails');
        return addChannel.apply(bridges, args);
      };
      try {
        await onMobile.pressDigits('*11');
        await onMobile.waitForHangup();
      } finally {
        bridges.addChannel = addChannel;
      }
      expect(remote.bridgedWith()).not.toContain(onMobile.id);
      await remote.hangup();
      const r = await recordOf(wp, remote.id);
      expect(r).toMatchObject({ outcome: 'answered', answeredBy: { kind: 'device', id: wp.devices[0]!.id } });
      expect(r.pulledTo).toBeUndefined();
      await until(() => s.events().some((e) => e.type === 'call.ended' && e.callId === remote.id), 'ended');
      expect(s.events().some((e) => e.type === 'call.pulled')).toBe(false);
      await world.telemetry.backend.flush();
      expect(
        (await callList(`/v1/companies/${company.id}/workplaces/${wp.id}/calls`)).map((x) => x.id),
      ).toEqual([remote.id]);
      s.ws.close();
    });

    it('the caller hanging up before the move is finished: recorded as pulled once it is', async () => {
      const { wp, remote, onMobile } = await deskCallAndPortal('+4930123484');
      const oldBridge = world.driver.bridges().find((b) => b.channelIds.includes(remote.id))!.id;
      const bridges = world.ari.bridges;
      const destroy = bridges.destroy;
      let held = false;
      // the last step of the move (the old bridge goes) waits until the caller's call is over
      bridges.destroy = async (...args: Parameters<typeof destroy>) => {
        if (!held && args[0].bridgeId === oldBridge) {
          held = true;
          await remote.hangup();
          await until(() => !world.controller.router.sessions.has(remote.id), 'caller call over');
        }
        return destroy.apply(bridges, args);
      };
      try {
        await onMobile.pressDigits('*11');
        await onMobile.waitForHangup();
      } finally {
        bridges.destroy = destroy;
      }
      expect(held).toBe(true);
      expect(await recordOf(wp, remote.id)).toMatchObject({
        outcome: 'pulled',
        pulledTo: onMobile.callerNumber(),
      });
      expect(await recordOf(wp, onMobile.id)).toMatchObject({ outcome: 'pulled', to: CALLER });
    });
  });

  it('paging, filters, CSV, bad input named, and the list goes with its workplace', async () => {
    const wp = await workplace({ voicebox: { enabled: false } });
    world.driver.setEndpointBehaviour(device(wp), { kind: 'busy', afterMs: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await world.driver.placeCall({ from: `+498911122${i}`, to: wp.number });
      await c.waitForHangup();
      ids.push(c.id);
      await recordOf(wp, c.id);
    }
    const base = `/v1/companies/${company.id}/workplaces/${wp.id}/calls`;
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await world.api<{ items: CallRecord[]; nextCursor?: string }>(
        'GET',
        `${base}?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        admin,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((r) => r.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect(await callList(`${base}?outcome=answered`)).toEqual([]);
    expect((await callList(`${base}?outcome=busy&direction=inbound`)).length).toBe(3);
    expect(await callList(`${base}?from=2999-01-01T00:00:00Z`)).toEqual([]);

    const csv = await fetch(`${world.apiUrl}${base}`, {
      headers: { authorization: `Bearer ${admin}`, accept: 'text/csv' },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'id,workplaceId,direction,from,fromDialled,to,toDialled,startedAt,answeredAt,endedAt,durationSeconds,outcome,forwardedTo,pulledTo,answeredByKind,answeredBy,cause,adopted',
    );
    expect(lines.length).toBe(4);
    expect(lines[1]).toContain(`${ids[2]},${wp.id},inbound,+4989111222`);
    const viaQuery = await fetch(`${world.apiUrl}${base}?format=csv`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(viaQuery.headers.get('content-type')).toMatch(/^text\/csv/);

    const bad = await world.api<{ issues: Array<{ path: string }> }>(
      'GET',
      `${base}?limit=0&outcome=nope&from=yesterday&direction=up`,
      undefined,
      admin,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i) => i.path).sort()).toEqual([
      'querystring.direction',
      'querystring.from',
      'querystring.limit',
      'querystring.outcome',
    ]);

    expect((await callList(`/v1/companies/${company.id}/calls`)).some((r) => r.workplaceId === wp.id)).toBe(
      true,
    );
    expect(
      (await world.api('DELETE', `/v1/companies/${company.id}/workplaces/${wp.id}`, undefined, admin)).status,
    ).toBe(204);
    expect((await callList(`/v1/companies/${company.id}/calls`)).some((r) => r.workplaceId === wp.id)).toBe(
      false,
    );
    expect(
      await world.telemetry.backend.records.list({ companyId: company.id, workplaceId: wp.id, limit: 10 }),
    ).toEqual({ items: [] });
  });
});

describe('metrics', () => {
  it('needs the metrics token; counts calls, set-up, ARI, store and API latency', async () => {
    expect((await fetch(`${world.apiUrl}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${world.apiUrl}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).status,
    ).toBe(401);
    const before = await metrics();
    const wp = await workplace();
    world.driver.setEndpointBehaviour(device(wp), { kind: 'answer', afterMs: 20 });
    const caller = await world.driver.placeCall({ from: CALLER, to: wp.number });
    await until(() => caller.bridgedWith().length > 0, 'bridged');
    const during = await metrics();
    expect(sampleValue(during, 'pbx_active_calls')).toBeGreaterThanOrEqual(1);
    await caller.hangup();
    await recordOf(wp, caller.id);
    const after = await metrics();
    const answered = { kind: 'inbound', outcome: 'answered' };
    expect(
      sampleValue(after, 'pbx_calls_total', answered) - sampleValue(before, 'pbx_calls_total', answered),
    ).toBe(1);
    expect(
      sampleValue(after, 'pbx_call_setup_seconds_count') -
        sampleValue(before, 'pbx_call_setup_seconds_count'),
    ).toBe(1);
    // a leg showing the caller's identity is one originate (src/calls/engine/session.ts)
    expect(
      sampleValue(after, 'pbx_ari_rest_seconds_count', { operation: 'channels.originate' }),
    ).toBeGreaterThan(sampleValue(before, 'pbx_ari_rest_seconds_count', { operation: 'channels.originate' }));
    // the call was bridged in a bridge of the pool: a new one, or one kept from an earlier call
    const bridged = (m: typeof after) =>
      sampleValue(m, 'pbx_bridges_created_total') + sampleValue(m, 'pbx_bridges_reused_total');
    expect(bridged(after) - bridged(before)).toBe(1);
    expect(after.get('pbx_bridge_pool_idle')?.type).toBe('gauge');
    expect(sampleValue(after, 'pbx_ari_events_total')).toBeGreaterThan(
      sampleValue(before, 'pbx_ari_events_total'),
    );
    expect(sampleValue(after, 'pbx_store_round_trips_total')).toBeGreaterThan(0);
    // admission control let the call in; no overload, so the dialplan gate is open
    expect(
      sampleValue(after, 'pbx_calls_admitted_total') - sampleValue(before, 'pbx_calls_admitted_total'),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'pbx_calls_refused_overload_total')).toBe(0);
    expect(sampleValue(after, 'pbx_trunk_shed_percent')).toBe(0);
    expect(sampleValue(after, 'pbx_call_setups_in_flight')).toBe(0);
    expect(sampleValue(after, 'pbx_store_seconds_count', { operation: 'lookupNumber' })).toBeGreaterThan(0);
    expect(
      sampleValue(after, 'pbx_api_request_seconds_count', {
        method: 'POST',
        route: '/v1/companies/:cid/workplaces',
        status: '2xx',
      }),
    ).toBeGreaterThan(0);
    expect(after.get('pbx_calls_total')?.type).toBe('counter');
    expect(after.get('pbx_call_setup_seconds')?.type).toBe('histogram');
    expect(sampleValue(after, 'pbx_ari_reconnects_total')).toBe(0);
  });

  it('wrong PINs and a lockout are counted, and the lock and unlock are events', async () => {
    const wp = await workplace();
    const t = await ticket(admin);
    const s = await openStream({ protocols: t.protocols });
    const before = await metrics();
    const own = { to: wp.number, name: `PJSIP/${wp.devices[0]!.sipUsername}` };
    for (let call = 0; call < 2; call++) {
      const c = await world.driver.placeCall({ from: wp.extension, args: ['internal'], ...own });
      for (let i = 0; i < 3; i++) {
        await c.waitForPlayback(sound(i === 0 ? 'vb-enter-pin' : 'enter-pin'));
        await c.pressDigits('0000#');
        if (call === 1 && i === 1) break; // the 5th wrong entry locks
      }
      await c.waitForHangup();
    }
    await until(() => s.events().some((e) => e.type === 'pin.locked' && e.workplaceId === wp.id), 'locked');
    const after = await metrics();
    expect(
      sampleValue(after, 'pbx_pin_failures_total', { where: 'voicebox' }) -
        sampleValue(before, 'pbx_pin_failures_total', { where: 'voicebox' }),
    ).toBe(5);
    expect(
      sampleValue(after, 'pbx_pin_lockouts_total', { where: 'voicebox' }) -
        sampleValue(before, 'pbx_pin_lockouts_total', { where: 'voicebox' }),
    ).toBe(1);
    expect(
      (
        await world.api(
          'DELETE',
          `/v1/companies/${company.id}/workplaces/${wp.id}/voicebox/lock`,
          undefined,
          admin,
        )
      ).status,
    ).toBe(200);
    await until(
      () => s.events().some((e) => e.type === 'pin.unlocked' && e.workplaceId === wp.id),
      'unlocked',
    );
    s.ws.close();
  });
});

describe('call-through fraud guard', () => {
  it('a refused call-through is an alert event on the stream (admin and employee) and counted; lock and lift too', async () => {
    const mobile = mobileNumber();
    const wp = await workplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const portal = await world.createPortal(company.id, admin, {
      groupId,
      number: '+4930123481',
      pinRequired: false,
    });
    // the first refusal locks: one call shows alert, lock, and (below) the lift
    const policy = await world.api(
      'PUT',
      `/v1/companies/${company.id}/call-through-policy`,
      { lockAfterRefusals: 1 },
      admin,
    );
    expect(policy.status).toBe(200);
    await until(
      async () => (await world.controller.context.cache.company(company.id))?.callThroughPolicy !== undefined,
      'policy seen by the controller',
    );
    const adminStream = await openStream({ protocols: (await ticket(admin)).protocols });
    const employee = await world.employeeToken(company.id, admin, wp.id);
    const employeeStream = await openStream({ protocols: ['pbx.events.v1', `bearer.${employee}`] });
    const before = await metrics();

    const ch = await world.driver.placeCall({ from: mobile, to: portal.number });
    await ch.waitForPlayback(sound('portal-welcome'));
    await ch.pressDigits('09001234567#');
    await until(
      () => adminStream.events().some((e) => e.type === 'callthrough.locked' && e.workplaceId === wp.id),
      'locked event',
    );
    await ch.hangup();
    expect(
      world.driver
        .restLog()
        .some(
          (r) =>
            r.path === '/channels/create' && r.query?.endpoint === world.externalEndpoint('+499001234567'),
        ),
    ).toBe(false);
    const ofWp = (s: Socket) =>
      s.events().filter((e) => e.type.startsWith('callthrough.') && e.workplaceId === wp.id);
    for (const e of ofWp(adminStream)) pbxEventSchema.parse(e);
    expect(ofWp(adminStream)).toMatchObject([
      {
        type: 'callthrough.alert',
        companyId: company.id,
        workplaceId: wp.id,
        callId: ch.id,
        kind: 'destination-refused',
        reason: 'premium-rate',
        destinationClass: 'premium-rate',
        country: '49',
      },
      { type: 'callthrough.alert', kind: 'locked', reason: 'premium-rate', limit: 1, refusalsToday: 1 },
      { type: 'callthrough.locked', workplaceId: wp.id, reason: 'premium-rate' },
    ]);
    // the employee's own workplace: it sees the same (it is told why its call-through failed)
    await until(() => ofWp(employeeStream).length === 3, 'employee sees the alerts');

    const lift = await world.api(
      'DELETE',
      `/v1/companies/${company.id}/workplaces/${wp.id}/call-through-lock`,
      undefined,
      admin,
    );
    expect(lift.status).toBe(204);
    await until(
      () => adminStream.events().some((e) => e.type === 'callthrough.unlocked' && e.workplaceId === wp.id),
      'unlocked event',
    );
    // lifting an open workplace again is no lift
    await world.api(
      'DELETE',
      `/v1/companies/${company.id}/workplaces/${wp.id}/call-through-lock`,
      undefined,
      admin,
    );
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(after.get('pbx_callthrough_alerts_total')?.type).toBe('counter');
    expect(delta('pbx_callthrough_alerts_total', { kind: 'destination-refused' })).toBe(1);
    expect(delta('pbx_callthrough_alerts_total', { kind: 'locked' })).toBe(1);
    expect(delta('pbx_callthrough_alerts_total', { kind: 'limit' })).toBe(0);
    expect(delta('pbx_callthrough_lock_changes_total', { change: 'locked' })).toBe(1);
    expect(delta('pbx_callthrough_lock_changes_total', { change: 'lifted' })).toBe(1);
    // back to the defaults for the other tests of this company
    await world.api('PUT', `/v1/companies/${company.id}/call-through-policy`, {}, admin);
    adminStream.ws.close();
    employeeStream.ws.close();
  });
});

describe('device registration', () => {
  it('a device registering and unregistering in Asterisk is an event of its workplace', async () => {
    const wp = await workplace();
    const employee = await world.employeeToken(company.id, admin, wp.id);
    const s = await openStream({ protocols: ['pbx.events.v1', `bearer.${employee}`] });
    const resource = wp.devices[0]!.sipUsername;
    // the controller subscribed its application to the PJSIP endpoints
    expect(
      world.driver
        .restLog()
        .some(
          (r) =>
            r.method === 'POST' &&
            r.path.endsWith('/subscription') &&
            r.query?.eventSource === 'endpoint:PJSIP',
        ),
    ).toBe(true);
    world.driver.registerDevice(resource, 'sip:desk@192.0.2.44:5060');
    await until(() => s.events().some((e) => e.type === 'device.registered'), 'registered');
    world.driver.unregisterDevice(resource);
    await until(() => s.events().some((e) => e.type === 'device.unregistered'), 'unregistered');
    const devices = s.events().filter((e) => e.type.startsWith('device.'));
    for (const e of devices) pbxEventSchema.parse(e);
    expect(devices).toMatchObject([
      {
        type: 'device.registered',
        workplaceId: wp.id,
        endpoint: resource,
        contact: 'sip:desk@192.0.2.44:5060',
      },
      { type: 'device.unregistered', workplaceId: wp.id, endpoint: resource },
    ]);
    // the trunk or an endpoint of no workplace: nothing
    world.driver.registerDevice('trunk');
    s.ws.close();
  });
});
