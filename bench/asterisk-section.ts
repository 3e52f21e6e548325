/**
 * `npm run bench -- --only asterisk`: what a workplace call costs a REAL Asterisk (22.10.1,
 * tools/asterisk/local.ts, the project's own configuration), measured side by side against the
 * same call done by Asterisk's own Dial() on the same Asterisk in the same run.
 *
 * The call: caller → workplace with one desk phone and one parallel number; the desk answers at
 * once, the mobile rings until cancelled; the caller hangs up 300 ms after it was answered.
 * All over Local channels (bench/asterisk/extensions-bench.conf); the callers are originated by
 * bench/asterisk-world.ts (core 1), the controller (bench/controller-proc.ts) runs on core 0,
 * Asterisk on both cores (it needs more than one).
 *
 * Per step: calls set up, set-up latency (originate issued → caller answered), Asterisk CPU per
 * call (/proc/<pid>/stat utime+stime over the step incl. the calls' teardown), the
 * controller's REST requests and events per call (its ARI client's counters), channels left in
 * Asterisk after the step. Sustained rates by majority (bench/verdict.ts). Then an overload
 * step at twice the controller's sustained rate (issue 12's admission control): achieved
 * rate, admitted p99, refusals and how fast they come, channels left after the load.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { findAsteriskBinary, startLocalAsterisk, type LocalAsterisk } from '../tools/asterisk/local.js';
import { benchDir, forkChild, sleep, type Child, type Percentiles } from './common.js';
import type { WorldStepArgs, WorldStepResult } from './asterisk-world.js';
import { majorityRamps, medianRun, topConfirmed, type RateVerdict } from './verdict.js';

export type AstMode = 'dial' | 'controller';
export const AST_MODES: readonly AstMode[] = ['dial', 'controller'];
const CONTEXT: Record<AstMode, string> = { dial: 'bench-dial', controller: 'e2e-trunk' };
const CONTROLLER_APP = 'e2epbx';
const WORLD_APP = 'benchworld';
/** how long the overload step offers calls */
const OVERLOAD_MS = 10_000;
/** a ramp step's rate rises from the step below's over this long */
const RAMP_IN_MS = 1000;
const HOLD_MS = 300;

/** A step is sustained when all of these hold. */
export const AST_SUSTAINED = {
  minCompletion: 0.99,
  minRateShare: 0.95,
  /** caller dials → caller answered; issue 12's bound for admitted calls under overload */
  maxSetupP99Ms: 200,
};

export interface AstStep extends WorldStepResult {
  mode: AstMode;
  asteriskCpuPercent: number;
  asteriskCpuMsPerCall: number;
  controllerCpuPercent: number;
  restPerCall: number;
  eventsPerCall: number;
  /** channels in Asterisk once the step's calls should all be over (after a settle wait) */
  leftoverChannels: number;
  foreignNote?: string;
  sustained: boolean;
  why: string;
}

export interface AstOverload {
  mode: AstMode;
  step: AstStep;
  /** channels right after the drain, and after waiting up to 15 s more */
  channelsAfterDrain: number;
  channelsAfterSettle: number;
  /** calls the controller itself refused (cause 34 after StasisStart) during the step */
  controllerRefused?: number;
  /** calls the dialplan gate refused (refused in all minus refused by the controller) */
  shedByDialplan?: number;
  /** … and what the controller estimated of them (pbx_trunk_calls_shed_estimated_total) */
  shedEstimated?: number;
}

export interface AsteriskReport {
  skipped?: string;
  version?: string;
  /** Asterisk CPU per authenticated REST request (GET /asterisk/ping, 200 of them) */
  asteriskMsPerRequest?: number;
  ramps?: Record<AstMode, Array<RateVerdict<AstStep>>>;
  overload?: AstOverload[];
  wallSeconds?: number;
  notes: string[];
}

