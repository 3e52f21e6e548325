/**
 * The callers of the real-Asterisk section (bench/asterisk-section.ts), as their own Stasis
 * application `benchworld` over our ARI client, on core 1. The same process drives both ways
 * of making the call, so the world costs Asterisk the same in both:
 *   - controller: Local/<number>@e2e-trunk — the ;2 half enters the controller under test;
 *   - reference:  Local/<number>@bench-dial — the ;2 half runs Asterisk's own Dial().
 * The ;1 half (originated into `benchworld`) is the caller: it enters Stasis when the far side
 * answers it, which is the "caller answered" moment of the set-up latency (originate issued →
 * StasisStart of the caller). The caller hangs up `holdMs` later. A caller that is ended
 * before it was answered is a refused / failed call (its ChannelDestroyed still arrives: the
 * application created it), with its hang-up cause and how long the refusal took.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createAriClient, type AriClient } from '../src/ari/index.js';
import { callsDueBy, cpuMs, percentiles, serveIpc, sleep, type Percentiles } from './common.js';
import { createProcessProbe, type ProcessSnapshot } from './process-probe.js';

export interface WorldStepArgs {
  /** e2e-trunk (the controller) or bench-dial (Asterisk's Dial()) */
  context: string;
  rate: number;
  durationMs: number;
  /**
   * the offered rate rises linearly from this one to `rate` over the first `rampInMs` (as load
   * grows, not from nothing); absent: `rate` from the first call (a flood)
   */
  rampFromRate?: number;
  rampInMs?: number;
  holdMs: number;
  /** after the last call is placed, at most this long for every call to end */
  drainMs: number;
  /** the called numbers, used round robin */
  numbers: string[];
}

export interface WorldStepResult {
  context: string;
  rate: number;
  /** calls offered per second over the step, its ramp-in included */
  offeredRate: number;
  /** how long calls were offered (ms) */
  durationMs: number;
  placed: number;
  placeErrors: number;
  setUp: number;
  /** set-ups per second over the placing window */
  setupRate: number;
  /** originate issued → caller answered (ms) */
  setup: Percentiles;
  /** calls ended before they were answered, by hang-up cause */
  refusedByCause: Record<string, number>;
  refused: number;
  /** originate issued → the unanswered caller was ended (ms) */
  refusal: Percentiles;
  /** the same refusals timed inside Asterisk: the caller channel's creation → its
   * ChannelDestroyed (both Asterisk's clock), i.e. without the bench caller's own originate
   * request, which a SIP trunk's INVITE does not make */
  refusalInAsterisk: Percentiles;
  /** originate issued → its HTTP response (the bench caller's request, every call) */
  originateRtt: Percentiles;
  /** per 0.5 s of placing (by when the call was placed): [s, answered, set-up p99, refused, refusal p99] */
  timeline: Array<[number, number, number, number, number]>;
  /** callers neither answered nor ended when the step returned */
  unfinished: number;
  /** REST requests and events of the world app per placed call */
  worldRestPerCall: number;
  worldEventsPerCall: number;
  worldCpuPercent: number;
  worldProcess: ProcessSnapshot;
  wallMs: number;
}

interface CallRecord {
  issuedAt: number;
  respondedAt?: number;
  setupAt?: number;
  endedAt?: number;
  cause?: number;
  /** Asterisk's clock (epoch ms): the caller channel's creation and its destruction */
  createdAstMs?: number;
  destroyedAstMs?: number;
  unroute?: () => void;
}

let ari: AriClient | undefined;
const probe = createProcessProbe();

async function start(args: { url: string; username: string; password: string; app: string }) {
  ari = createAriClient({
    url: args.url,
    username: args.username,
    password: args.password,
    app: args.app,
    logger: pino({ level: 'silent' }),
  });
  await ari.connect();
  return true;
}

