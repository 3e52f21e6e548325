/**
 * `npm run bench` — sizes the controller the way its operators would, prints ONE table and
 * writes bench/results.md.
 *
 *   npm run bench                       default run (< 6 min on 2 cores; 60 s soak)
 *   npm run bench -- --soak 600         10-minute soak instead of 60 s
 *   npm run bench -- --quick            tiny loads, seconds (the smoke test uses it)
 *   npm run bench -- --telemetry        the controller with events + call records + metrics wired
 *   npm run bench -- --out FILE         write the report elsewhere
 *   npm run bench -- --only workplace,api   run some sections (roundtrips, workplace, voicebox,
 *                                       portal, memory, soak, compare, api)
 *   npm run bench -- --profile DIR      write a V8 CPU profile of the controller into DIR
 *   npm run bench -- --heap-snapshots DIR   heap snapshots of the controller at soak start/end
 *   npm run bench -- --ari-connections 64   size of our ARI client's REST pool (controller, answer app)
 *   npm run bench -- --controller-node-args=--max-semi-space-size=32   tune the controller's V8
 *
 * Processes (all loopback): this orchestrator, an own redis-server, the LOAD process (ARI
 * simulator + scenario driver, bench/load-proc.ts) and the CONTROLLER process
 * (bench/controller-proc.ts) — then the API process and the two answer apps in turn.
 * With taskset available the process under test is pinned to core 0 and everything else to
 * core 1, so "on one core" is literal.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createRedisStore } from '../src/store/index.js';
import {
  benchDir,
  forkChild,
  machineCpu,
  pinToCpu,
  sleep,
  startRedis,
  type Child,
  type Percentiles,
} from './common.js';
import type { Scenario, StepArgs, StepResult } from './load-proc.js';
import type { ProcessSnapshot } from './process-probe.js';
import { seed, type Seeded } from './seed.js';
import { majorityRamps, medianRun, topConfirmed, type RateVerdict } from './verdict.js';
import {
  asteriskMarkdown,
  asteriskRows,
  runAsteriskSection,
  type AsteriskReport,
} from './asterisk-section.js';

// ------------------------------------------------------------------ options

function parseOptions() {
  try {
    return parseArgs({
      options: {
        soak: { type: 'string' },
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        only: { type: 'string' },
        profile: { type: 'string' },
        'controller-node-args': { type: 'string' },
        'heap-snapshots': { type: 'string' },
        'ari-connections': { type: 'string' },
        'asterisk-plain-auth': { type: 'boolean', default: false },
        'overload-rate': { type: 'string' },
        'overload-seconds': { type: 'string' },
        /** the controller with events + call records (src/app/telemetry.ts), as src/app/main.ts wires it */
        telemetry: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}
const opts = parseOptions();
const SECTIONS = [
  'roundtrips',
  'workplace',
  'voicebox',
  'portal',
  'memory',
  'soak',
  'compare',
  'api',
  'asterisk',
] as const;
type Section = (typeof SECTIONS)[number];
const only = opts.only?.split(',').filter(Boolean) ?? [...SECTIONS];
const unknownSections = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknownSections.length) {
  process.stderr.write(
    `--only: unknown section(s) ${unknownSections.join(', ')}; known: ${SECTIONS.join(', ')}\n`,
  );
  process.exit(2);
}
const runs = (s: Section) => only.includes(s);
/** keep-alive connections of our ARI client's REST pool (its default when unset) */
const ariConnections = opts['ari-connections'] ? Number(opts['ari-connections']) : undefined;
if (ariConnections !== undefined && !(Number.isInteger(ariConnections) && ariConnections > 0)) {
  process.stderr.write(`--ari-connections: expected a positive integer, got '${opts['ari-connections']}'\n`);
  process.exit(2);
}
const quick = opts.quick ?? false;
const soakSeconds = Number(opts.soak ?? (quick ? 3 : 60));
if (!(soakSeconds > 0)) {
  process.stderr.write(`--soak: expected a positive number of seconds, got '${opts.soak}'\n`);
  process.exit(2);
}
const outFile = opts.out ?? join(benchDir, 'results.md');
const logLevel = opts['log-level'] ?? 'info';

/** When the controller "falls behind": any of these at a step fails it. */
const SUSTAINED = {
  /** share of placed calls that must be set up */
  minCompletion: 0.99,
  /** p99 decision latency (StasisStart → first command) */
  maxDecisionP99Ms: 50,
  /** achieved set-ups/s vs the offered rate */
  minRateShare: 0.95,
};

const plan = quick
  ? {
      ringWorkplaces: 50,
      voiceboxWorkplaces: 20,
      stepMs: 1000,
      drainMs: 2000,
      ramps: { workplace: [20], voicebox: [20], portal: [10], answer: [50] },
      memory: [50, 100],
      soakRate: 20,
      probeCalls: 2,
      apiSeconds: 1,
      deskWorkplaces: 50,
    }
  : {
      ringWorkplaces: 2000,
      voiceboxWorkplaces: 500,
      stepMs: 4000,
      drainMs: 3000,
      ramps: {
        // finer around the 300/s target; every list must contain 100 and 300 (fixed-load latency)
        workplace: [100, 200, 250, 300, 350, 400, 500, 650, 800],
        voicebox: [100, 200, 250, 300, 400, 500, 650],
        portal: [25, 50, 75, 100, 150, 200, 300],
        answer: [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000],
      },
      memory: [1000, 5000],
      soakRate: 200,
      probeCalls: 5,
      apiSeconds: 8,
      deskWorkplaces: 400,
    };

const API_CONNECTIONS = 32;

/** calls/s while establishing the held calls of the memory test (well below the ramp's limit) */
const MEMORY_RATE = quick ? 100 : 250;
const MEMORY_SPREAD = quick ? 20 : 200;

const HOLD_MS: Record<Scenario, number> = { workplace: 1000, voicebox: 100, portal: 500, answer: 0 };

const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

// ------------------------------------------------------------------ measurements

/** Every process of this benchmark; CPU used by anything else is noise on a shared machine. */
const ourPids = new Set<number>([process.pid]);

/** Share of the machine (% of ONE core) used by other processes between two samples. */
function foreignCpuPercent(
  a: ReturnType<typeof machineCpu>,
  b: ReturnType<typeof machineCpu>,
  wallMs: number,
): number {
  if (!a || !b || wallMs <= 0) return NaN;
  return (Math.max(0, b.busyMs - a.busyMs - (b.oursMs - a.oursMs)) / wallMs) * 100;
}