export interface AsteriskSectionEnv {
  quick: boolean;
  /**
   * 'crypt' (default): the ARI user exactly as asterisk/docker-entrypoint.sh renders it, a
   * SHA-512 crypt hash that Asterisk checks on EVERY REST request (~1.8 ms of Asterisk CPU
   * each on this machine). 'plain': the experiment of storing it in plain text.
   */
  ariAuth?: 'crypt' | 'plain';
  /** only the overload step, at this rate, after the controller alone carried 100, 150, … up to half of it: `--overload-rate 400` */
  overloadRate?: number;
  /** how long the overload step offers calls (ms; default OVERLOAD_MS, a ramp step's with --quick) */
  overloadMs?: number;
  redisUrl: string;
  prefix: string;
  logLevel: string;
  /** called numbers of the seeded desk workplaces */
  numbers: string[];
  log: (msg: string) => void;
  /** registers a process of ours (its CPU is not noise) */
  adoptPid: (pid: number) => void;
  /** CPU used by other processes (% of one core) during fn */
  foreign: <T>(fn: () => Promise<T>) => Promise<{ value: T; foreignPercent: number }>;
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

/** utime + stime of a process in ms (all its threads) */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

function judge(s: Omit<AstStep, 'sustained' | 'why'>): { sustained: boolean; why: string } {
  const problems: string[] = [];
  const completion = s.placed ? s.setUp / s.placed : 0;
  if (s.placeErrors) problems.push(`${s.placeErrors} calls could not be placed`);
  if (completion < AST_SUSTAINED.minCompletion) problems.push(`only ${fmt(completion * 100)}% set up`);
  if (!(s.setup.p99 <= AST_SUSTAINED.maxSetupP99Ms)) problems.push(`set-up p99 ${fmt(s.setup.p99)} ms`);
  // (against what was offered: a step's ramp-in offers less than its rate)
  if (s.setupRate < AST_SUSTAINED.minRateShare * s.offeredRate)
    problems.push(`${fmt(s.setupRate, 0)} set-ups/s`);
  if (s.leftoverChannels > 0) problems.push(`${s.leftoverChannels} channels left`);
  return { sustained: problems.length === 0, why: problems.join(', ') };
}

export async function runAsteriskSection(env: AsteriskSectionEnv): Promise<AsteriskReport> {
  const started = Date.now();
  const bin = findAsteriskBinary();
  if (!bin)
    return {
      skipped: 'no Asterisk binary (set ASTERISK_BIN, or build /opt/asterisk-22.10.1)',
      notes: [],
    };
  const report: AsteriskReport = { notes: [] };
  let ast: LocalAsterisk | undefined;
  const children: Child[] = [];
  try {
    ast = await startLocalAsterisk({ bin, e2e: true });
    // the orchestrator is pinned to core 1 and its children inherit that: Asterisk gets every core
    spawnSync('taskset', ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(ast.pid)], { stdio: 'ignore' });
    // the bench world's contexts, only in this throwaway Asterisk
    copyFileSync(
      join(benchDir, 'asterisk', 'extensions-bench.conf'),
      join(ast.dir, 'etc', 'extensions-bench.conf'),
    );
    const extConf = join(ast.dir, 'etc', 'extensions.conf');
    writeFileSync(extConf, readFileSync(extConf, 'utf8') + '\n#include extensions-bench.conf\n');
    // the project's modules.conf loads only what the controller needs: the reference needs Dial()
    ast.cli('module load app_dial.so');
    if (env.ariAuth === 'plain') {
      writeFileSync(
        join(ast.dir, 'etc', 'generated', 'ari_users.conf'),
        `[${ast.username}]\ntype = user\nread_only = no\npassword_format = plain\npassword = ${ast.password}\n`,
      );
      ast.cli('module reload res_ari.so');
      report.notes.push(
        'ARI user with password_format = plain (--asterisk-plain-auth experiment), not the production crypt hash',
      );
    }
    ast.cli('dialplan reload');
    await sleep(300);
    if (!/bench-dial/.test(ast.cli('dialplan show bench-dial')))
      throw new Error('the bench dialplan (bench/asterisk/extensions-bench.conf) did not load');
    env.adoptPid(ast.pid);
    report.version = ast.cli('core show version').trim().split('\n')[0];
    env.log(`asterisk: ${report.version} (pid ${ast.pid}, ${ast.url})`);

    const world = await forkChild('ast-world', 'asterisk-world.ts', { cpu: 1 });
    children.push(world);
    env.adoptPid(world.pid);
    await world.call('start', {
      url: ast.url,
      username: ast.username,
      password: ast.password,
      app: WORLD_APP,
    });
    const controller = await forkChild('ast-controller', 'controller-proc.ts', { cpu: 0 });
    children.push(controller);
    env.adoptPid(controller.pid);
    await controller.call('start', {
      ariUrl: ast.url,
      ariUsername: ast.username,
      ariPassword: ast.password,
      ariApp: CONTROLLER_APP,
      dialDevice: 'Local/{endpoint}@bench-devices',
      dialExternal: 'Local/{number}@bench-pstn',
      redisUrl: env.redisUrl,
      prefix: env.prefix,
      logLevel: env.logLevel,
    });

    // what one authenticated REST request costs Asterisk (the ARI user's password check
    // runs on every request): the price of each request a call makes
    {
      const c0 = procCpuMs(ast.pid);
      const n = await world.call<number>('ping', { n: 200 });
      report.asteriskMsPerRequest = (procCpuMs(ast.pid) - c0) / n;
      env.log(
        `asterisk: ${fmt(report.asteriskMsPerRequest, 2)} ms of Asterisk CPU per authenticated REST request`,
      );
    }

    const stepMs = env.quick ? 1000 : 4000;
    const stepArgs = (
      mode: AstMode,
      rate: number,
      durationMs = stepMs,
      rampFromRate?: number,
    ): WorldStepArgs => ({
      context: CONTEXT[mode],
      rate,
      durationMs,
      ...(rampFromRate === undefined ? {} : { rampFromRate, rampInMs: RAMP_IN_MS }),
      holdMs: HOLD_MS,
      drainMs: env.quick ? 3000 : 5000,
      numbers: env.numbers,
    });

    type Admission = {
      refused?: number;
      shedding?: { percent: number; shedEstimated?: number };
      trace?: Array<[number, number, number, number, number, number, number]>;
    };
    /** admission's counters, and the gate's trace since the last call (which it empties) */
    const admission = () =>
      controller.call<Admission>('admission', { trace: true }).catch(() => ({}) as Admission);
    /** why the gate shed: its share, set-ups in flight, REST latency and what each decision saw */
    const logGateTrace = (label: string, trace: Admission['trace']) => {
      if (!trace?.length) return;
      const t0 = trace[0]![0];
      env.log(
        `asterisk ${label} gate trace (s: share% / in flight / REST ms / reached, refused, set-up p90 ms): ` +
          trace
            .filter((_, i) => i % 2 === 0)
            .map(
              ([t, p, f, r, n, x, q]) =>
                `${((t - t0) / 1000).toFixed(1)}: ${p}/${f}/${Math.round(r)}/${n},${x},${q}`,
            )
            .join('  '),
      );
    };

    const measure = async (mode: AstMode, args: WorldStepArgs): Promise<AstStep> => {
      if (mode === 'controller') await admission();
      const c0 = await controller.call<{
        cpuMs: number;
        ariMetrics?: { restRequests: number; eventsReceived: number };
      }>('stats', { reset: true });
      const a0 = procCpuMs(ast!.pid);
      const w0 = Date.now();
      const { value: r, foreignPercent } = await env.foreign(async () => {
        const res = await world.call<WorldStepResult>('step', args, args.durationMs + args.drainMs + 60_000);
        // the calls' teardown belongs to their cost: wait until Asterisk has no channel left
        const left = await world.call<number>('settle', { ms: env.quick ? 3000 : 5000 });
        return { ...res, leftoverChannels: left };
      });
      const wall = Date.now() - w0;
      const a1 = procCpuMs(ast!.pid);
      const c1 = await controller.call<typeof c0>('stats', { reset: true });
      const perCall = (x: number | undefined, y: number | undefined) =>
        x !== undefined && y !== undefined && r.setUp ? (y - x) / r.setUp : NaN;
      const base = {
        ...r,
        mode,
        asteriskCpuPercent: ((a1 - a0) / wall) * 100,
        asteriskCpuMsPerCall: r.setUp ? (a1 - a0) / r.setUp : NaN,
        controllerCpuPercent: ((c1.cpuMs - c0.cpuMs) / wall) * 100,
        restPerCall: perCall(c0.ariMetrics?.restRequests, c1.ariMetrics?.restRequests),
        eventsPerCall: perCall(c0.ariMetrics?.eventsReceived, c1.ariMetrics?.eventsReceived),
        foreignNote: foreignPercent > 20 ? `other processes ${fmt(foreignPercent, 0)}% of a core` : undefined,
      };
      const step: AstStep = { ...base, ...judge(base) };
      env.log(
        `asterisk ${mode} @ ${args.rate}/s: ${step.setUp}/${step.placed} answered, ${fmt(step.setupRate, 0)}/s, set-up p50/p99 ${fmt(step.setup.p50)}/${fmt(step.setup.p99)} ms, ` +
          `refused ${step.refused} ${JSON.stringify(step.refusedByCause)}, Asterisk CPU ${fmt(step.asteriskCpuPercent, 0)}% (${fmt(step.asteriskCpuMsPerCall, 2)} ms/call), ` +
          `controller ${fmt(step.controllerCpuPercent, 0)}%, REST/events per call ${fmt(step.restPerCall, 1)}/${fmt(step.eventsPerCall, 1)}, ` +
          `left ${step.leftoverChannels}, other processes ${fmt(foreignPercent, 0)}% ${step.sustained ? 'OK' : `— behind: ${step.why}`}`,
      );
      // a step the gate shed in: how it came to
      if (mode === 'controller' && step.refused > 0)
        logGateTrace(`controller @ ${args.rate}/s`, (await admission()).trace);
      if (step.leftoverChannels > 0) await world.call('clear');
      return step;
    };

    // warm-up: every desk workplace once through the controller (config cache), JIT, pools
    await measure(
      'controller',
      stepArgs('controller', 50, Math.min(10_000, (env.numbers.length / 50) * 1000)),
    );
    await measure('dial', stepArgs('dial', 50, 1000));

    const rates = env.overloadRate ? [] : env.quick ? [50] : [100, 150, 200, 250, 300, 400, 500, 650];
    // a ramp step's load grows from the step below's within its first second; the overload
    // step's comes at once
    const below = (rate: number) => [50, ...rates].filter((r) => r < rate).at(-1);
    report.ramps = await majorityRamps<AstMode, AstStep>({
      contenders: AST_MODES,
      rates,
      run: (mode, rate) => measure(mode, stepArgs(mode, rate, stepMs, below(rate))),
      // the fixed-load comparison point (p99 at 100 calls/s) is a median of three runs each
      minRuns: new Map([[rates[0]!, env.quick ? 1 : 3]]),
      log: env.log,
    });

    // overload: twice what the controller sustains (issue 12), and Dial() at the same rate
    const overRate = env.overloadRate ?? 2 * (topConfirmed(report.ramps.controller)?.rate ?? rates[0]!);
    if (env.overloadRate) {
      // the overload step alone still meets a controller that has been carrying rising load up
      // to half that rate, as after a full run's ramps: a gate that has only seen the warm-up
      // would meet the onset with far less room than it has in the full run
      for (let rate = 100; rate <= overRate / 2; rate += 50)
        await measure('controller', stepArgs('controller', rate, stepMs, rate - 50));
    }
    report.overload = [];
    for (const mode of ['controller', 'dial'] as const) {
      const before = await admission();
      // longer than a ramp step: the law's steady state, not only its onset, is what callers meet
      const args = stepArgs(mode, overRate, env.overloadMs ?? (env.quick ? stepMs : OVERLOAD_MS));
      const c0 = procCpuMs(ast.pid);
      const res = await world.call<WorldStepResult>('step', args, args.durationMs + args.drainMs + 60_000);
      const channelsAfterDrain = await world.call<number>('channelCount');
      const channelsAfterSettle = await world.call<number>('settle', { ms: 15_000 });
      const c1 = procCpuMs(ast.pid);
      const after = await admission();
      if (mode === 'controller') logGateTrace(`overload controller @ ${overRate}/s`, after.trace);
      const [refusedBefore, refusedAfter] = [before.refused, after.refused];
      const base = {
        ...res,
        mode,
        asteriskCpuPercent: NaN,
        asteriskCpuMsPerCall: res.setUp ? (c1 - c0) / res.setUp : NaN,
        controllerCpuPercent: NaN,
        restPerCall: NaN,
        eventsPerCall: NaN,
        leftoverChannels: channelsAfterSettle,
      };
      const step: AstStep = { ...base, ...judge(base) };
      report.overload.push({
        mode,
        step,
        channelsAfterDrain,
        channelsAfterSettle,
        controllerRefused:
          refusedBefore !== undefined && refusedAfter !== undefined
            ? refusedAfter - refusedBefore
            : undefined,
        ...(mode === 'controller' && refusedBefore !== undefined && refusedAfter !== undefined
          ? { shedByDialplan: res.refused - (refusedAfter - refusedBefore) }
          : {}),
        ...(mode === 'controller' &&
        after.shedding?.shedEstimated !== undefined &&
        before.shedding?.shedEstimated !== undefined
          ? { shedEstimated: after.shedding.shedEstimated - before.shedding.shedEstimated }
          : {}),
      });
      env.log(
        `asterisk overload ${mode} @ ${overRate}/s: ${res.setUp}/${res.placed} answered (${fmt(res.setupRate, 0)}/s), admitted set-up p50/p99 ${fmt(res.setup.p50)}/${fmt(res.setup.p99)} ms, ` +
          `refused ${res.refused} ${JSON.stringify(res.refusedByCause)} in p50/p99 ${fmt(res.refusal.p50)}/${fmt(res.refusal.p99)} ms (inside Asterisk ${fmt(res.refusalInAsterisk.p50)}/${fmt(res.refusalInAsterisk.p99)} ms; the callers' originate round trip ${fmt(res.originateRtt.p50)}/${fmt(res.originateRtt.p99)} ms), unfinished ${res.unfinished}, ` +
          `channels after the drain ${channelsAfterDrain}, after 15 s more ${channelsAfterSettle}` +
          (mode === 'controller'
            ? `; refused by the controller ${refusedAfter !== undefined && refusedBefore !== undefined ? refusedAfter - refusedBefore : '?'}, by the dialplan ${report.overload.at(-1)?.shedByDialplan ?? '?'} (the controller's estimate ${report.overload.at(-1)?.shedEstimated ?? '?'})`
            : ''),
      );
      if (mode === 'controller')
        env.log(
          `asterisk overload timeline (s: answered, set-up p99 ms / refused, refusal p99 ms): ` +
            res.timeline.map(([t, a, ap, r, rp]) => `${t}: ${a},${ap}/${r},${rp}`).join('  '),
        );
      if (channelsAfterSettle > 0) {
        await world.call('clear');
        await world.call('settle', { ms: 10_000 });
      }
    }
    await controller.call('stop');
    await world.call('stop');
  } catch (err) {
    report.notes.push(`asterisk section failed: ${(err as Error).message.split('\n')[0]}`);
    env.log(`asterisk section failed: ${(err as Error).stack ?? err}`);
  } finally {
    for (const c of children) await c.stop().catch(() => {});
    await ast?.close().catch(() => {});
  }
  report.wallSeconds = (Date.now() - started) / 1000;
  return report;
}