async function step(args: WorldStepArgs): Promise<WorldStepResult> {
  const client = ari!;
  const records: CallRecord[] = [];
  const rest0 = client.metrics.restRequests;
  const events0 = client.metrics.eventsReceived;
  const cpu0 = cpuMs();
  probe.snapshot(true);
  let placeErrors = 0;
  let outstanding = 0;
  let allEnded: (() => void) | undefined;

  const place = (n: number) => {
    const rec: CallRecord = { issuedAt: performance.now() };
    records.push(rec);
    outstanding++;
    const channelId = randomUUID();
    const end = (cause: number | undefined) => {
      if (rec.endedAt !== undefined) return;
      rec.endedAt = performance.now();
      rec.cause = cause;
      rec.unroute?.();
      outstanding--;
      if (outstanding === 0) allEnded?.();
    };
    rec.unroute = client.events.route(channelId, (event) => {
      const e = event as unknown as { type: string; cause?: number; timestamp?: string };
      if (e.type === 'StasisStart') {
        if (rec.setupAt !== undefined) return;
        rec.setupAt = performance.now();
        setTimeout(() => {
          client.channels.hangup({ channelId }).catch(() => {});
        }, args.holdMs);
      } else if (e.type === 'ChannelDestroyed') {
        rec.destroyedAstMs = asteriskTime(e.timestamp);
        end(e.cause);
      }
    });
    client.channels
      .originate({
        endpoint: `Local/${args.numbers[n % args.numbers.length]}@${args.context}`,
        app: client.app,
        appArgs: 'caller',
        callerId: `+4940${String(n % 100000).padStart(7, '0')}`,
        channelId,
        timeout: 30,
      })
      .then((ch) => {
        rec.respondedAt = performance.now();
        rec.createdAstMs = asteriskTime((ch as { creationtime?: string }).creationtime);
      })
      .catch(() => {
        placeErrors++;
        end(undefined);
      });
  };

  const t0 = performance.now();
  const total = Math.round(callsDueBy(args, args.durationMs));
  let placed = 0;
  while (placed < total) {
    const due = Math.min(total, Math.floor(callsDueBy(args, performance.now() - t0)) + 1);
    while (placed < due) place(placed++);
    await sleep(1);
  }
  const placingMs = performance.now() - t0;
  if (outstanding > 0)
    await Promise.race([new Promise<void>((r) => (allEnded = r)), sleep(args.drainMs + args.holdMs)]);
  allEnded = undefined;
  for (const r of records) r.unroute?.();
  const wallMs = performance.now() - t0;

  const answered = records.filter((r) => r.setupAt !== undefined);
  const refused = records.filter((r) => r.setupAt === undefined && r.endedAt !== undefined);
  const refusedByCause: Record<string, number> = {};
  for (const r of refused)
    refusedByCause[String(r.cause ?? 'none')] = (refusedByCause[String(r.cause ?? 'none')] ?? 0) + 1;
  return {
    context: args.context,
    rate: args.rate,
    offeredRate: total / (args.durationMs / 1000),
    durationMs: args.durationMs,
    placed: records.length,
    placeErrors,
    setUp: answered.length,
    setupRate: answered.length / (placingMs / 1000),
    setup: percentiles(answered.map((r) => r.setupAt! - r.issuedAt)),
    refused: refused.length,
    refusedByCause,
    refusal: percentiles(refused.map((r) => r.endedAt! - r.issuedAt)),
    refusalInAsterisk: percentiles(
      refused
        .filter((r) => r.createdAstMs !== undefined && r.destroyedAstMs !== undefined)
        .map((r) => r.destroyedAstMs! - r.createdAstMs!),
    ),
    timeline: timeline(records, t0),
    originateRtt: percentiles(
      records.filter((r) => r.respondedAt !== undefined).map((r) => r.respondedAt! - r.issuedAt),
    ),
    unfinished: records.filter((r) => r.endedAt === undefined).length,
    worldRestPerCall: (client.metrics.restRequests - rest0) / Math.max(1, records.length),
    worldEventsPerCall: (client.metrics.eventsReceived - events0) / Math.max(1, records.length),
    worldCpuPercent: ((cpuMs() - cpu0) / wallMs) * 100,
    worldProcess: probe.snapshot(true),
    wallMs,
  };
}

function timeline(records: CallRecord[], t0: number): WorldStepResult['timeline'] {
  const buckets = new Map<number, CallRecord[]>();
  for (const r of records) {
    const b = Math.floor((r.issuedAt - t0) / 500);
    buckets.set(b, [...(buckets.get(b) ?? []), r]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([b, rs]) => {
      const up = rs.filter((r) => r.setupAt !== undefined).map((r) => r.setupAt! - r.issuedAt);
      const refused = rs
        .filter((r) => r.setupAt === undefined && r.endedAt !== undefined)
        .map((r) => r.endedAt! - r.issuedAt);
      return [
        b / 2,
        up.length,
        Math.round(percentiles(up).p99),
        refused.length,
        Math.round(percentiles(refused).p99),
      ];
    });
}

/** ARI's "2026-11-30T08:16:38.284+0000" (millisecond resolution) as epoch ms */
function asteriskTime(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** Every channel in Asterisk (all applications and the dialplan): what a load left behind. */
async function channelCount(): Promise<number> {
  const list = (await ari!.channels.list()) as unknown[];
  return list.length;
}

/** Waits (up to `ms`) for Asterisk to have no channel; returns how many are left. */
async function settle(args: { ms: number }): Promise<number> {
  const deadline = Date.now() + args.ms;
  let n = await channelCount();
  while (n > 0 && Date.now() < deadline) {
    await sleep(250);
    n = await channelCount();
  }
  return n;
}

/** Hangs up whatever is left (after an overload step), so the next measurement starts clean. */
async function clear(): Promise<number> {
  const list = (await ari!.channels.list()) as Array<{ id: string }>;
  await Promise.all(list.map((c) => ari!.channels.hangup({ channelId: c.id }).catch(() => {})));
  return list.length;
}

/** `n` authenticated no-op requests (what one REST request costs Asterisk) */
async function ping(args: { n: number }): Promise<number> {
  for (let i = 0; i < args.n; i += 10)
    await Promise.all(Array.from({ length: 10 }, () => ari!.asterisk.ping()));
  return Math.ceil(args.n / 10) * 10;
}

serveIpc({
  ready: () => true,
  start,
  ping,
  step,
  channelCount,
  settle,
  clear,
  async stop() {
    await ari?.close();
    return true;
  },
});
