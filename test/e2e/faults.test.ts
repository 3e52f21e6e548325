/**
 * The fault suite on a real Asterisk 22: the controller (src/app/main.ts as its own process) is
 * killed with calls in every state, Asterisk is killed and restarted, Redis goes away mid-call,
 * the event socket is cut. Every case asserts: no answered call lost, no channel left behind in
 * Asterisk, no voicebox message lost; a call that outlived its controller has its line in the
 * call list once, with its original start and answer.
 *
 * It needs an Asterisk this suite can kill and restart (the local build, test/e2e/target.ts);
 * against anything else it is skipped with the reason printed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import type { LiveCall } from '../../src/domain/model.js';
import type { CallRecord } from '../../src/events/model.js';
import { createRedisStore, type PbxStore } from '../../src/store/index.js';
import { startRedisServer, type OwnRedis } from '../../tools/redis-server.js';
import {
  startControllerProcess,
  startTcpProxy,
  type ControllerProcess,
  type TcpProxy,
} from './controller-proc.js';
import { resolveRequiredTarget, type AriTarget } from './target.js';
import { OutsideWorld, type Caller, type WorldLeg } from './world.js';

const resolved = await resolveRequiredTarget();
const skipReason =
  resolved.kind === 'skip'
    ? resolved.reason
    : !resolved.local
      ? `the target (${resolved.source}) is not a local Asterisk this suite can kill and restart`
      : undefined;
// a target this suite cannot use is released at once (e.g. the redis-server it started)
if (skipReason && resolved.kind === 'ari') await resolved.close();
if (skipReason) console.warn(`\n[e2e faults] SKIPPED — ${skipReason}\n`);
else if (resolved.kind !== 'skip') console.info(`[e2e faults] running against ${resolved.source}`);

const PBX_APP = 'e2epbx';
const WORLD_APP = 'e2eworld';
const PLATFORM_TOKEN = 'faults-platform-admin-token-0123456789';
const CONTROLLER_ID = 'faults-controller';
const METRICS_TOKEN = 'faults-metrics-token-0123456789';

interface ChannelJson {
  id: string;
  name: string;
  state: string;
}
interface WorkplaceView {
  id: string;
  number: string;
  status: string;
  devices: Array<{ sipUsername: string }>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    // a check that throws (the test's own Redis client reconnecting) is "not yet"
    const v = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(100);
  }
}

describe.skipIf(skipReason !== undefined)('faults on a real Asterisk', { timeout: 120_000 }, () => {
  const target = resolved as AriTarget;
  const asterisk = target.local!;
  const logger = pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' });
  let redis: OwnRedis;
  let proxy: TcpProxy;
  let worldAri: AriClient;
  let rest: AriClient;
  let world: OutsideWorld;
  let store: PbxStore;
  let ctl: ControllerProcess;
  const started: ControllerProcess[] = [];
  // the controllers' logs are kept on disk only when they have something to explain:
  // a failed set-up (stays true unless beforeAll completes) or a failed case
  let keepLogs = true;
  let base = '';
  let adminToken = '';
  let cid = '';
  let groupId = '';
  let seq = 0;
  const number = (n: number) => `+4930555${String(n).padStart(4, '0')}`;

  function startController(): ControllerProcess {
    return startControllerProcess({
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: PLATFORM_TOKEN,
      REDIS_URL: redis.url,
      ARI_URL: proxy.url,
      ARI_USERNAME: target.username,
      ARI_PASSWORD: target.password,
      ARI_APP: PBX_APP,
      COUNTRY_CODE: '49',
      DIAL_DEVICE: 'Local/{endpoint}@e2e-devices',
      DIAL_EXTERNAL: 'Local/{number}@e2e-pstn',
      CONTROLLER_ID,
      METRICS_TOKEN,
      LOG_LEVEL: 'info',
    });
  }

  /** a controller process up, its reconcile done */
  async function controllerUp(): Promise<void> {
    ctl = startController();
    started.push(ctl);
    base = await ctl.listening;
    await ctl.waitForLog('"msg":"reconcile');
  }

  async function api<T>(method: string, path: string, body?: unknown, token = adminToken): Promise<T> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async function createWorkplace(extra: Record<string, unknown> = {}): Promise<WorkplaceView> {
    seq++;
    const wp = await api<WorkplaceView>('POST', `/v1/companies/${cid}/workplaces`, {
      firstName: 'Fault',
      lastName: `Case${seq}`,
      email: `fault${seq}@example.com`,
      username: `fault${seq}`,
      groupId,
      number: number(2000 + seq),
      language: 'de',
      timezone: 'Europe/Berlin',
      devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
      ...extra,
    });
    await until(
      async () =>
        (await api<WorkplaceView>('GET', `/v1/companies/${cid}/workplaces/${wp.id}`)).status === 'active' ||
        undefined,
      `workplace ${wp.number} active`,
    );
    return wp;
  }

  async function channels(): Promise<ChannelJson[]> {
    return (await rest.channels.list()) as unknown as ChannelJson[];
  }

  async function idOf(name: string): Promise<string | undefined> {
    return (await channels()).find((c) => c.name === name)?.id;
  }

  /** the caller's half in the controller's app and the desk leg's half are in one bridge */
  function bridged(caller: Caller, leg: WorldLeg): Promise<boolean> {
    return inOneBridge(caller.pbxName, leg.name.replace(/;2$/, ';1'));
  }

  /** the channels named so are in one bridge */
  async function inOneBridge(nameA: string, nameB: string): Promise<boolean> {
    const [a, b] = await Promise.all([idOf(nameA), idOf(nameB)]);
    if (!a || !b) return false;
    const bridges = (await rest.bridges.list()) as unknown as Array<{ channels: string[] }>;
    return bridges.some((br) => br.channels.includes(a) && br.channels.includes(b));
  }

  /** an outside caller reaches the workplace, its desk phone answers, both bridged */
  async function deskCall(wp: WorkplaceView, from: string): Promise<{ caller: Caller; leg: WorldLeg }> {
    const sip = wp.devices[0]!.sipUsername;
    world.setBehaviour('device', sip, { kind: 'answer', afterMs: 100 });
    const before = new Set(world.allLegs());
    const caller = await world.call(from, wp.number);
    const leg = await newLeg(sip, before);
    await until(() => bridged(caller, leg), `caller ${from} bridged with the desk phone`);
    return { caller, leg };
  }

  /** the next leg rung at this device (earlier calls rang it too) */
  function newLeg(sip: string, before: Set<WorldLeg>): Promise<WorldLeg> {
    return until(
      () => world.allLegs().find((l) => l.target === sip && !before.has(l)),
      `a leg ringing ${sip}`,
    );
  }

  /** idle bridges the running controller's pool holds (its /metrics) */
  async function poolIdle(): Promise<number> {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const line = /^pbx_bridge_pool_idle (\d+)$/m.exec(await res.text());
    if (!line) throw new Error('no pbx_bridge_pool_idle in /metrics');
    return Number(line[1]);
  }

  /**
   * nothing of ours is left in Asterisk: no channel, no bridge — but the empty bridges the
   * running controller keeps for its next calls, exactly as many as it says it holds (an
   * earlier process's idle bridges must be gone)
   */
  async function nothingLeftBehind(): Promise<void> {
    const leftovers = async () => {
      const [chans, bridges, idle] = await Promise.all([channels(), rest.bridges.list(), poolIdle()]);
      const pooled = bridges.filter((b) => b.name === `pbx-pool:${PBX_APP}` && b.channels.length === 0);
      return [
        ...chans.map((c) => `channel ${c.name} ${c.state}`),
        ...bridges.filter((b) => !pooled.includes(b)).map((b) => `bridge ${b.name}`),
        ...(pooled.length === idle
          ? []
          : [`${pooled.length} empty pooled bridges, the controller holds ${idle}`]),
      ];
    };
    await until(
      async () => ((await leftovers()).length === 0 ? true : undefined),
      'nothing left in Asterisk',
      15_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await leftovers())}`);
    });
  }

  /** stored recordings of a workplace's messages (Asterisk lists a recording from its start) */
  async function recordingsOf(workplaceId: string): Promise<number> {
    const stored = (await rest.recordings.listStored()) as unknown as Array<{ name: string }>;
    return stored.filter((r) => r.name.startsWith(`vm-${workplaceId}-`)).length;
  }

  async function messages(workplaceId: string) {
    return store.voicebox.list(workplaceId);
  }

  /** the registry entry of the workplace's call, once written (it carries the call's trace) */
  function registered(wp: WorkplaceView): Promise<LiveCall> {
    return until(() => store.liveCalls.get(wp.id), `the call of ${wp.number} registered`);
  }

  /**
   * The workplace's call-list lines of a call, as its users read them (the API), once the first
   * is there; a while longer for a second one that must not come.
   */
  async function linesOf(wp: WorkplaceView, callId: string): Promise<CallRecord[]> {
    const read = async () =>
      (
        await api<{ items: CallRecord[] }>('GET', `/v1/companies/${cid}/workplaces/${wp.id}/calls?limit=50`)
      ).items.filter((r) => r.id === callId);
    await until(
      async () => ((await read()).length > 0 ? true : undefined),
      `the call-list line of ${callId}`,
    );
    await delay(500);
    return read();
  }

  /**
   * A desk call that outlived its controller: one line, with the start and answer of before
   * (the trace its registry entry carried), answered by the desk phone, talk time from then on.
   */
  async function oneLineAsBefore(
    wp: WorkplaceView,
    from: string,
    entry: LiveCall,
    before: number,
    outcome: 'answered' | 'pulled' = 'answered',
  ): Promise<void> {
    const lines = await linesOf(wp, entry.remoteChannelId);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    const saved = entry.trace!;
    expect(line).toMatchObject({
      direction: 'inbound',
      outcome,
      from,
      to: wp.number,
      startedAt: new Date(saved.startedMs).toISOString(),
      answeredAt: saved.answeredAt,
      answeredBy: { kind: 'device' },
      adopted: 'trace',
    });
    expect(Date.parse(line!.answeredAt!)).toBeLessThanOrEqual(before);
    expect(line!.durationSeconds).toBe(
      Math.round((Date.parse(line!.endedAt) - Date.parse(saved.answeredAt!)) / 1000),
    );
  }

  beforeAll(async () => {
    redis = await startRedisServer({ persistent: true });
    proxy = await startTcpProxy(asterisk.httpPort);
    const ariOpts = { url: target.url, username: target.username, password: target.password, logger };
    worldAri = createAriClient({ ...ariOpts, app: WORLD_APP, reconnectMaxMs: 500 });
    rest = createAriClient({ ...ariOpts, app: 'e2efaultsrest' });
    world = new OutsideWorld(worldAri);
    await worldAri.connect();
    store = await createRedisStore({ url: redis.url, logger });
    await controllerUp();
    cid = (await api<{ id: string }>('POST', '/v1/companies', { name: 'Faults GmbH' }, PLATFORM_TOKEN)).id;
    adminToken = (
      await api<{ token: string }>('POST', `/v1/companies/${cid}/tokens`, { role: 'admin' }, PLATFORM_TOKEN)
    ).token;
    groupId = (
      await api<{ id: string }>('POST', `/v1/companies/${cid}/groups`, {
        name: 'Berlin',
        timezone: 'Europe/Berlin',
        numberRanges: [{ first: number(0), last: number(9999) }],
      })
    ).id;
    keepLogs = false;
  });

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      keepLogs = true;
    });
  });

  afterAll(async () => {
    await ctl?.kill('SIGTERM');
    // the controllers' logs, for whoever has to find out why a case failed
    if (keepLogs && started.length) {
      const dir = mkdtempSync(join(tmpdir(), 'pbx-faults-'));
      started.forEach((c, i) => writeFileSync(join(dir, `controller-${i + 1}.log`), c.out()));
      console.info(`[e2e faults] controller logs in ${dir}`);
    }
    await worldAri?.close().catch(() => {});
    await rest?.close().catch(() => {});
    await store?.close().catch(() => {});
    await proxy?.close();
    await redis?.stop();
    await target.close();
  });

  it('kill -9 of the controller: answered calls go on (*11 pulls one), ringing and menu calls end, the message being recorded is kept', async () => {
    const talkingA = await createWorkplace();
    const talkingB = await createWorkplace();
    const ringing = await createWorkplace({
      forwarding: { noAnswer: { enabled: false, ringSeconds: 60 } },
    });
    const mobile = '+491701000077';
    await createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
      voicebox: { enabled: true, pin: '4711' },
    });
    const portal = await api<{ number: string }>('POST', `/v1/companies/${cid}/anywhere-portals`, {
      groupId,
      displayFirstName: 'Anywhere',
      displayLastName: 'Faults',
      number: number(5001),
      timezone: 'Europe/Berlin',
      level: 'company',
      silentMode: false,
      pinRequired: true,
    });
    const voicebox = await createWorkplace({ devices: [], voicebox: { enabled: true, pin: '4711' } });

    const a = await deskCall(talkingA, '+491511000071');
    const b = await deskCall(talkingB, '+491511000072');
    const [entryA, entryB] = await Promise.all([registered(talkingA), registered(talkingB)]);
    world.setBehaviour('device', ringing.devices[0]!.sipUsername, { kind: 'ring' });
    const ringCaller = await world.call('+491511000073', ringing.number);
    const ringLeg = await newLeg(ringing.devices[0]!.sipUsername, new Set());
    const portalCaller = await world.call(mobile, portal.number);
    await portalCaller.waitUp(); // answered: the PIN prompt runs
    const vbCaller = await world.call('+491511000074', voicebox.number);
    await until(
      async () => ((await store.recordingsInProgress.list(CONTROLLER_ID)).length === 1 ? true : undefined),
      'the voicebox recording started (after the greeting)',
      45_000,
    );
    await vbCaller.speak();

    const killedAt = Date.now();
    await ctl.kill('SIGKILL');
    await vbCaller.speak();
    await controllerUp();

    // answered calls: still up and bridged
    for (const call of [a, b]) {
      expect(call.caller.isEnded()).toBe(false);
      expect(call.leg.isEnded()).toBe(false);
      expect(await bridged(call.caller, call.leg)).toBe(true);
    }
    // calls in set-up: ended, never left ringing
    await ringCaller.waitEnded(10_000);
    await ringLeg.ended;
    await portalCaller.waitEnded(10_000);
    // the caller leaving a message is still recording: speaks on, hangs up, the message is kept
    expect(vbCaller.isEnded()).toBe(false);
    await vbCaller.speak();
    await delay(500);
    await vbCaller.hangup();
    const [message] = await until(
      async () => ((await messages(voicebox.id)).length === 1 ? messages(voicebox.id) : undefined),
      'the voicebox message stored',
    );
    expect(message).toMatchObject({ callerNumber: '+491511000074', status: 'new' });
    await rest.recordings.getStored({ recordingName: message!.recordingName });

    // *11 from the workplace's desk phone pulls a re-adopted call to it; the old leg is released
    const puller = await world.deviceCall(talkingB.id, '*11');
    await until(
      async () => (await inOneBridge(b.caller.pbxName, puller.pbxName)) || undefined,
      'the re-adopted call pulled by *11',
    );
    await b.leg.ended;

    // re-adopted calls end with either side
    await worldAri.channels.hangup({ channelId: a.leg.channelId });
    await a.caller.waitEnded(10_000);
    await b.caller.hangup();
    await puller.waitEnded(10_000);
    await nothingLeftBehind();
    expect(await store.recordingsInProgress.list(CONTROLLER_ID)).toEqual([]);
    // their lines in the call list: written once, by the new process, as the dead one would have
    await oneLineAsBefore(talkingA, '+491511000071', entryA, killedAt);
    await oneLineAsBefore(talkingB, '+491511000072', entryB, killedAt, 'pulled');
  });

  it('SIGTERM (a rolling deploy): answered calls stay up for the next process, a ringing call is ended, exit within 10 s', async () => {
    const talking = await createWorkplace();
    const ringing = await createWorkplace({ forwarding: { noAnswer: { enabled: false, ringSeconds: 60 } } });
    const call = await deskCall(talking, '+491511000111');
    const entry = await registered(talking);
    world.setBehaviour('device', ringing.devices[0]!.sipUsername, { kind: 'ring' });
    const before = new Set(world.allLegs());
    const ringCaller = await world.call('+491511000112', ringing.number);
    const ringLeg = await newLeg(ringing.devices[0]!.sipUsername, before);

    const stopping = ctl;
    const stoppedAt = Date.now();
    stopping.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      stopping.exited,
      new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 10_000))),
    ]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(stopping.out()).toContain('calls left to the next controller');
    await ringCaller.waitEnded(5000);
    await ringLeg.ended;
    expect(call.caller.isEnded()).toBe(false);
    expect(await bridged(call.caller, call.leg)).toBe(true);

    await controllerUp();
    expect(ctl.out()).toContain('adoption: answered call taken over');
    expect(await bridged(call.caller, call.leg)).toBe(true);
    await call.caller.hangup();
    await call.leg.ended;
    await nothingLeftBehind();
    await oneLineAsBefore(talking, '+491511000111', entry, stoppedAt);
  });

  it('kill -9 during a call-through: the next process cuts it at its deadline, frees its slot, counts its talk time', async () => {
    const mobile = '+491701000091';
    const employee = await createWorkplace({
      parallelRinging: { enabled: true, numbers: [mobile], answerConfirmation: false },
    });
    const portal = await api<{ number: string }>('POST', `/v1/companies/${cid}/anywhere-portals`, {
      groupId,
      displayFirstName: 'Anywhere',
      displayLastName: 'Through',
      number: number(5002),
      timezone: 'Europe/Berlin',
      level: 'company',
      silentMode: false,
      pinRequired: false,
    });
    await api('PUT', `/v1/companies/${cid}/call-through-policy`, { perWorkplace: { minutesPerDay: 1 } });
    // 45 of the day's 60 seconds were talked earlier: 15 left, time enough for a restart
    await store.callThroughs.settle([
      { callId: 'earlier', companyId: cid, workplaceId: employee.id, startedAtMs: Date.now(), seconds: 45 },
    ]);
    const destination = '+4940555300091';
    const usage = async () => (await store.callThroughs.usage(cid, employee.id, Date.now())).usage.workplace;
    world.setBehaviour('pstn', destination, { kind: 'answer', afterMs: 100 });
    const caller = await world.call(mobile, portal.number);
    await caller.waitUp();
    await delay(300);
    await caller.press('040555300091#');
    const far = await world.waitForLeg('pstn', destination);
    await until(() => bridged(caller, far), 'the call-through connected');
    const portalCall = (await idOf(caller.pbxName))!;
    // the leg carries the guard's ticket: set by the originate, read back as the next process will
    const legId = (await idOf(far.name.replace(/;2$/, ';1')))!;
    const { value } = await rest.channels.getChannelVar({ channelId: legId, variable: 'PBX_CT' });
    const [company, workplace, to, admitted, deadlineText] = value.split(':');
    expect([company, workplace, to]).toEqual([cid, employee.id, destination]);
    const deadline = Number(deadlineText);
    expect(deadline - Number(admitted)).toBe(15_000);
    expect(await usage()).toMatchObject({ active: 1, secondsToday: 45 });

    await ctl.kill('SIGKILL');
    await controllerUp();
    expect(ctl.out()).toContain('adoption: answered call taken over');
    expect(Date.now()).toBeLessThan(deadline);
    expect(await bridged(caller, far)).toBe(true);

    // nobody hangs up: the new process cuts the call-through when the minutes are used up
    await caller.waitEnded(30_000);
    const cutAt = Date.now();
    await far.ended;
    expect(cutAt).toBeGreaterThanOrEqual(deadline);
    expect(cutAt).toBeLessThan(deadline + 2000);
    await until(async () => ((await usage()).active === 0 ? true : undefined), 'the slot freed');
    const { secondsToday } = await usage();
    expect(secondsToday).toBeGreaterThanOrEqual(59);
    expect(secondsToday).toBeLessThanOrEqual(62);
    await nothingLeftBehind();
    expect(await linesOf(employee, portalCall)).toMatchObject([
      {
        direction: 'outbound',
        outcome: 'call-through',
        from: employee.number,
        to: destination,
        adopted: 'asterisk',
      },
    ]);
  });

  it('the event socket is cut: calls go on, and end with either side once it is back', async () => {
    const wp = await createWorkplace();
    const call = await deskCall(wp, '+491511000081');
    const reconnects = ctl.out().split('"reconnect":true').length;
    expect(proxy.dropAll()).toBeGreaterThan(0);
    await until(
      () => (ctl.out().split('"reconnect":true').length > reconnects ? true : undefined),
      'the socket back',
    );
    await delay(500); // the reconcile after the reconnect
    expect(call.caller.isEnded()).toBe(false);
    expect(await bridged(call.caller, call.leg)).toBe(true);
    await worldAri.channels.hangup({ channelId: call.leg.channelId });
    await call.caller.waitEnded(10_000);
    await nothingLeftBehind();
  });

  it('Redis stops and starts mid-call: the call goes on, calls work on the cached configuration, no message lost', async () => {
    const wp = await createWorkplace();
    const voicebox = await createWorkplace({ devices: [], voicebox: { enabled: true, pin: '4711' } });
    // warm: the controller has seen both numbers
    const warm = await deskCall(wp, '+491511000091');
    await warm.caller.hangup();
    await warm.leg.ended;
    const vbWarm = await world.call('+491511000092', voicebox.number);
    await until(
      async () => ((await store.recordingsInProgress.list(CONTROLLER_ID)).length === 1 ? true : undefined),
      'recording',
      45_000,
    );
    await vbWarm.hangup();
    await until(async () => ((await messages(voicebox.id)).length === 1 ? true : undefined), 'first message');

    const during = await deskCall(wp, '+491511000093');
    await redis.pause();
    // a new call and a message while Redis is away
    const other = await world.call('+491511000094', wp.number);
    await until(
      () =>
        world.allLegs().filter((l) => l.target === wp.devices[0]!.sipUsername).length >= 3 ? true : undefined,
      'a leg for the call during the outage',
    );
    const otherLeg = world
      .allLegs()
      .filter((l) => l.target === wp.devices[0]!.sipUsername)
      .at(-1)!;
    await until(() => bridged(other, otherLeg), 'the call during the outage connected');
    const recordingsBefore = await recordingsOf(voicebox.id);
    const vbCaller = await world.call('+491511000095', voicebox.number);
    await until(
      async () => ((await recordingsOf(voicebox.id)) > recordingsBefore ? true : undefined),
      'the recording started',
      45_000,
    );
    await vbCaller.speak();
    await delay(500);
    await vbCaller.hangup();
    expect(during.caller.isEnded()).toBe(false);
    expect(await bridged(during.caller, during.leg)).toBe(true);
    await other.hangup();
    await otherLeg.ended;

    await redis.restart();
    // the controller reconnects on its own (no restart): ready again
    await until(
      async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined),
      'ready again',
      20_000,
    );
    await until(
      async () => ((await messages(voicebox.id)).length === 2 ? true : undefined),
      'the message of the outage landed',
      20_000,
    );
    expect(during.caller.isEnded()).toBe(false);
    await worldAri.channels.hangup({ channelId: during.leg.channelId });
    await during.caller.waitEnded(10_000);
    // later calls work
    const later = await deskCall(wp, '+491511000096');
    await later.caller.hangup();
    await later.leg.ended;
    await nothingLeftBehind();
  });

  it('Asterisk killed and restarted: devices back and a call working within 15 s', async () => {
    const wp = await createWorkplace();
    await deskCall(wp, '+491511000101');
    const resyncs = ctl.out().split('devices resynced').length;
    await asterisk.kill();
    await asterisk.start();
    const restarted = Date.now();
    // devices pushed again after the reconnect
    await until(
      () => (ctl.out().split('devices resynced').length > resyncs ? true : undefined),
      'devices resynced',
      15_000,
    );
    await rest.asterisk.getObject({
      configClass: 'res_pjsip',
      objectType: 'endpoint',
      id: wp.devices[0]!.sipUsername,
    });
    await until(() => worldAri.isConnected() || undefined, 'the outside world back', 15_000);
    const again = await deskCall(wp, '+491511000102');
    expect(Date.now() - restarted).toBeLessThan(15_000);
    await again.caller.hangup();
    await again.leg.ended;
    await nothingLeftBehind();
    // the call Asterisk lost is not registered any more
    await until(
      async () => ((await store.liveCalls.get(wp.id)) === undefined ? true : undefined),
      'registry cleared',
    );
  });
});