// ------------------------------------------------------------------ report

const p99Of = (v: RateVerdict<AstStep> | undefined) => medianRun(v, (s) => s.setup.p99);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
/** a per-call figure over every run of the confirmed or lowest rates (stable under load) */
const perCallAt = (v: RateVerdict<AstStep> | undefined, f: (s: AstStep) => number) =>
  mean((v?.runs ?? []).map(f).filter(Number.isFinite));

function rateOf(r: AsteriskReport, mode: AstMode) {
  const verdicts = r.ramps?.[mode];
  const top = topConfirmed(verdicts);
  const firstFail = verdicts?.find((v) => !v.sustained);
  return { verdicts, top, firstFail };
}

const pctCell = (p: Percentiles | undefined) => (p ? `${fmt(p.p50)} / ${fmt(p.p99)} ms` : '–');

/** Rows of the top-level table: [measure, target, measured, met?] */
export function asteriskRows(r: AsteriskReport | undefined): Array<[string, string, string, string]> {
  if (!r) return [];
  if (r.skipped)
    return [['Real Asterisk: workplace call vs Asterisk Dial()', '–', `skipped: ${r.skipped}`, 'n/a']];
  if (!r.ramps)
    return [
      ['Real Asterisk: workplace call vs Asterisk Dial()', '–', `failed: ${r.notes.join('; ')}`, 'n/a'],
    ];
  const dial = rateOf(r, 'dial');
  const ctl = rateOf(r, 'controller');
  const ratio = (ctl.top?.rate ?? 0) / (dial.top?.rate ?? NaN);
  const dialEnd = dial.firstFail ? `behind at ${dial.firstFail.rate}/s` : 'ramp ended without falling behind';
  const ctlEnd = ctl.firstFail
    ? `behind at ${ctl.firstFail.rate}/s (${medianRun(ctl.firstFail, (s) => s.setup.p99)?.why})`
    : 'ramp ended without falling behind';
  const d100 = p99Of(r.ramps.dial[0]);
  const c100 = p99Of(r.ramps.controller[0]);
  const rate0 = r.ramps.dial[0]?.rate;
  const p99Ratio = (c100?.setup.p99 ?? NaN) / (d100?.setup.p99 ?? NaN);
  const cpuD = perCallAt(r.ramps.dial[0], (s) => s.asteriskCpuMsPerCall);
  const cpuC = perCallAt(r.ramps.controller[0], (s) => s.asteriskCpuMsPerCall);
  const rest = perCallAt(r.ramps.controller[0], (s) => s.restPerCall);
  const events = perCallAt(r.ramps.controller[0], (s) => s.eventsPerCall);
  const over = r.overload?.find((o) => o.mode === 'controller');
  const met = (b: boolean) => (b ? 'met' : 'MISSED');
  const rows: Array<[string, string, string, string]> = [
    [
      'Real Asterisk: Asterisk CPU per authenticated ARI REST request',
      '–',
      `${fmt(r.asteriskMsPerRequest ?? NaN, 2)} ms (password hash checked per request)`,
      '–',
    ],
    [
      'Real Asterisk: sustained workplace calls/s (desk + 1 parallel number, desk answers, 300 ms), controller vs Dial()',
      '≥ 0.8× Dial()',
      `${ctl.top?.rate ?? 0}/s vs ${dial.top?.rate ?? 0}/s = ${fmt(ratio, 2)}× (controller ${ctlEnd}; Dial() ${dialEnd}); majority of repeated 4 s steps`,
      met(ratio >= 0.8),
    ],
    [
      `Real Asterisk: set-up p50/p99 @ ${rate0}/s (caller dials → answered), controller vs Dial() (median of ${r.ramps.controller[0]?.runs.length} runs)`,
      'p99 ≤ 2× Dial()',
      `${pctCell(c100?.setup)} vs ${pctCell(d100?.setup)} = ${fmt(p99Ratio, 1)}×`,
      met(p99Ratio <= 2),
    ],
    [
      `Real Asterisk: Asterisk CPU per call @ ${rate0}/s, controller vs Dial()`,
      '–',
      `${fmt(cpuC, 2)} vs ${fmt(cpuD, 2)} ms = ${fmt(cpuC / cpuD, 2)}×`,
      '–',
    ],
    [
      'Real Asterisk: controller REST requests / events per workplace call',
      '≤ 8 / ≤ 25',
      `${fmt(rest, 1)} / ${fmt(events, 1)}`,
      met(rest <= 8 && events <= 25),
    ],
  ];
  if (over) {
    const s = over.step;
    rows.push([
      `Real Asterisk overload: controller at ${s.rate}/s (2× sustained)`,
      'admitted p99 ≤ 200 ms, refused ≤ 50 ms, 0 channels left',
      `${fmt(s.setupRate, 0)} answered/s; admitted p50/p99 ${pctCell(s.setup)}; refused ${s.refused}${s.refused ? ` in p50/p99 ${pctCell(s.refusal)} (inside Asterisk p99 ${fmt(s.refusalInAsterisk.p99)} ms)` : ''}${over.controllerRefused !== undefined ? ` (by the controller ${over.controllerRefused}, by the dialplan ${over.shedByDialplan ?? '?'}, estimated by the controller ${over.shedEstimated ?? '?'})` : ''}; unfinished ${s.unfinished}; channels left ${over.channelsAfterDrain} after the drain, ${over.channelsAfterSettle} 15 s later`,
      met(s.setup.p99 <= 200 && (s.refused === 0 || s.refusal.p99 <= 50) && over.channelsAfterSettle === 0),
    ]);
  }
  return rows;
}