interface ControllerStats {
  process?: ProcessSnapshot;
  ariMetrics?: { restRequests: number; eventsReceived: number };
  rss: number;
  heapUsed: number;
  cpuMs: number;
  roundTrips: number;
  sessions: number;
}

/** when the load process itself is this busy, a failed step is not blamed on the controller alone */
const LOAD_SATURATED = { cpuPercent: 75, loopP99Ms: 20 };

/** a failed step during which other processes used more than this (% of a core) is repeated once */
const NOISY_STEP_PERCENT = 20;
/** at most this many repeats per run, so the whole run stays within its time budget */
let repeatsLeft = 3;

interface RampStep extends StepResult {
  /** CPU of the measured process per set-up call, over the step including the calls' teardown */
  cpuMsPerSetup: number;
  /** ARI REST requests and events of the controller per set-up call (whole call life) */
  restPerSetup: number;
  eventsPerSetup: number;
  /** the step was repeated because other processes disturbed the first attempt */
  repeated?: boolean;
  /** the verdict of this step's rate over all its runs (majority, confirmed) */
  rateSustained?: boolean;
  rateConfirmed?: boolean;
  controllerCpuPercent: number;
  /** CPU other processes on this machine used during the step, % of one core */
  foreignCpuPercent: number;
  /** the measured process's event loop, GC and own decision time over the step */
  measured?: ProcessSnapshot;
  roundTripsPerSetup: number;
  sustained: boolean;
  why: string;
}

function judge(r: StepResult): { sustained: boolean; why: string } {
  const problems: string[] = [];
  const completion = r.placed ? r.setUp / r.placed : 0;
  if (r.placeErrors) problems.push(`${r.placeErrors} calls could not be placed`);
  if (completion < SUSTAINED.minCompletion) problems.push(`only ${fmt(completion * 100)}% set up`);
  if (!(r.decision.p99 <= SUSTAINED.maxDecisionP99Ms))
    problems.push(`decision p99 ${fmt(r.decision.p99)} ms`);
  if (r.setupRate < SUSTAINED.minRateShare * r.rate) problems.push(`${fmt(r.setupRate, 0)} set-ups/s`);
  // the simulator is one process on the other core: when it is the busy one, the step says so
  if (
    problems.length &&
    (r.loadCpuPercent >= LOAD_SATURATED.cpuPercent || r.loadProcess.loopP99Ms >= LOAD_SATURATED.loopP99Ms)
  )
    problems.push(
      `the load process was near its limit too (CPU ${fmt(r.loadCpuPercent, 0)}%, loop p99 ${fmt(r.loadProcess.loopP99Ms)} ms): not a clean verdict on the measured process`,
    );
  return { sustained: problems.length === 0, why: problems.join(', ') };
}

async function rampStep(load: Child, controller: Child | undefined, args: StepArgs): Promise<RampStep> {
  const before = controller ? await controller.call<ControllerStats>('stats', { reset: true }) : undefined;
  const machineBefore = machineCpu([...ourPids]);
  const wall0 = Date.now();
  const r = await load.call<StepResult>('step', args, args.durationMs + args.drainMs * 3 + 30_000);
  const machineAfter = machineCpu([...ourPids]);
  const after = controller ? await controller.call<ControllerStats>('stats', { reset: true }) : undefined;
  const foreign = foreignCpuPercent(machineBefore, machineAfter, Date.now() - wall0);
  const stepWallMs = Date.now() - wall0;
  // over the whole step incl. the drain: the calls' teardown is part of their cost
  const controllerCpuMs = before && after ? after.cpuMs - before.cpuMs : NaN;
  const controllerCpuPercent = (controllerCpuMs / stepWallMs) * 100;
  const cpuMsPerSetup = r.setUp ? controllerCpuMs / r.setUp : NaN;
  const perSetup = (f: (s: ControllerStats) => number | undefined) => {
    const a = before && f(before);
    const b = after && f(after);
    return a !== undefined && b !== undefined && r.setUp ? (b - a) / r.setUp : NaN;
  };
  const restPerSetup = perSetup((s) => s.ariMetrics?.restRequests);
  const eventsPerSetup = perSetup((s) => s.ariMetrics?.eventsReceived);
  const roundTripsPerSetup =
    before?.roundTrips !== undefined && after?.roundTrips !== undefined && r.setUp
      ? (after.roundTrips - before.roundTrips) / r.setUp
      : NaN;
  const verdict = judge(r);
  if (r.leftoverChannels > 0)
    log(`still alive after the drain: ${JSON.stringify(await load.call('aliveSummary'))}`);
  log(
    `${args.scenario} @ ${args.rate}/s: ${r.setUp}/${r.placed} set up, ${fmt(r.setupRate, 0)}/s, ` +
      `decision p50/p99 ${fmt(r.decision.p50)}/${fmt(r.decision.p99)} ms, controller CPU ${fmt(controllerCpuPercent, 0)}% (${fmt(cpuMsPerSetup, 2)} ms/call), ` +
      `load CPU ${fmt(r.loadCpuPercent, 0)}%, REST p50/p99 ${fmt(after?.process?.rest.p50 ?? NaN)}/${fmt(after?.process?.rest.p99 ?? NaN)} ms, loop p99 controller/load ${fmt(after?.process?.loopP99Ms ?? NaN)}/${fmt(r.loadProcess.loopP99Ms)} ms, other processes ${fmt(foreign, 0)}% ${verdict.sustained ? 'OK' : `— behind: ${verdict.why}`}`,
  );
  return {
    ...r,
    controllerCpuPercent,
    cpuMsPerSetup,
    restPerSetup,
    eventsPerSetup,
    foreignCpuPercent: foreign,
    roundTripsPerSetup,
    measured: after?.process,
    ...verdict,
  };
}

/** Offered rates in order until the controller falls behind; every step is returned. */
async function ramp(
  load: Child,
  controller: Child | undefined,
  scenario: Scenario,
  rates: number[],
  app?: string,
): Promise<RampStep[]> {
  // majority of repeated steps per rate (bench/verdict.ts); every run is kept for the tables,
  // each marked with its rate's verdict
  const verdicts = await majorityRamps<Scenario, RampStep>({
    contenders: [scenario],
    rates,
    run: (_, rate) => rampOnce(load, controller, scenario, rate, app),
    log,
  });
  return verdicts[scenario].flatMap((v) =>
    v.runs.map((r) => ({ ...r, rateSustained: v.sustained, rateConfirmed: v.confirmed })),
  );
}

