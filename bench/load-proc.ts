/**
 * The load process: the ARI simulator plus a scenario driver that places calls at a fixed rate
 * and measures, on the simulator's side of the wire,
 *   - decision latency: the moment the simulator SENDS a caller's StasisStart → the moment it
 *     RECEIVES the first REST command naming that channel (the controller's first command);
 *   - set-up latency: StasisStart → the call is set up (caller bridged with the answering
 *     leg / the voicebox recording started / the pulled call bridged with the mobile).
 *
 * The simulator keeps its event log and REST log in BoundedLog instances; the timestamps come
 * from wrapping BoundedLog.prototype.push in THIS process (the simulator stays unchanged): the
 * event log is pushed right before an event is written to the socket, the REST log right when
 * a request has been handled, before the answer is written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAriSimulator, type AriSimulator, type SimChannel } from '../tools/ari-sim/index.js';
import { BoundedLog } from '../tools/ari-sim/util.js';
import { cpuMs, percentiles, serveIpc, sleep, type Percentiles } from './common.js';
import { createProcessProbe, type ProcessSnapshot } from './process-probe.js';
import { BENCH_PIN, PORTAL_NUMBER, ringNumber, ringMobile, voiceboxNumber } from './seed.js';

export type Scenario = 'workplace' | 'voicebox' | 'portal' | 'answer';

/** What marks a call as set up. */
type SetupOn = 'bridge' | 'recording' | 'ended';

interface CallRecord {
  stasisAt: number;
  firstCmdAt?: number;
  firstCmd?: string;
  setupAt?: number;
  endedAt?: number;
  setupOn?: SetupOn;
  onSetup?: () => void;
  onPlayback?: (n: number) => void;
  onEnded?: () => void;
  playbacks: number;
}

export interface StepArgs {
  scenario: Scenario;
  /** new calls per second */
  rate: number;
  durationMs: number;
  /** how long a set-up call is held before the caller hangs up (Infinity: until releaseAll) */
  holdMs: number;
  /** after the last call is placed, how long to wait for the calls to finish */
  drainMs: number;
  /** Stasis app of the caller channels (default 'pbx') */
  app?: string;
  /** workplace calls go to the first `spread` ring workplaces (default: all of them) */
  spread?: number;
}

export interface StepResult {
  scenario: Scenario;
  rate: number;
  placed: number;
  placeErrors: number;
  setUp: number;
  /** set-ups per second over the placing window */
  setupRate: number;
  decision: Percentiles;
  setup: Percentiles;
  /** what the first command was, most common first (e.g. 'POST /channels/{id}/ring') */
  firstCommands: Record<string, number>;
  /** CPU of the load process over the step, in % of one core */
  loadCpuPercent: number;
  /** the load process's own event loop and GC over the step (is the simulator keeping up?) */
  loadProcess: ProcessSnapshot;
  /** channels still alive in the simulator when the step returned */
  leftoverChannels: number;
  wallMs: number;
}

const records = new Map<string, CallRecord>();
const processProbe = createProcessProbe();
let tracking = false;

// ------------------------------------------------------------------ observation hook

const channelPath = /^\/channels\/([^/]+)(\/[^/]+)?$/;

function observe(item: unknown): void {
  if (!tracking) return;
  const now = performance.now();
  const it = item as { event?: Record<string, unknown>; method?: string; path?: string };
  if (it.event) {
    const ev = it.event as {
      type: string;
      args?: string[];
      channel?: { id: string };
      recording?: { target_uri?: string };
      playback?: { target_uri?: string };
    };
    switch (ev.type) {
      case 'StasisStart':
        if (ev.args?.[0] === 'inbound' && ev.channel && !records.has(ev.channel.id))
          records.set(ev.channel.id, { stasisAt: now, playbacks: 0 });
        return;
      case 'ChannelEnteredBridge':
        return setUp(ev.channel?.id, 'bridge', now);
      case 'RecordingStarted':
        return setUp(targetChannel(ev.recording?.target_uri), 'recording', now);
      case 'PlaybackStarted': {
        const rec = records.get(targetChannel(ev.playback?.target_uri) ?? '');
        if (rec?.onPlayback) {
          const n = ++rec.playbacks;
          const cb = rec.onPlayback;
          setImmediate(() => cb(n));
        }
        return;
      }
      // after StasisEnd an app no longer hears about a channel it did not create, so the
      // caller's StasisEnd is the last word the log sees about it
      case 'StasisEnd':
      case 'ChannelDestroyed': {
        const id = ev.channel?.id ?? '';
        setUp(id, 'ended', now);
        const rec = records.get(id);
        if (rec && rec.endedAt === undefined) {
          rec.endedAt = now;
          if (rec.onEnded) setImmediate(rec.onEnded);
        }
        return;
      }
      default:
        return;
    }
  }
  if (it.method && it.path) {
    const m = channelPath.exec(it.path);
    if (!m) return;
    const rec = records.get(m[1]!);
    if (rec && rec.firstCmdAt === undefined) {
      rec.firstCmdAt = now;
      rec.firstCmd = `${it.method} /channels/{id}${m[2] ?? ''}`;
    }
  }
}