export function asteriskMarkdown(r: AsteriskReport | undefined): string {
  if (!r) return '';
  if (r.skipped) return `## Real Asterisk\n\n_skipped: ${r.skipped}_\n`;
  const lines: string[] = [
    "## Real Asterisk: the controller against Asterisk's own Dial()",
    '',
    `Asterisk CPU per authenticated REST request (GET /asterisk/ping ×200): ${fmt(r.asteriskMsPerRequest ?? NaN, 2)} ms — the ARI user's password hash is checked on every request.`,
    '',
    `${r.version ?? 'Asterisk'}, started by tools/asterisk/local.ts on the project's configuration plus bench/asterisk/extensions-bench.conf; section took ${fmt((r.wallSeconds ?? 0) / 60, 1)} min.`,
    'Caller → workplace with a desk phone and one parallel number (Local channels); the desk answers at once, the mobile rings until cancelled; the caller hangs up 300 ms after it was answered.',
    '*controller*: the caller enters the controller (app e2epbx), which rings both legs over ARI and bridges the first answer. *Dial()*: the caller runs `Dial(Local/desk&Local/mobile,20)` in the dialplan.',
    `Set-up = originate issued → the caller is answered (its ;1 half enters the world app). Asterisk CPU = /proc/<pid>/stat over the step incl. teardown, per answered call. A step is sustained when ≥ ${AST_SUSTAINED.minCompletion * 100}% are answered, set-up p99 ≤ ${AST_SUSTAINED.maxSetupP99Ms} ms, ≥ ${AST_SUSTAINED.minRateShare * 100}% of the offered rate and no channel is left; a rate counts when the majority of its runs agree (bench/verdict.ts).`,
    '',
    '| mode | offered/s | run | answered/placed | answered/s | set-up p50/p95/p99 ms | Asterisk CPU % | Asterisk CPU ms/call | controller CPU % | controller REST / events per call | world REST / events per call | left | verdict |',
    '| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | --- | --- | ---: | --- |',
  ];
  for (const mode of AST_MODES)
    for (const v of r.ramps?.[mode] ?? [])
      v.runs.forEach((s, i) =>
        lines.push(
          `| ${mode} | ${s.rate} | ${i + 1} | ${s.setUp}/${s.placed} | ${fmt(s.setupRate, 0)} | ${fmt(s.setup.p50)} / ${fmt(s.setup.p95)} / ${fmt(s.setup.p99)} | ${fmt(s.asteriskCpuPercent, 0)} | ${fmt(s.asteriskCpuMsPerCall, 2)} | ${fmt(s.controllerCpuPercent, 0)} | ${fmt(s.restPerCall, 1)} / ${fmt(s.eventsPerCall, 1)} | ${fmt(s.worldRestPerCall, 1)} / ${fmt(s.worldEventsPerCall, 1)} | ${s.leftoverChannels} | ${s.sustained ? 'sustained' : `behind: ${s.why}`}${s.foreignNote ? ` (${s.foreignNote})` : ''}${i === v.runs.length - 1 ? ` → rate ${v.sustained ? 'sustained' : 'failed'}${v.confirmed ? '' : ' (one run)'}` : ''} |`,
        ),
      );
  if (r.overload?.length) {
    lines.push(
      '',
      '### Overload (issue 12: admission control)',
      '',
      "Refusal = originate issued → the refused caller ended (what the bench caller sees, judged); inside Asterisk = the caller channel created → destroyed (Asterisk's clock: without the bench caller's own originate request, which a SIP trunk's INVITE does not make). The timeline (per 0.5 s of placing: answered, set-up p99 / refused, refusal p99) shows where the tail comes from.",
      '',
      '| mode | offered/s for | answered/placed | answered/s | admitted set-up p50/p99 ms | refused (by cause) | refusal p50/p99 ms | inside Asterisk p50/p99 ms | unfinished | channels after drain / +15 s | refused by the controller / by the dialplan |',
      '| --- | ---: | --- | ---: | --- | --- | --- | --- | ---: | --- | --- |',
    );
    for (const o of r.overload) {
      const s = o.step;
      lines.push(
        `| ${o.mode} | ${s.rate} for ${fmt(s.durationMs / 1000, 0)} s | ${s.setUp}/${s.placed} | ${fmt(s.setupRate, 0)} | ${fmt(s.setup.p50)} / ${fmt(s.setup.p99)} | ${s.refused} ${JSON.stringify(s.refusedByCause)} | ${fmt(s.refusal.p50)} / ${fmt(s.refusal.p99)} | ${fmt(s.refusalInAsterisk.p50)} / ${fmt(s.refusalInAsterisk.p99)} | ${s.unfinished} | ${o.channelsAfterDrain} / ${o.channelsAfterSettle} | ${o.controllerRefused ?? 'n/a'} / ${o.shedByDialplan ?? 'n/a'} |`,
      );
    }
    for (const o of r.overload.filter((x) => x.mode === 'controller' && x.step.timeline.length))
      lines.push(
        '',
        `Timeline, ${o.mode}: ${o.step.timeline.map(([t, a, ap, n, np]) => `${t} s: ${a}, ${ap ?? '–'} / ${n}, ${np ?? '–'}`).join(' · ')}`,
      );
  }
  if (r.notes.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}