const answerStepArgs = (rate: number, app: string): StepArgs => ({
  scenario: 'answer',
  rate,
  durationMs: plan.stepMs,
  holdMs: HOLD_MS.answer,
  drainMs: plan.drainMs,
  app,
});

/** One ramp step; a failed step disturbed by other processes is repeated once. */
async function rampOnce(
  load: Child,
  controller: Child | undefined,
  scenario: Scenario,
  rate: number,
  app?: string,
): Promise<RampStep> {
  const stepArgs: StepArgs = {
    scenario,
    rate,
    durationMs: plan.stepMs,
    holdMs: HOLD_MS[scenario],
    drainMs: plan.drainMs,
    app,
  };
  let step = await rampStep(load, controller, stepArgs);
  if (!step.sustained && step.foreignCpuPercent > NOISY_STEP_PERCENT && repeatsLeft > 0) {
    repeatsLeft--;
    log(
      `other processes used ${fmt(step.foreignCpuPercent, 0)}% of a core during that step: repeating it once`,
    );
    step = { ...(await rampStep(load, controller, stepArgs)), repeated: true };
  }
  return step;
}

/** the last rate whose majority of runs held (steps of a majority ramp), else the last passing step */
const lastSustained = (steps: RampStep[]) =>
  [...steps]
    .reverse()
    .find((s) => (s.rateSustained === undefined ? s.sustained : s.rateSustained && s.rateConfirmed));

/**
 * cold: nothing cached (a fresh controller); first: the called number is not cached but its
 * company's group/company/blocking profiles are (the common case: the first call to one of
 * many workplaces); warm: everything cached.
 */
type CacheMode = 'cold' | 'first' | 'warm';
const CACHE_MODES: CacheMode[] = ['cold', 'first', 'warm'];
interface RoundTripSet {
  decision: number[];
  bridged: number[];
}

/** Round trips between StasisStart and the first command / the bridge, one call at a time. */
async function probeRoundTrips(
  load: Child,
  controller: Child,
  scenario: Scenario,
  seeded: Seeded,
  mode: CacheMode,
): Promise<RoundTripSet> {
  const decision: number[] = [];
  const bridged: number[] = [];
  await controller.call('probe', { on: true });
  for (let i = 0; i < plan.probeCalls; i++) {
    // the probe calls go to the first workplace of each kind (a step starts at index 0)
    const called = [
      { kind: 'workplace', id: seeded.ring[0]!.id },
      { kind: 'workplace', id: seeded.voicebox[0]!.id },
      { kind: 'portal', id: seeded.portalId },
    ];
    const shared = [
      { kind: 'group', id: seeded.groupId },
      { kind: 'company', id: seeded.companyId },
      ...seeded.blockingProfileIds.map((id) => ({ kind: 'blockingProfile', id })),
    ];
    if (mode !== 'warm')
      await controller.call('invalidate', { changes: mode === 'cold' ? [...called, ...shared] : called });
    await load.call('step', {
      scenario,
      rate: 20,
      durationMs: 50,
      holdMs: HOLD_MS[scenario],
      drainMs: 3000,
    } satisfies StepArgs);
    const probes = await controller.call<
      Array<{ atStasis: number; atFirstCommand?: number; atBridged?: number }>
    >('probe', { on: true });
    // a portal pull also places its desk call: the last probe is the measured call
    const p = probes[probes.length - 1];
    if (p?.atFirstCommand !== undefined) decision.push(p.atFirstCommand - p.atStasis);
    if (p?.atBridged !== undefined) bridged.push(p.atBridged - p.atStasis);
  }
  await controller.call('probe', { on: false });
  return { decision, bridged };
}

/** Least-squares line through (x, y) points with finite values; undefined for fewer than 2. */
function linearFit(points: Array<[number, number]>): { slope: number; intercept: number } | undefined {
  const ok = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (ok.length < 2) return undefined;
  const n = ok.length;
  const mx = ok.reduce((a, [x]) => a + x, 0) / n;
  const my = ok.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = ok.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  if (sxx === 0) return undefined;
  const slope = ok.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

/** The controller's memory once every call has ended (sessions 0, or after 20 s), after gc. */
async function quiescent(controller: Child): Promise<ControllerStats> {
  const deadline = Date.now() + 20_000;
  while ((await controller.call<ControllerStats>('stats')).sessions > 0 && Date.now() < deadline)
    await sleep(100);
  await sleep(200);
  return controller.call<ControllerStats>('gc');
}

const maxOf = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);

// ------------------------------------------------------------------ the run

