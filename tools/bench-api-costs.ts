/**
 * What one API request costs as the platform grows (issue 14, item 13): group create and a
 * 1-row CSV import with N companies (each with a group and a workplace), and the size of the
 * 400 answering 0.87 MB of unknown keys. Own redis-server, app.inject (no sockets), median of
 * several runs, and store round trips (the platform-size-dependent part, deterministic).
 *
 *   npx tsx tools/bench-api-costs.ts [companies=5000]
 */
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { createRedisStore } from '../src/store/index.js';
import { startRedisServer } from './redis-server.js';

const COMPANIES = Number(process.argv[2] ?? 5000);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const now = new Date().toISOString();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const redis = await startRedisServer();
  const store = await createRedisStore({ url: redis.url, prefix: 'bench:' });
  const app = await buildApp({
    store,
    config: loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent', COUNTRY_CODE: '49' }),
    logger: pino({ level: 'silent' }),
    authFailures: { maxFailures: 1e9, windowMs: 60_000 },
  });
  const inject = (
    method: 'GET' | 'POST',
    url: string,
    token: string,
    payload?: unknown,
    contentType?: string,
  ) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(payload !== undefined ? { payload: payload as string } : {}),
    });

  // ---- seed: N companies, each with a default group (own range) and one workplace
  const t0 = Date.now();
  const CHUNK = 100;
  for (let start = 0; start < COMPANIES; start += CHUNK) {
    await Promise.all(
      Array.from({ length: Math.min(CHUNK, COMPANIES - start) }, async (_, j) => {
        const i = start + j;
        const cid = `bench-c${i}`;
        const base = `+4930${String(i).padStart(6, '0')}`;
        await store.companies.put({
          id: cid,
          name: `C${i}`,
          mobileIntegration: false,
          createdAt: now,
          updatedAt: now,
        });
        await store.groups.put({
          id: `bench-g${i}`,
          companyId: cid,
          name: 'G',
          timezone: 'Europe/Berlin',
          numberRanges: [{ first: `${base}00`, last: `${base}99` }],
          isDefault: true,
          createdAt: now,
          updatedAt: now,
        });
        await store.workplaces.put({
          id: `bench-w${i}`,
          companyId: cid,
          groupId: `bench-g${i}`,
          firstName: 'A',
          lastName: 'B',
          email: 'a@example.com',
          username: `bench.user${i}`,
          number: `${base}55`,
          extension: '5555',
          language: 'de',
          timezone: 'Europe/Berlin',
          status: 'active',
          callerIdPresentation: 'number',
          devices: [],
          parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
          forwarding: {
            always: { enabled: false },
            busy: { enabled: false },
            noAnswer: { enabled: false, ringSeconds: 20 },
            unreachable: { enabled: false },
          },
          voicebox: { enabled: false },
          createdAt: now,
          updatedAt: now,
        });
      }),
    );
  }
  console.log(`seeded ${COMPANIES} companies in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // ---- the measured company
  const company = JSON.parse((await inject('POST', '/v1/companies', ADMIN_TOKEN, { name: 'Measured' })).body);
  const base = `/v1/companies/${company.id}`;
  const { token } = JSON.parse((await inject('POST', `${base}/tokens`, ADMIN_TOKEN, { role: 'admin' })).body);

  const timed = async (fn: () => Promise<{ statusCode: number; body: string }>, expected: number) => {
    const trips = store.roundTrips();
    const start = process.hrtime.bigint();
    const res = await fn();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (res.statusCode !== expected)
      throw new Error(`expected ${expected}, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
    return { ms, trips: store.roundTrips() - trips, bytes: res.body.length, body: res.body };
  };

  const groupRuns = [];
  let groupId = '';
  for (let i = 0; i < 21; i++) {
    const r = await timed(
      () =>
        inject('POST', `${base}/groups`, token, {
          name: `G${i}`,
          timezone: 'Europe/Berlin',
          numberRanges: [
            { first: `+4989${String(i).padStart(6, '0')}00`, last: `+4989${String(i).padStart(6, '0')}99` },
          ],
        }),
      201,
    );
    groupId ||= JSON.parse(r.body).id;
    groupRuns.push(r);
  }
  const csvRuns = [];
  for (let i = 0; i < 11; i++) {
    const csv = `firstName,lastName,email,username,groupId,number\nIna,Iota,i@example.com,ina.${i},${groupId},+4989000000${String(10 + i)}\n`;
    csvRuns.push(await timed(() => inject('POST', `${base}/workplaces/import`, token, csv, 'text/csv'), 201));
  }

  const body: Record<string, unknown> = { name: 'x' };
  let size = 12;
  for (let i = 0; size < 0.87 * 1024 * 1024; i++) {
    const key = `unknown_key_number_${i}`;
    body[key] = 1;
    size += key.length + 5;
  }
  const payload = JSON.stringify(body);
  const error = await timed(
    () => inject('POST', '/v1/companies', ADMIN_TOKEN, payload, 'application/json'),
    400,
  );

  const report = {
    companies: COMPANIES,
    groupCreate: {
      medianMs: +median(groupRuns.map((r) => r.ms)).toFixed(1),
      roundTrips: median(groupRuns.map((r) => r.trips)),
    },
    csvImport1Row: {
      medianMs: +median(csvRuns.map((r) => r.ms)).toFixed(1),
      roundTrips: median(csvRuns.map((r) => r.trips)),
    },
    unknownKeys400: {
      requestBytes: payload.length,
      responseBytes: error.bytes,
      ms: +error.ms.toFixed(1),
    },
  };
  console.log(JSON.stringify(report, null, 2));
  await app.close();
  await store.close();
  await redis.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
