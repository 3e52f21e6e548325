/**
 * /metrics from the real process (src/app/main.ts): on the API port only with METRICS_TOKEN, on
 * METRICS_LISTEN without a token; nothing without either. Parsed strictly.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../tools/redis-server.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN = 'metrics-test-admin-token-0123456789';
const METRICS_TOKEN = 'metrics-test-scrape-token-0123';

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      ARI_ENABLED: 'false',
      ADMIN_TOKEN: ADMIN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`exited early with ${code}`));
    });
  });
  return { child, exited, listening, out: () => stdout };
}

describe('main.ts: /metrics', () => {
  it('with METRICS_TOKEN and METRICS_LISTEN; the token never in a log line', async () => {
    const port = await freePort();
    const p = start({ METRICS_TOKEN, METRICS_LISTEN: `127.0.0.1:${port}` });
    const base = await p.listening;
    expect(
      (await fetch(`${base}/v1/companies`, { headers: { authorization: `Bearer ${ADMIN}` } })).status,
    ).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const scrape = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scrape.status).toBe(200);
    const families = parsePrometheusText(await scrape.text());
    expect(
      sampleValue(families, 'pbx_api_request_seconds_count', { route: '/v1/companies', method: 'GET' }),
    ).toBe(1);
    expect(families.get('pbx_process_cpu_user_seconds_total')?.type).toBe('counter');
    const separate = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(separate.status).toBe(200);
    expect(parsePrometheusText(await separate.text()).has('pbx_calls_total')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/v1/companies`)).status).toBe(404);
    expect(p.out()).not.toContain(METRICS_TOKEN);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('neither set: no /metrics at all', async () => {
    const p = start({});
    const base = await p.listening;
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status,
    ).toBe(404);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