async function main(): Promise<void> {
  const started = Date.now();
  const pinned = pinToCpu(process.pid, 1);
  log(
    `${pinned ? 'pinned: process under test → core 0, everything else → core 1' : 'taskset unavailable: not pinned'}`,
  );
  const redis = await startRedis(1);
  ourPids.add(redis.pid);
  const machineAtStart = machineCpu([...ourPids]);
  const prefix = `bench-${randomUUID().slice(0, 8)}:`;
  const seedStore = await createRedisStore({ url: redis.url, prefix });
  const seeded = await seed(seedStore, {
    ringWorkplaces: plan.ringWorkplaces,
    voiceboxWorkplaces: plan.voiceboxWorkplaces,
    apiPortals: API_CONNECTIONS,
    deskWorkplaces: runs('asterisk') ? plan.deskWorkplaces : 0,
  });
  log(`seeded ${plan.ringWorkplaces} ringing + ${plan.voiceboxWorkplaces} voicebox workplaces and a portal`);

  const children: Child[] = [];
  const report = new Report();
  try {
    // --- a real Asterisk: the controller against Asterisk's own Dial() (first, while the
    // simulator processes do not exist yet)
    if (runs('asterisk')) {
      report.asterisk = await runAsteriskSection({
        quick,
        ariAuth: opts['asterisk-plain-auth'] ? 'plain' : 'crypt',
        ...(opts['overload-rate'] ? { overloadRate: Number(opts['overload-rate']) } : {}),
        ...(opts['overload-seconds'] ? { overloadMs: 1000 * Number(opts['overload-seconds']) } : {}),
        redisUrl: redis.url,
        prefix,
        logLevel,
        numbers: seeded.desk.map((d) => d.number),
        log,
        adoptPid: (pid) => ourPids.add(pid),
        async foreign(fn) {
          const a = machineCpu([...ourPids]);
          const t0 = Date.now();
          const value = await fn();
          return { value, foreignPercent: foreignCpuPercent(a, machineCpu([...ourPids]), Date.now() - t0) };
        },
      });
      if (report.asterisk.skipped) log(`asterisk section skipped: ${report.asterisk.skipped}`);
    }
    const needsSimulator = only.some((s) => s !== 'asterisk' && s !== 'api');
    simulator: {
      if (!needsSimulator) break simulator;
      const load = await forkChild('load', 'load-proc.ts', { cpu: 1 });
      children.push(load);
      ourPids.add(load.pid);
      const { url: ariUrl } = await load.call<{ url: string }>('start', {
        ringWorkplaces: plan.ringWorkplaces,
        voiceboxWorkplaces: plan.voiceboxWorkplaces,
      });
      const startController = async (name: string) => {
        const child = await forkChild(name, 'controller-proc.ts', {
          cpu: 0,
          nodeArgs: [
            ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`] : []),
            ...(opts['controller-node-args']?.split(/\s+/).filter(Boolean) ?? []),
          ],
        });
        children.push(child);
        ourPids.add(child.pid);
        const { portal } = await child.call<{ portal: string }>('start', {
          ariUrl,
          redisUrl: redis.url,
          prefix,
          logLevel,
          ariConnections,
          telemetry: opts.telemetry ?? false,
        });
        return { child, portal };
      };
      const first = await startController('controller');
      let controller = first.child;
      const portalState = first.portal;
      const portalReady = portalState === 'loaded';
      log(`controller up (portal flow: ${portalState})`);

      // warm-up: JIT, connection pools, caches
      for (const scenario of [
        'workplace',
        'voicebox',
        ...(portalReady ? ['portal' as const] : []),
      ] as Scenario[])
        await load.call('step', {
          scenario,
          rate: 50,
          durationMs: 1000,
          holdMs: 100,
          drainMs: 3000,
        } satisfies StepArgs);

      // --- Redis round trips per decision / set-up, one call at a time
      if (runs('roundtrips')) {
        const rt: Record<string, Record<CacheMode, RoundTripSet>> = {};
        for (const scenario of [
          'workplace',
          'voicebox',
          ...(portalReady ? ['portal' as const] : []),
        ] as Scenario[]) {
          const sets = {} as Record<CacheMode, RoundTripSet>;
          for (const mode of CACHE_MODES)
            sets[mode] = await probeRoundTrips(load, controller, scenario, seeded, mode);
          rt[scenario] = sets;
          log(
            `round trips per decision, ${scenario}: ${CACHE_MODES.map((m) => `${m} ${sets[m].decision.join(',')}`).join('; ')}`,
          );
        }
        report.roundTrips = rt;
      }

      // --- throughput ramps (latency at 100 and 300 calls/s comes from those steps)
      if (runs('workplace'))
        report.ramps.workplace = await ramp(load, controller, 'workplace', plan.ramps.workplace);
      if (runs('voicebox'))
        report.ramps.voicebox = await ramp(load, controller, 'voicebox', plan.ramps.voicebox);
      if (!runs('portal')) report.portalState = 'skipped (--only)';
      else if (portalReady) report.ramps.portal = await ramp(load, controller, 'portal', plan.ramps.portal);
      else report.notes.push(`portal scenario not measured: ${portalState}`);
      if (runs('portal')) report.portalState = portalReady ? '' : portalState;

      // --- memory with N concurrent established calls
      // memory and soak in a fresh controller process: the ramps above leave a grown heap and
      // allocator state behind that would blur a per-call figure
      if (runs('memory') || runs('soak')) {
        await controller.call('stop');
        await controller.stop();
        controller = (await startController('controller-2')).child;
      }

      if (runs('memory')) {
        // the held calls go to MEMORY_SPREAD workplaces, all cached by this warm-up: the figure is
        // per call, not per cached workplace (the config cache is bounded and per workplace)
        await load.call<StepResult>('step', {
          scenario: 'workplace',
          rate: 100,
          durationMs: (MEMORY_SPREAD / 100) * 1000,
          holdMs: 100,
          drainMs: 5000,
          spread: MEMORY_SPREAD,
        } satisfies StepArgs);
        const base = await quiescent(controller);
        report.memory.baseline = base;
        let established = 0;
        for (const n of plan.memory) {
          const r = await load.call<StepResult>(
            'step',
            {
              scenario: 'workplace',
              rate: MEMORY_RATE,
              durationMs: ((n - established) / MEMORY_RATE) * 1000,
              holdMs: Infinity,
              drainMs: 10_000,
              spread: MEMORY_SPREAD,
            },
            300_000,
          );
          established += r.setUp;
          await sleep(500);
          const s = await controller.call<ControllerStats>('gc');
          report.memory.points.push({ calls: established, wanted: n, stats: s });
          log(
            `memory: ${established} established calls, RSS ${fmt(s.rss / 2 ** 20)} MiB, heap ${fmt(s.heapUsed / 2 ** 20)} MiB, sessions ${s.sessions}`,
          );
        }
        const released = await load.call<{ released: number; leftoverChannels: number }>(
          'releaseAll',
          { drainMs: 20_000 },
          60_000,
        );
        report.memory.afterRelease = await quiescent(controller);
        log(`released ${released.released} calls (${released.leftoverChannels} channels left)`);
        if (released.leftoverChannels > 0)
          log(`still alive: ${JSON.stringify(await load.call('aliveSummary'))}`);
      }

      // --- soak: steady load, memory sampled; growth judged after the calls are gone
      if (runs('soak')) {
        // every workplace called once first, so a filling config cache does not count as growth
        await load.call<StepResult>(
          'step',
          {
            scenario: 'workplace',
            rate: plan.soakRate,
            durationMs: (plan.ringWorkplaces / plan.soakRate) * 1000,
            holdMs: 200,
            drainMs: 5000,
          } satisfies StepArgs,
          120_000,
        );
        const soakStart = await quiescent(controller);
        if (opts['heap-snapshots'])
          log(
            `heap snapshot: ${await controller.call('heapSnapshot', { dir: opts['heap-snapshots'], label: 'soak-start' }, 120_000)}`,
          );
        const samples: Array<{ t: number; rss: number; heapUsed: number; sessions: number }> = [];
        const soakHold = quick ? 500 : 5000;
        const soakRun = rampStep(load, controller, {
          scenario: 'workplace',
          rate: plan.soakRate,
          durationMs: soakSeconds * 1000,
          holdMs: soakHold,
          drainMs: 5000,
        });
        const t0 = Date.now();
        let soakDone = false;
        void soakRun.finally(() => (soakDone = true));
        while (!soakDone) {
          await Promise.race([soakRun.catch(() => {}), sleep(quick ? 1000 : 10_000)]);
          if (soakDone) break;
          const s = await controller.call<ControllerStats>('stats');
          samples.push({
            t: (Date.now() - t0) / 1000,
            rss: s.rss,
            heapUsed: s.heapUsed,
            sessions: s.sessions,
          });
        }
        const soakResult = await soakRun;
        const soakEnd = await quiescent(controller);
        if (opts['heap-snapshots'])
          log(
            `heap snapshot: ${await controller.call('heapSnapshot', { dir: opts['heap-snapshots'], label: 'soak-end' }, 120_000)}`,
          );
        report.soak = {
          seconds: soakSeconds,
          rate: plan.soakRate,
          holdMs: soakHold,
          start: soakStart,
          end: soakEnd,
          samples,
          result: soakResult,
        };
        log(
          `soak ${soakSeconds}s: heap ${fmt(soakStart.heapUsed / 2 ** 20)} → ${fmt(soakEnd.heapUsed / 2 ** 20)} MiB after the calls ended`,
        );
      }

      await controller.call('stop');
      await controller.stop();

      // --- ours vs ari-client: answer + hangup
      if (runs('compare')) {
        // both apps run side by side and take turns at every offered rate, in alternating order,
        // so neither always meets the simulator first at a new rate
        const clients = ['ours', 'ari-client'] as const;
        const apps = new Map<(typeof clients)[number], Child>();
        for (const client of clients) {
          const app = await forkChild(`answer-${client}`, 'answer-app.ts', {
            cpu: 0,
            args: ['--client', client],
          });
          children.push(app);
          ourPids.add(app.pid);
          await app.call('start', { ariUrl, app: `answer-${client}`, ariConnections });
          apps.set(client, app);
          await load.call('step', {
            scenario: 'answer',
            rate: 100,
            durationMs: 1000,
            holdMs: 0,
            drainMs: 2000,
            app: `answer-${client}`,
          } satisfies StepArgs);
          report.answer[client] = [];
        }
        // majority of repeated steps per rate (bench/verdict.ts): one noisy 4 s step decides nothing
        const verdicts = await majorityRamps<(typeof clients)[number], RampStep>({
          contenders: clients,
          rates: plan.ramps.answer,
          run: (client, rate) => rampStep(load, apps.get(client)!, answerStepArgs(rate, `answer-${client}`)),
          log,
        });
        for (const client of clients) {
          report.answerVerdicts[client] = verdicts[client];
          report.answer[client] = verdicts[client].flatMap((v) => v.runs);
        }
        for (const app of apps.values()) {
          await app.call('stop');
          await app.stop();
        }
      }
      await load.call('stop');
      await load.stop();
    }

    // --- API
    if (runs('api')) {
      const api = await forkChild('api', 'api-proc.ts', { cpu: 0 });
      children.push(api);
      ourPids.add(api.pid);
      const { url: apiUrl } = await api.call<{ url: string }>('start', {
        redisUrl: redis.url,
        prefix,
        logLevel,
      });
      const auth = { authorization: `Bearer ${seeded.adminToken}` };
      const wp = seeded.ring[0]!;
      report.api.read = await cannon({
        url: `${apiUrl}/v1/companies/${seeded.companyId}/workplaces/${wp.id}`,
        headers: auth,
      });
      log(`API read: ${fmt(report.api.read.rps, 0)} req/s, p99 ${report.api.read.p99} ms`);
      // every connection toggles its own portal: admins change different portals, and two
      // concurrent writes of ONE portal are refused with 409 by design (optimistic concurrency)
      report.api.toggle = await cannon({
        url: apiUrl,
        headers: { ...auth, 'content-type': 'application/json' },
        perConnection: seeded.apiPortalIds.map((pid) => {
          const path = `/v1/companies/${seeded.companyId}/anywhere-portals/${pid}`;
          return [true, false].map((silentMode) => ({
            method: 'PATCH' as const,
            path,
            body: JSON.stringify({ silentMode }),
          }));
        }),
      });
      log(`API toggle: ${fmt(report.api.toggle.rps, 0)} req/s, p99 ${report.api.toggle.p99} ms`);
      await api.call('stop');
      await api.stop();
    }
  } finally {
    for (const c of children) await c.stop().catch(() => {});
    await seedStore.close().catch(() => {});
    await redis.stop();
  }
  report.wallSeconds = (Date.now() - started) / 1000;
  report.foreignCpuPercent = foreignCpuPercent(
    machineAtStart,
    machineCpu([...ourPids]),
    Date.now() - started,
  );
  const md = report.render();
  writeFileSync(outFile, md);
  process.stdout.write(report.table() + '\n');
  log(`done in ${fmt(report.wallSeconds, 0)} s; report written to ${outFile}`);
}

interface CannonResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  /** non-2xx answers by status code */
  statuses: Record<string, number>;
  errors: number;
}

async function cannon(o: {
  url: string;
  headers: Record<string, string>;
  /** request cycles, one per connection */
  perConnection?: Array<Array<{ method: 'PATCH'; path: string; body: string }>>;
}): Promise<CannonResult> {
  let next = 0;
  const cycles = o.perConnection;
  const result = await autocannon({
    url: o.url,
    headers: o.headers,
    connections: API_CONNECTIONS,
    duration: plan.apiSeconds,
    ...(cycles
      ? {
          requests: cycles[0],
          setupClient: (client: autocannon.Client) => client.setRequests(cycles[next++ % cycles.length]!),
        }
      : {}),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {})
        .filter(([code]) => !code.startsWith('2'))
        .map(([code, v]) => [code, v.count ?? 0]),
    ),
    errors: result.errors,
  };
}

// ------------------------------------------------------------------ report

class Report {
  ramps: Partial<Record<'workplace' | 'voicebox' | 'portal', RampStep[]>> = {};
  answer: Partial<Record<'ours' | 'ari-client', RampStep[]>> = {};
  answerVerdicts: Partial<Record<'ours' | 'ari-client', Array<RateVerdict<RampStep>>>> = {};
  roundTrips: Record<string, Record<CacheMode, RoundTripSet>> = {};
  memory: {
    baseline?: ControllerStats;
    points: Array<{ calls: number; wanted: number; stats: ControllerStats }>;
    afterRelease?: ControllerStats;
  } = { points: [] };
  soak?: {
    seconds: number;
    rate: number;
    holdMs: number;
    start: ControllerStats;
    end: ControllerStats;
    samples: Array<{ t: number; rss: number; heapUsed: number; sessions: number }>;
    result: RampStep;
  };
  api: { read?: CannonResult; toggle?: CannonResult } = {};
  asterisk?: AsteriskReport;
  notes: string[] = [];
  portalState = '';
  wallSeconds = 0;
  foreignCpuPercent = NaN;

  private atRate(steps: RampStep[] | undefined, rate: number): RampStep | undefined {
    return steps?.find((s) => s.rate === rate);
  }

  private latencyCell(steps: RampStep[] | undefined, rate: number): string {
    const s = this.atRate(steps, rate);
    if (!s) return steps ? `not reached (ramp stopped below ${rate}/s)` : 'not measured';
    const d: Percentiles = s.decision;
    return `${fmt(d.p50)} / ${fmt(d.p95)} / ${fmt(d.p99)} ms`;
  }

  private sustainedCell(steps: RampStep[] | undefined, why: string): string {
    if (!steps) return `not measured: ${why}`;
    const last = lastSustained(steps);
    const failed = steps.find((s) => (s.rateSustained === undefined ? !s.sustained : !s.rateSustained));
    const top = steps[steps.length - 1];
    const bound = failed
      ? `; behind at ${failed.rate}/s (${failed.why})`
      : `; ramp ended at ${top?.rate}/s without falling behind (more load not offered)`;
    // where the controller's CPU would reach one full core: a straight line through CPU% over
    // the offered rate of every step (fixed idle costs make CPU per call fall with load, so
    // the slope is the marginal cost per call). An estimate, labelled as such.
    const fit = linearFit(steps.map((st) => [st.rate, st.controllerCpuPercent]));
    const cpuBound =
      fit && fit.slope > 0
        ? `; controller CPU ${steps.map((st) => `${fmt(st.controllerCpuPercent, 0)}%`).join(' → ')} over the steps: ~${fmt((100 - fit.intercept) / fit.slope, 0)}/s at one full core (linear extrapolation, not measured)`
        : '';
    return `${last ? `${fmt(last.setupRate, 0)}/s (offered ${last.rate}/s)` : 'none sustained'}${bound}${cpuBound}`;
  }

  rows(): Array<[string, string, string, string]> {
    const wp = this.ramps.workplace;
    const wpLast = wp && lastSustained(wp);
    const wp100 = this.atRate(wp, 100);
    const perCall = this.memory.points.map((p) => {
      const base = this.memory.baseline!;
      return {
        calls: p.calls,
        rss: (p.stats.rss - base.rss) / p.calls / 1024,
        heap: (p.stats.heapUsed - base.heapUsed) / p.calls / 1024,
      };
    });
    const rtOf = (mode: CacheMode) => Object.values(this.roundTrips).flatMap((r) => r[mode].decision);
    const rtCold = rtOf('cold');
    const rtFirst = rtOf('first');
    const rtWarm = rtOf('warm');
    const read = this.api.read;
    const portalWhy = this.portalState || 'portal flow not available';
    const met = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');
    const soakGrowth = this.soak ? (this.soak.end.heapUsed - this.soak.start.heapUsed) / 2 ** 20 : NaN;
    return [
      [
        'Workplace call setups/s (2 devices + 2 parallel numbers, answered)',
        '≥ 300/s',
        this.sustainedCell(wp, ''),
        met(wpLast ? wpLast.setupRate >= 300 : false),
      ],
      [
        'Portal call setups/s (caller-ID + PIN + *11 pull)',
        '–',
        this.sustainedCell(this.ramps.portal, portalWhy),
        '–',
      ],
      [
        'Voicebox call setups/s (greeting, beep, recording)',
        '–',
        this.sustainedCell(this.ramps.voicebox, ''),
        '–',
      ],
      [
        'Decision latency p50/p95/p99 @ 100 calls/s (workplace)',
        'p99 ≤ 10 ms',
        this.latencyCell(wp, 100),
        met(wp100 ? wp100.decision.p99 <= 10 : undefined),
      ],
      ['Decision latency p50/p95/p99 @ 300 calls/s (workplace)', '–', this.latencyCell(wp, 300), '–'],
      [
        'Decision latency p50/p95/p99 @ 100 / 300 calls/s (voicebox)',
        '–',
        `${this.latencyCell(this.ramps.voicebox, 100)}; ${this.latencyCell(this.ramps.voicebox, 300)}`,
        '–',
      ],
      [
        'Decision latency p50/p95/p99 @ 100 calls/s (portal)',
        '–',
        this.ramps.portal ? this.latencyCell(this.ramps.portal, 100) : `not measured: ${portalWhy}`,
        '–',
      ],
      ...perCall.map((p): [string, string, string, string] => [
        `RSS per established call @ ${p.calls} calls`,
        '≤ 20 KiB',
        `${fmt(p.rss)} KiB (heap ${fmt(p.heap)} KiB)`,
        met(p.rss <= 20),
      ]),
      [
        'Soak: heap after the calls ended, start → end',
        'no growth',
        this.soak
          ? `${fmt(this.soak.start.heapUsed / 2 ** 20)} → ${fmt(this.soak.end.heapUsed / 2 ** 20)} MiB (${soakGrowth >= 0 ? '+' : ''}${fmt(soakGrowth, 2)} MiB) over ${this.soak.seconds} s at ${this.soak.rate}/s`
          : 'not run',
        this.soak ? met(soakGrowth < 2) : 'n/a',
      ],
      [
        'Redis round trips per call decision: cold / first call to a number / warm (max, all scenarios)',
        '≤ 2',
        `${fmt(maxOf(rtCold), 0)} / ${fmt(maxOf(rtFirst), 0)} / ${fmt(maxOf(rtWarm), 0)} (${rtCold.length + rtFirst.length + rtWarm.length} calls)`,
        rtCold.length
          ? maxOf(rtCold) <= 2
            ? 'met'
            : maxOf(rtFirst) <= 2
              ? 'met except fully cold'
              : 'MISSED'
          : 'n/a',
      ],
      [
        'Redis round trips per workplace call set-up under load (incl. live-call registry)',
        '–',
        wpLast ? fmt(wpLast.roundTripsPerSetup, 2) : '–',
        '–',
      ],
      [
        'API: read a workplace',
        '≥ 5,000 req/s',
        read ? `${fmt(read.rps, 0)} req/s, p99 ${read.p99} ms (${read.non2xx} non-2xx)` : 'not run',
        met(read ? read.rps >= 5000 : undefined),
      ],
      [
        'API: toggle a portal setting (PATCH)',
        '–',
        this.api.toggle
          ? `${fmt(this.api.toggle.rps, 0)} req/s, p99 ${this.api.toggle.p99} ms (${this.api.toggle.non2xx} non-2xx)`
          : 'not run',
        '–',
      ],
      ...this.answerRows(),
      ...asteriskRows(this.asterisk),
      ['Whole run', '< 6 min', `${fmt(this.wallSeconds / 60, 1)} min`, met(this.wallSeconds < 360)],
      [
        'Other processes on this machine during the run (noise)',
        '0%',
        `${fmt(this.foreignCpuPercent, 0)}% of one core on average (of 200%)`,
        this.foreignCpuPercent > 10 ? 'numbers disturbed' : 'quiet',
      ],
    ];
  }

  /**
   * Ours vs ari-client: the highest sustained rate, and at the highest rate BOTH sustained the
   * p99 and the CPU per call (the fair comparison at equal load).
   */
  private answerRows(): Array<[string, string, string, string]> {
    const ours = this.answerVerdicts.ours;
    const theirs = this.answerVerdicts['ari-client'];
    if (!ours || !theirs) return [['Answer+hangup app: ours vs npm ari-client', '–', 'not run', 'n/a']];
    // the sustained rate: the highest rate the majority of its runs held (confirmed, ≥ 2 runs)
    const oTop = topConfirmed(ours);
    const tTop = topConfirmed(theirs);
    // at equal load: the highest rate both held, the median run of each by p99
    const common = [...ours]
      .reverse()
      .find((o) => o.sustained && theirs.some((t) => t.rate === o.rate && t.sustained));
    const at = (vs: Array<RateVerdict<RampStep>>) =>
      common
        ? medianRun(
            vs.find((v) => v.rate === common.rate),
            (s) => s.decision.p99,
          )
        : undefined;
    const cpuPerCallMs = (s: RampStep | undefined) => s?.cpuMsPerSetup ?? NaN;
    const cell = (vs: Array<RateVerdict<RampStep>>, top: RateVerdict<RampStep> | undefined) => {
      const same = at(vs);
      const runs = vs.reduce((n, v) => n + v.runs.length, 0);
      return `${top ? `${top.rate} calls/s sustained (${top.runs.filter((r) => r.sustained).length} of ${top.runs.length} runs)` : 'none sustained'}${same ? `; at ${same.rate}/s: p99 ${fmt(same.decision.p99)} ms, ${fmt(cpuPerCallMs(same) * 1000, 0)} µs CPU per call` : ''}; ${runs} steps`;
    };
    const o = at(ours);
    const t = at(theirs);
    const missed: string[] = [];
    if ((oTop?.rate ?? 0) < (tTop?.rate ?? 0)) missed.push('throughput');
    if (o && t && o.decision.p99 > t.decision.p99) missed.push('p99');
    if (o && t && cpuPerCallMs(o) > cpuPerCallMs(t)) missed.push('CPU per call');
    return [
      [
        'Answer+hangup app: our ARI client',
        '≥ ari-client',
        cell(ours, oTop),
        missed.length ? `MISSED (${missed.join(', ')})` : 'met',
      ],
      ['Answer+hangup app: npm ari-client', '–', cell(theirs, tTop), '–'],
    ];
  }

  table(): string {
    const rows = this.rows();
    const head: [string, string, string, string] = ['Measure', 'Target', 'Measured', 'Target met?'];
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    return [head, ['---', '---', '---', '---'], ...rows]
      .map((r) => `| ${r.map(esc).join(' | ')} |`)
      .join('\n');
  }

  private rampTable(steps: RampStep[] | undefined): string {
    if (!steps) return '_not measured_\n';
    const lines = [
      '| offered/s | placed | set up | set-ups/s | decision p50/p95/p99 ms | in-process decision p50/p99 ms | set-up p50/p99 ms | CPU measured / load / other processes | measured CPU per call ms | REST req / events per call | REST latency p50/p99 ms (measured side) | event-loop delay p99 measured / load ms | max GC pause measured ms | Redis RT/set-up | verdict |',
      '| ---: | ---: | ---: | ---: | --- | --- | --- | --- | ---: | --- | --- | --- | ---: | ---: | --- |',
    ];
    for (const s of steps)
      lines.push(
        `| ${s.rate} | ${s.placed} | ${s.setUp} | ${fmt(s.setupRate, 0)} | ${fmt(s.decision.p50)} / ${fmt(s.decision.p95)} / ${fmt(s.decision.p99)} | ${s.measured?.internalDecision.count ? `${fmt(s.measured.internalDecision.p50)} / ${fmt(s.measured.internalDecision.p99)}` : '–'} | ${fmt(s.setup.p50)} / ${fmt(s.setup.p99)} | ${fmt(s.controllerCpuPercent, 0)}% / ${fmt(s.loadCpuPercent, 0)}% / ${fmt(s.foreignCpuPercent, 0)}% | ${fmt(s.cpuMsPerSetup, 2)} | ${fmt(s.restPerSetup, 1)} / ${fmt(s.eventsPerSetup, 1)} | ${s.measured?.rest.count ? `${fmt(s.measured.rest.p50)} / ${fmt(s.measured.rest.p99)}` : '–'} | ${fmt(s.measured?.loopP99Ms ?? NaN)} / ${fmt(s.loadProcess.loopP99Ms)} | ${fmt(s.measured?.gcPauseMaxMs ?? NaN)} | ${fmt(s.roundTripsPerSetup, 2)} | ${s.sustained ? 'sustained' : `behind: ${s.why}`}${s.repeated ? ' (repeated: first attempt disturbed)' : ''} |`,
      );
    const first = steps[0]?.firstCommands ?? {};
    lines.push(
      '',
      `First command seen for these calls: ${
        Object.entries(first)
          .map(([k, v]) => `\`${k}\` ×${v}`)
          .join(', ') || '–'
      }`,
    );
    return lines.join('\n') + '\n';
  }

  render(): string {
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const m = this.memory;
    const rt = Object.entries(this.roundTrips)
      .map(
        ([k, v]) =>
          `| ${k} | ${CACHE_MODES.map((mode) => v[mode].decision.join(', ') || '–').join(' | ')} | ${CACHE_MODES.map((mode) => v[mode].bridged.join(', ') || '–').join(' | ')} |`,
      )
      .join('\n');
    return `# Benchmark results

Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${cpus().length} × ${cpu}, Node ${process.version}${quick ? ' — **--quick run: tiny loads, numbers not meaningful**' : ''}.

${this.table()}

## How it is measured

- **Processes.** The controller (real \`startCallController\`, real ARI client, Redis store, ${opts.telemetry ? 'events + call records + metrics wired (--telemetry), ' : ''}\`LOG_LEVEL=${logLevel}\` to /dev/null) runs alone, pinned to core 0 (\`taskset\`).
  The ARI simulator with the scenario driver (bench/load-proc.ts), redis-server and this orchestrator share core 1. Everything is loopback.
- **Calls.** Workplace: an outside caller dials a workplace number; the controller rings 2 devices + 2 parallel numbers, the first device answers after 20 ms,
  the others are let go, caller and device are bridged and the call is registered for \`*11\`; the caller hangs up after ${HOLD_MS.workplace} ms.
  Voicebox: forward-always-to-voicebox workplace; greeting (every prompt lasts 20 ms in the simulator), beep, recording; the caller hangs up ${HOLD_MS.voicebox} ms into the recording (the message is kept and stored).
  Portal: the workplace's desk call is set up first, then its employee's mobile calls the portal, enters the PIN at the first prompt and \`*11\` at the second; set up = the mobile is bridged with the remote party (desk calls are load but not counted as set-ups).
- **Decision latency** = the simulator sending \`StasisStart\` → the simulator receiving the first REST command naming that channel (see the first-command line under each ramp).
  Timestamps come from wrapping the simulator's BoundedLog.push inside the load process (the simulator itself is unchanged).
- **Falling behind.** Offered rates rise in ${plan.stepMs / 1000} s steps; a step is sustained when ≥ ${SUSTAINED.minCompletion * 100}% of the calls are set up, decision p99 ≤ ${SUSTAINED.maxDecisionP99Ms} ms
  and the set-up rate reaches ${SUSTAINED.minRateShare * 100}% of the offered rate. The table reports the last sustained step. When the *load* CPU column nears 100%, the
  simulator, not the controller, is the limit — read the controller CPU column before concluding.
- **Memory.** A fresh controller process; ${MEMORY_SPREAD} workplaces called once (warm cache), then calls are established at ${MEMORY_RATE}/s to them and held;
  RSS/heap after \`gc()\` minus the idle baseline, divided by the number of calls. The soak's growth is judged between two quiescent points (no call left, after \`gc()\`).
- **Per-step columns.** CPU of the measured process over the whole step including the calls' teardown, and per set-up call; REST requests and events per call
  (the ARI client's counters); REST latency as the measured process sees it (issued → answered: pool wait + wire + simulator).
- **Ours vs ari-client.** Both answer+hangup apps run side by side (own Stasis apps, both on core 0) and take turns at every offered rate, in alternating order.
- **Round trips** are the store's own counter (\`store.roundTrips()\`), read when the controller receives StasisStart and when it sends its first command (and its bridge),
  one call at a time. *cold* drops every cached entry (number index, workplaces, portal, group, company, blocking profiles) before each call, as after a restart;
  *first call* drops only the called number/workplace/portal (the company's group, company and blocking profiles stay cached — the common first call to one of many workplaces);
  *warm* drops nothing. Decision = StasisStart → first command; bridge = StasisStart → the caller is added to the bridge. Concurrent lookups (e.g. group and company) count one each.

## Ramps

### Workplace calls
${this.rampTable(this.ramps.workplace)}
### Voicebox calls
${this.rampTable(this.ramps.voicebox)}
### Portal calls
${this.ramps.portal ? this.rampTable(this.ramps.portal) : `_not measured: ${this.portalState}_\n`}
### Answer + hangup: our ARI client
${this.rampTable(this.answer.ours)}
### Answer + hangup: npm ari-client
${this.rampTable(this.answer['ari-client'])}
${asteriskMarkdown(this.asterisk)}
## Redis round trips (one call at a time)

| scenario | decision, cold | decision, first call | decision, warm | → bridge, cold | → bridge, first call | → bridge, warm |
| --- | --- | --- | --- | --- | --- | --- |
${rt}

## Memory

| established calls | RSS | heap used | sessions |
| ---: | ---: | ---: | ---: |
| 0 (baseline) | ${fmt((m.baseline?.rss ?? NaN) / 2 ** 20)} MiB | ${fmt((m.baseline?.heapUsed ?? NaN) / 2 ** 20)} MiB | ${m.baseline?.sessions ?? '–'} |
${m.points.map((p) => `| ${p.calls} | ${fmt(p.stats.rss / 2 ** 20)} MiB | ${fmt(p.stats.heapUsed / 2 ** 20)} MiB | ${p.stats.sessions} |`).join('\n')}
| 0 (all released) | ${fmt((m.afterRelease?.rss ?? NaN) / 2 ** 20)} MiB | ${fmt((m.afterRelease?.heapUsed ?? NaN) / 2 ** 20)} MiB | ${m.afterRelease?.sessions ?? '–'} |

Soak (${this.soak?.seconds ?? 0} s${this.soak && this.soak.seconds < 600 ? '; the default run keeps it short — `npm run bench -- --soak 600` for the 10-minute soak' : ''}): ${this.soak ? `${this.soak.rate} calls/s held ${this.soak.holdMs} ms; ${this.soak.result.setUp}/${this.soak.result.placed} set up, decision p99 ${fmt(this.soak.result.decision.p99)} ms, set-up p99 ${fmt(this.soak.result.setup.p99)} ms, controller CPU ${fmt(this.soak.result.controllerCpuPercent, 0)}%, other processes ${fmt(this.soak.result.foreignCpuPercent, 0)}% of a core` : 'not run'}.

| t (s) | RSS MiB | heap MiB | sessions |
| ---: | ---: | ---: | ---: |
${(this.soak?.samples ?? []).map((s) => `| ${fmt(s.t, 0)} | ${fmt(s.rss / 2 ** 20)} | ${fmt(s.heapUsed / 2 ** 20)} | ${s.sessions} |`).join('\n')}

## API (autocannon, 32 connections, ${plan.apiSeconds} s each, company admin token, Redis store)

| request | req/s | p50 ms | p99 ms | requests | non-2xx | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${(['read', 'toggle'] as const)
  .map((k) => {
    const r = this.api[k];
    const name = k === 'read' ? 'GET a workplace' : 'PATCH portal silentMode (alternating)';
    return r
      ? `| ${name} | ${fmt(r.rps, 0)} | ${r.p50} | ${r.p99} | ${r.requests} | ${r.non2xx}${r.non2xx ? ` ${JSON.stringify(r.statuses)}` : ''} | ${r.errors} |`
      : `| ${name} | not run |||||`;
  })
  .join('\n')}

${this.notes.length ? `## Notes\n\n${this.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
