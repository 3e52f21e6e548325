/**
 * A sign-in flood against one API process, and what it does to everything else: N clients (each
 * its own address, through a trusted proxy's X-Forwarded-For) sign in with made-up names as fast
 * as they can, while one client fetches /app/app.js every 100 ms. Prints the latency of those
 * fetches and what the sign-ins were answered.
 *
 *   npx tsx bench/sign-in-flood.ts            # the service as configured (the password gate)
 *   npx tsx bench/sign-in-flood.ts --no-gate  # every sign-in hashes at once, as before the gate
 *   options: --clients 16 --seconds 10
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { PasswordGate } from '../src/api/password-gate.js';
import { loadConfig } from '../src/config.js';
import { createMemoryStore } from '../src/store/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const clients = option('clients', 16);
const seconds = option('seconds', 10);
const noGate = args.includes('--no-gate');

const store = createMemoryStore();
const app = await buildApp({
  store,
  config: loadConfig({ LOG_LEVEL: 'silent', TRUST_PROXY: '127.0.0.1' }),
  logger: pino({ level: 'silent' }),
  ...(noGate
    ? {
        passwordGate: new PasswordGate({
          concurrency: 1_000_000,
          maxQueued: 0,
          maxWaitMs: 60_000,
          perAddressQueue: 1_000_000,
        }),
      }
    : {}),
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function appJs(): Promise<number> {
  const start = performance.now();
  const res = await fetch(`${url}/app/app.js`);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`app.js: ${res.status}`);
  return performance.now() - start;
}

// quiet baseline
const quiet: number[] = [];
for (let i = 0; i < 20; i++) quiet.push(await appJs());

const end = Date.now() + seconds * 1000;
const answers = new Map<number, number>();
let n = 0;
const flood = Array.from({ length: clients }, async (_, c) => {
  while (Date.now() < end) {
    const res = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.1.${c >> 8}.${c & 255}` },
      body: JSON.stringify({ login: `made.up.${c}.${n++}`, password: 'some password guess' }),
    });
    await res.arrayBuffer();
    answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
    // a refused client retries after a short pause, not at once (as a script kiddie's loop would not either)
    if (res.status === 503 || res.status === 429) await new Promise((r) => setTimeout(r, 50));
  }
});
const during: number[] = [];
const probe = (async () => {
  while (Date.now() < end) {
    during.push(await appJs());
    await new Promise((r) => setTimeout(r, 100));
  }
})();
await Promise.all([...flood, probe]);
await app.close();
await store.close();

const show = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${quantile(s, 0.5).toFixed(1)} ms, p95 ${quantile(s, 0.95).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms (${s.length} fetches)`;
};
console.log(`${noGate ? 'without the gate' : 'with the password gate'}: ${clients} clients, ${seconds} s`);
console.log(`/app/app.js quiet:  ${show(quiet)}`);
console.log(`/app/app.js flood:  ${show(during)}`);
console.log(`sign-in answers: ${[...answers].map(([s, k]) => `${k} × ${s}`).join(', ')}`);
