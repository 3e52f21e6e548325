/**
 * Verdicts that survive noise. One 4-second step decides nothing on a shared 2-core machine:
 * a single slow p99 (another engineer's test run, a GC, a scheduler hiccup) flips it. So:
 *  - a step that FAILS is run again, and the rate fails only when the majority of its runs
 *    (2 of at most 3) fail;
 *  - the highest rate that passed is CONFIRMED: run until 2 of at most 3 runs pass; if its
 *    majority fails, the next lower rate is confirmed instead;
 *  - `minRuns` rates (the fixed-load latency points) are always run that many times, so their
 *    latency is a median over runs, not one draw.
 * Several contenders (e.g. our ARI client and ari-client; the controller and Asterisk's
 * Dial()) take turns at every rate in alternating order, so neither always meets the
 * system first at a new rate.
 */

export interface Judged {
  sustained: boolean;
}

export interface RateVerdict<S extends Judged> {
  rate: number;
  runs: S[];
  /** majority of the runs passed (for an unconfirmed top rate: its one run passed) */
  sustained: boolean;
  /** at least two runs agree on the verdict */
  confirmed: boolean;
}

const passes = <S extends Judged>(v: RateVerdict<S>) => v.runs.filter((r) => r.sustained).length;
const fails = <S extends Judged>(v: RateVerdict<S>) => v.runs.filter((r) => !r.sustained).length;

function decide<S extends Judged>(v: RateVerdict<S>): void {
  const p = passes(v);
  const f = fails(v);
  v.sustained = p > f || (p === f && p > 0 && v.runs[v.runs.length - 1]!.sustained);
  v.confirmed = p >= 2 || f >= 2;
}

/**
 * Rising offered rates for every contender, with the majority rules above. `run` measures one
 * step; `onRun` sees every run (for logging). Returns each contender's verdicts per rate.
 */
export async function majorityRamps<K extends string, S extends Judged>(opts: {
  contenders: readonly K[];
  rates: readonly number[];
  run: (contender: K, rate: number) => Promise<S>;
  /** rates that always get this many runs (fixed-load latency points) */
  minRuns?: Map<number, number>;
  /** at most this many runs of one rate (default 3) */
  maxRuns?: number;
  log?: (msg: string) => void;
}): Promise<Record<K, Array<RateVerdict<S>>>> {
  const maxRuns = opts.maxRuns ?? 3;
  const out = Object.fromEntries(opts.contenders.map((k) => [k, []])) as unknown as Record<
    K,
    Array<RateVerdict<S>>
  >;
  const stopped = new Set<K>();

  async function runUntilDecided(k: K, v: RateVerdict<S>, wantConfirmed: boolean): Promise<void> {
    const min = opts.minRuns?.get(v.rate) ?? 1;
    for (;;) {
      decide(v);
      if (v.runs.length >= maxRuns) return;
      const needMin = v.runs.length < min;
      // a failure is always retried until the majority says so; a pass only when confirming
      const needMajority = !v.confirmed && (fails(v) > 0 || wantConfirmed);
      if (!needMin && !needMajority) return;
      const r = await opts.run(k, v.rate);
      v.runs.push(r);
      if (v.runs.length > 1)
        opts.log?.(
          `${k} @ ${v.rate}/s: run ${v.runs.length} ${r.sustained ? 'passed' : 'failed'} (${passes(v)} passed, ${fails(v)} failed so far)`,
        );
    }
  }

  for (const [i, rate] of opts.rates.entries()) {
    const order = i % 2 === 0 ? opts.contenders : [...opts.contenders].reverse();
    for (const k of order) {
      if (stopped.has(k)) continue;
      const v: RateVerdict<S> = { rate, runs: [await opts.run(k, rate)], sustained: false, confirmed: false };
      out[k].push(v);
      await runUntilDecided(k, v, false);
      if (!v.sustained) stopped.add(k);
    }
    if (stopped.size === opts.contenders.length) break;
  }

  // confirm each contender's top passing rate; walk down while the confirmation fails
  for (const k of opts.contenders) {
    const verdicts = out[k];
    for (let j = verdicts.length - 1; j >= 0; j--) {
      const v = verdicts[j]!;
      if (!v.sustained) continue;
      await runUntilDecided(k, v, true);
      if (v.sustained) break;
      opts.log?.(`${k} @ ${v.rate}/s did not hold on confirmation: checking the rate below`);
    }
  }
  return out;
}

/** The highest rate whose verdict is sustained and confirmed by at least two passing runs. */
export function topConfirmed<S extends Judged>(verdicts: Array<RateVerdict<S>> | undefined) {
  return [...(verdicts ?? [])].reverse().find((v) => v.sustained && v.confirmed);
}

/** The median run of a rate by `key` (the lower middle for an even count). */
export function medianRun<S extends Judged>(
  v: RateVerdict<S> | undefined,
  key: (s: S) => number,
): S | undefined {
  if (!v || v.runs.length === 0) return undefined;
  const sorted = [...v.runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
