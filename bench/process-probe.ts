/**
 * In-process view of a measured process, to tell where latency comes from: the event-loop
 * delay (is this process's loop busy?), garbage-collection pauses, and — for processes that
 * run an ARI app — the app's own decision time (StasisStart received → first command sent),
 * which excludes the wire and the simulator. Reset per ramp step.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { performance } from 'node:perf_hooks';
import { percentiles, type Percentiles } from './common.js';

export interface ProcessSnapshot {
  /** event-loop delay p50/p99/max, ms */
  loopP50Ms: number;
  loopP99Ms: number;
  loopMaxMs: number;
  gcPauseTotalMs: number;
  gcPauseMaxMs: number;
  /** StasisStart received → first command sent, inside this process */
  internalDecision: Percentiles;
  /** REST call issued → answered, as this process sees it (pool wait + wire + server) */
  rest: Percentiles;
}

const MAX_PENDING = 100_000;

export function createProcessProbe() {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let gcTotal = 0;
  let gcMax = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcTotal += e.duration;
      if (e.duration > gcMax) gcMax = e.duration;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const pending = new Map<string, number>();
  let decisions: number[] = [];
  let rest: number[] = [];
  return {
    stasis(channelId: string): void {
      if (pending.size >= MAX_PENDING) pending.clear();
      pending.set(channelId, performance.now());
    },
    command(channelId: string | undefined): void {
      if (!channelId) return;
      const at = pending.get(channelId);
      if (at === undefined) return;
      pending.delete(channelId);
      decisions.push(performance.now() - at);
    },
    restDone(ms: number): void {
      if (rest.length < MAX_PENDING) rest.push(ms);
    },
    snapshot(reset: boolean): ProcessSnapshot {
      const s: ProcessSnapshot = {
        loopP50Ms: loop.percentile(50) / 1e6,
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
        gcPauseTotalMs: gcTotal,
        gcPauseMaxMs: gcMax,
        internalDecision: percentiles(decisions),
        rest: percentiles(rest),
      };
      if (reset) {
        loop.reset();
        gcTotal = 0;
        gcMax = 0;
        decisions = [];
        rest = [];
        pending.clear();
      }
      return s;
    },
  };
}
