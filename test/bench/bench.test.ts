/**
 * Smoke test of the benchmark harness: `bench/run.ts --quick` runs every section end to end
 * with tiny loads (own redis-server, controller / load / API / answer-app processes over
 * loopback) and writes a report whose numbers come from real calls. No timing asserts: only
 * that calls were set up, counters were read and the table is complete.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
let dir: string;
let report = '';
let table = '';
let exitCode: number | null = null;
let stderr = '';

function row(name: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`| ${name}`));
  if (!line) throw new Error(`no table row '${name}' in:\n${table}`);
  return line.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, '').trim());
}

const firstNumber = (cell: string | undefined) => Number(/-?\d+(\.\d+)?/.exec(cell ?? '')?.[0] ?? NaN);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const out = join(dir, 'results.md');
  const child = spawn(join(repo, 'node_modules/.bin/tsx'), ['bench/run.ts', '--quick', '--out', out], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  exitCode = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  table = stdout;
  if (exitCode === 0) report = readFileSync(out, 'utf8');
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  it('exits 0 and prints one table that is also in the report', () => {
    expect(exitCode, stderr.slice(-3000)).toBe(0);
    expect(table).toMatch(/^\| Measure \| Target \| Measured \| Target met\? \|/);
    expect(report).toContain(table.trim());
  });

  it('set up real workplace and voicebox calls and measured their decision latency', () => {
    expect(firstNumber(row('Workplace call setups/s')[2])).toBeGreaterThan(0);
    expect(firstNumber(row('Voicebox call setups/s')[2])).toBeGreaterThan(0);
    const ramp = report.split('### Workplace calls')[1]!.split('###')[0]!;
    const firstStep = ramp.split('\n').find((l) => /^\| \d+ \|/.test(l))!;
    const [, offered, placed, setUp] = firstStep.split('|').map((c) => c.trim());
    expect(Number(placed)).toBe(Number(offered)); // 1 s step at N/s
    expect(Number(setUp)).toBe(Number(placed));
    expect(ramp).toContain('`POST /channels/{id}/ring`');
  });

  it('reports the portal honestly: measured, or "not measured" with the reason', () => {
    const cell = row('Portal call setups/s')[2]!;
    expect(cell === '' ? 'empty' : cell).toMatch(/^(\d+\/s|not measured: .+|none sustained)/);
  });

  it('counted Redis round trips (warm decisions need none) and memory per call', () => {
    const rt = row('Redis round trips per call decision')[2]!;
    expect(firstNumber(rt.split(' / ')[0])).toBeGreaterThanOrEqual(1); // cold: at least the number lookup
    // the per-scenario table: a warm workplace decision needs no Redis at all
    const workplace = report
      .split('\n')
      .find((l) => l.startsWith('| workplace |'))!
      .split('|')
      .map((c) => c.trim());
    const [, , cold, , warm] = workplace;
    expect(cold!.split(', ').every((n) => Number(n) >= 1)).toBe(true);
    expect(warm!.split(', ').every((n) => n === '0')).toBe(true);
    expect(firstNumber(row('RSS per established call @')[2])).not.toBeNaN();
  });

  it('measured the API and both ARI clients', () => {
    expect(firstNumber(row('API: read a workplace')[2])).toBeGreaterThan(0);
    expect(row('API: read a workplace')[2]).toContain('(0 non-2xx)');
    expect(row('API: toggle a portal setting')[2]).toContain('(0 non-2xx)');
    // both apps ran their ramp; whether the slower one sustains even the lowest quick rate
    // depends on how busy the machine is, so only "measured" is asserted here
    for (const app of ['our ARI client', 'npm ari-client']) {
      expect(row(`Answer+hangup app: ${app}`)[2]).toMatch(/^(\d+ calls\/s sustained|none sustained)/);
    }
    expect(firstNumber(row('Answer+hangup app: our ARI client')[2])).toBeGreaterThan(0);
  });
});