function targetChannel(uri: string | undefined): string | undefined {
  return uri?.startsWith('channel:') ? uri.slice('channel:'.length) : undefined;
}

function setUp(id: string | undefined, on: SetupOn, now: number): void {
  if (!id) return;
  const rec = records.get(id);
  if (!rec || rec.setupOn !== on || rec.setupAt !== undefined) return;
  rec.setupAt = now;
  if (rec.onSetup) setImmediate(rec.onSetup);
}

const originalPush = BoundedLog.prototype.push;
BoundedLog.prototype.push = function push(this: BoundedLog<unknown>, item: unknown): void {
  observe(item);
  originalPush.call(this, item);
};

// ------------------------------------------------------------------ simulator

let sim: AriSimulator | undefined;
let recordingsDir: string | undefined;
let ringWorkplaces = 0;
let voiceboxWorkplaces = 0;
let callSeq = 0;

/** Every prompt lasts 20 ms (we measure the controller, not the length of German sentences). */
function mediaDurationMs(media: string): number {
  if (media.startsWith('tone:')) return Infinity;
  if (media.startsWith('recording:')) return 200;
  return 20;
}

async function start(args: { ringWorkplaces: number; voiceboxWorkplaces: number }) {
  recordingsDir = mkdtempSync(join(tmpdir(), 'pbx-bench-rec-'));
  sim = await startAriSimulator({ timeScale: 1, mediaDurationMs, recordingsDir, logLimit: 2000 });
  ringWorkplaces = args.ringWorkplaces;
  voiceboxWorkplaces = args.voiceboxWorkplaces;
  // the first device of every ring workplace answers after 20 ms; the other device and both
  // parallel numbers ring until the controller lets them go (answered elsewhere)
  sim.driver.setEndpointBehaviour(/^PJSIP\/bw\d+d1$/, { kind: 'answer', afterMs: 20 });
  return { url: sim.url };
}

const externalCaller = () => `+4989${String(100000 + (callSeq++ % 900000))}`;

/** A live (caller) channel of the simulator with the record the hook fills in. */
interface Placed {
  ch: SimChannel;
  rec: CallRecord;
}

async function place(from: string, to: string, setupOn: SetupOn, app = 'pbx'): Promise<Placed> {
  const ch = await sim!.driver.placeCall({ from, to, app });
  let rec = records.get(ch.id);
  if (!rec) {
    // tracking was off when it entered Stasis: no timing, but keep the bookkeeping uniform
    rec = { stasisAt: performance.now(), playbacks: 0 };
    records.set(ch.id, rec);
  }
  rec.setupOn = setupOn;
  // the call may have been set up synchronously (not with any flow here, but be exact)
  return { ch, rec };
}

const hangupLater = (ch: SimChannel, holdMs: number) => {
  if (!Number.isFinite(holdMs)) return;
  setTimeout(() => void ch.hangup().catch(() => {}), holdMs);
};

const held = new Set<SimChannel>();

/** Places one call of `scenario` (index i) and returns its record(s) to be measured. */
async function placeOne(
  scenario: Scenario,
  i: number,
  holdMs: number,
  app?: string,
  spread = ringWorkplaces,
): Promise<CallRecord> {
  switch (scenario) {
    case 'workplace': {
      const { ch, rec } = await place(
        externalCaller(),
        ringNumber(i % Math.min(spread, ringWorkplaces)),
        'bridge',
      );
      // held calls are released by releaseAll, set up or not
      if (!Number.isFinite(holdMs)) held.add(ch);
      else rec.onSetup = () => hangupLater(ch, holdMs);
      return rec;
    }
    case 'voicebox': {
      const { ch, rec } = await place(externalCaller(), voiceboxNumber(i % voiceboxWorkplaces), 'recording');
      rec.onSetup = () => hangupLater(ch, holdMs);
      return rec;
    }
    case 'answer': {
      const { rec } = await place(externalCaller(), '100', 'ended', app ?? 'answer');
      return rec;
    }
    case 'portal':
      return placePortal(i % ringWorkplaces, holdMs);
  }
}

/**
 * An Anywhere portal pull: the workplace's desk call is set up first (not measured as a portal
 * set-up, but it is load the controller carries), then the employee's mobile calls the portal,
 * enters the PIN when the first prompt starts and *11 when the menu prompt starts; set up =
 * the mobile is bridged with the remote party.
 */
