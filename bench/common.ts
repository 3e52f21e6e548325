/**
 * Shared pieces of the benchmark processes: a tiny request/response protocol over the
 * child_process IPC channel, percentiles, forking a TypeScript child pinned to a CPU core,
 * and an own redis-server on a free loopback port.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type OwnRedis } from '../tools/redis-server.js';

export const benchDir = dirname(fileURLToPath(import.meta.url));

// ------------------------------------------------------------------ statistics

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `values` (ms); NaN everywhere when there are none. */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
  };
}

// ------------------------------------------------------------------ IPC protocol

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}
interface Response {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Child side: answers the parent's requests with `handlers[cmd](args)`. */
export function serveIpc(handlers: Record<string, (args: never) => unknown>): void {
  if (!process.send) throw new Error('this file runs as a forked child of bench/run.ts');
  process.on('message', (raw) => {
    const req = raw as Request;
    if (typeof req?.id !== 'number') return;
    const handler = handlers[req.cmd];
    void (async () => {
      let res: Response;
      try {
        if (!handler) throw new Error(`unknown command '${req.cmd}'`);
        res = { id: req.id, ok: true, result: await handler(req.args as never) };
      } catch (err) {
        res = {
          id: req.id,
          ok: false,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        };
      }
      process.send!(res);
    })();
  });
  // the parent went away: nothing left to measure for. A normal exit (not death by signal)
  // also lets --cpu-prof write its profile.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Forks `bench/<file>` under tsx, pinned to `cpu` (taskset) when given, and waits for its
 * 'ready' request to answer. Its stdout/stderr go to the parent's stderr (prefixed).
 */
export async function forkChild(
  name: string,
  file: string,
  opts: { cpu?: number; env?: Record<string, string>; args?: string[]; nodeArgs?: string[] } = {},
): Promise<Child> {
  const child: ChildProcess = fork(join(benchDir, file), opts.args ?? [], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...(opts.nodeArgs ?? [])],
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const prefix = (chunk: Buffer) =>
    process.stderr.write(
      chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => `[${name}] ${l}\n`)
        .join(''),
    );
  child.stdout?.on('data', prefix);
  child.stderr?.on('data', prefix);
  if (opts.cpu !== undefined && child.pid) pinToCpu(child.pid, opts.cpu);
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (raw) => {
    const res = raw as Response;
    const p = pending.get(res.id);
    if (!p) return;
    pending.delete(res.id);
    if (res.ok) p.resolve(res.result);
    else p.reject(new Error(`${name}: ${res.error}`));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
    pending.clear();
  });
  const handle: Child = {
    name,
    pid: child.pid ?? 0,
    call<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
      if (!child.connected) return Promise.reject(new Error(`${name} is not running`));
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: '${cmd}' did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.pid) machineCpu([child.pid]); // its CPU keeps counting as ours after it exits
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
  await handle.call('ready', undefined, 60_000);
  return handle;
}

/** Pins every thread of `pid` to one core; harmless no-op (with a note) where taskset is missing. */
export function pinToCpu(pid: number, cpu: number): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

// ------------------------------------------------------------------ redis

export { freePort, type OwnRedis } from '../tools/redis-server.js';

/** A throwaway redis-server on a free loopback port, no persistence, optionally pinned to a core. */
export async function startRedis(cpu?: number): Promise<OwnRedis> {
  const redis = await startRedisServer();
  if (cpu !== undefined && redis.pid) pinToCpu(redis.pid, cpu);
  return redis;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CPU time of this process in ms (user + system). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// ------------------------------------------------------------------ machine CPU (noise check)

const CLK_TCK = 100; // Linux USER_HZ

/** Last CPU reading per process: a process that has exited keeps counting with what it used. */
const lastSeenJiffies = new Map<number, number>();

/**
 * Busy CPU ms of the whole machine (/proc/stat) and of the given processes (/proc/<pid>/stat;
 * one that has exited counts with its last reading — read before stopping it).
 */
export function machineCpu(pids: number[]): { busyMs: number; oursMs: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + (cpu[7] ?? 0);
    let ours = 0;
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        lastSeenJiffies.set(pid, Number(fields[11]) + Number(fields[12])); // utime + stime
      } catch {
        // the process is gone: its last reading stands
      }
      ours += lastSeenJiffies.get(pid) ?? 0;
    }
    return { busyMs: (busy * 1000) / CLK_TCK, oursMs: (ours * 1000) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** calls offered in the first `ms` of a step: the rate, after its ramp-in if it has one */
export function callsDueBy(
  args: { rate: number; rampFromRate?: number; rampInMs?: number },
  ms: number,
): number {
  const from = args.rampFromRate ?? args.rate;
  const ramp = from === args.rate ? 0 : (args.rampInMs ?? 0);
  const inRamp = Math.min(ms, ramp);
  // ∫ of a rate rising linearly from `from` to `rate` over `ramp`, then `rate`
  const rampCalls = from * inRamp + (ramp ? ((args.rate - from) * inRamp * inRamp) / (2 * ramp) : 0);
  return (rampCalls + args.rate * Math.max(0, ms - ramp)) / 1000;
}