async function placePortal(i: number, holdMs: number): Promise<CallRecord> {
  const desk = await place(externalCaller(), ringNumber(i), 'bridge');
  const deskUp = new Promise<void>((resolve) => {
    desk.rec.onSetup = resolve;
    if (desk.rec.setupAt !== undefined) resolve();
  });
  // the desk call must be registered before the pull finds it: the bridge comes first
  await Promise.race([deskUp, sleep(5000)]);
  await sleep(20);
  const mobile = await place(ringMobile(i), PORTAL_NUMBER, 'bridge');
  mobile.rec.onPlayback = (n) => {
    if (n === 1) void mobile.ch.pressDigits(`${BENCH_PIN}#`, 0).catch(() => {});
    else if (n === 2) void mobile.ch.pressDigits('*11', 0).catch(() => {});
  };
  mobile.rec.onSetup = () => {
    hangupLater(mobile.ch, holdMs);
  };
  // the desk caller and its leg go when the pulled call ends; make sure nothing lingers
  mobile.rec.onEnded = () => {
    void desk.ch.hangup().catch(() => {});
  };
  return mobile.rec;
}

async function aliveChannels(): Promise<number> {
  return sim!.driver.channels().length;
}

/** What is still alive, by endpoint kind and state (to explain a drain that does not finish). */
function aliveSummary(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ch of sim!.driver.channels()) {
    const key = `${ch.name.replace(/[0-9a-f]{8}$|\d+/g, 'N')} ${ch.state()}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

async function drain(maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs;
  let alive = await aliveChannels();
  while (alive > 0 && performance.now() < deadline) {
    await sleep(50);
    alive = await aliveChannels();
  }
  return alive;
}

async function step(args: StepArgs): Promise<StepResult> {
  records.clear();
  processProbe.snapshot(true);
  tracking = true;
  const measured: CallRecord[] = [];
  const placing: Array<Promise<void>> = [];
  let placeErrors = 0;
  const total = Math.max(1, Math.round((args.rate * args.durationMs) / 1000));
  const cpu0 = cpuMs();
  const t0 = performance.now();
  let placed = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * args.rate) / 1000) + 1);
      while (placed < due) {
        const i = placed++;
        placing.push(
          placeOne(args.scenario, i, args.holdMs, args.app, args.spread).then(
            (rec) => void measured.push(rec),
            () => void placeErrors++,
          ),
        );
      }
      if (placed >= total) resolve();
      else timer = setTimeout(tick, 2);
    };
    let timer = setTimeout(tick, 0);
    void timer;
  });
  const placingMs = performance.now() - t0;
  await Promise.all(placing);
  // wait until every measured call is set up (or the drain time is over)
  const deadline = performance.now() + args.drainMs;
  while (
    performance.now() < deadline &&
    measured.some((r) => r.setupAt === undefined && r.endedAt === undefined)
  )
    await sleep(20);
  const wallMs = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  const loadProcess = processProbe.snapshot(true);
  const leftover = Number.isFinite(args.holdMs) ? await drain(args.holdMs + args.drainMs) : 0;
  tracking = false;
  const decisions: number[] = [];
  const setups: number[] = [];
  const firstCommands: Record<string, number> = {};
  for (const r of measured) {
    if (r.firstCmdAt !== undefined) decisions.push(r.firstCmdAt - r.stasisAt);
    if (r.setupAt !== undefined) setups.push(r.setupAt - r.stasisAt);
    if (r.firstCmd) firstCommands[r.firstCmd] = (firstCommands[r.firstCmd] ?? 0) + 1;
  }
  const setUp = setups.length;
  records.clear();
  return {
    scenario: args.scenario,
    rate: args.rate,
    placed,
    placeErrors,
    setUp,
    setupRate: setUp / (Math.max(placingMs, args.durationMs) / 1000),
    decision: percentiles(decisions),
    setup: percentiles(setups),
    firstCommands,
    loadCpuPercent: (cpu / wallMs) * 100,
    loadProcess,
    leftoverChannels: leftover,
    wallMs,
  };
}

async function releaseAll(args: { drainMs: number }) {
  const calls = [...held];
  held.clear();
  await Promise.all(calls.map((ch) => ch.hangup().catch(() => {})));
  return { released: calls.length, leftoverChannels: await drain(args.drainMs) };
}

serveIpc({
  ready: () => true,
  start,
  step,
  releaseAll,
  alive: aliveChannels,
  aliveSummary,
  async stop() {
    await sim?.close();
    if (recordingsDir) rmSync(recordingsDir, { recursive: true, force: true });
    return true;
  },
});
process.on('exit', () => {
  if (recordingsDir) rmSync(recordingsDir, { recursive: true, force: true });
});
