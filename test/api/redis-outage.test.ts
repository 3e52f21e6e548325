/**
 * A Redis outage seen from the API: a redis-server of this test's own (on its own free port)
 * is killed, frozen and started again on the same port. Requests that need Redis answer 503
 * with Retry-After — never 500, never a hang — also those in flight when Redis goes; readiness
 * says not-ready; everything works again after the restart without restarting the app.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { createRedisStore, type PbxStore } from '../../src/store/index.js';
import { startRedisServer, type OwnRedis } from '../../tools/redis-server.js';
import { ADMIN_TOKEN, call, expectStatus } from './helpers.js';

/** Fails instead of hanging: the answer must come long before the test's own timeout. */
async function answered<T>(request: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer (hangs)`)), 8_000);
  });
  try {
    return await Promise.race([request, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Redis outage', () => {
  let redis: OwnRedis;
  let store: PbxStore;
  let app: FastifyInstance;
  let base: string;
  let adminToken: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    store = await createRedisStore({ url: redis.url, prefix: 'outage:', logger: pino({ level: 'silent' }) });
    app = await buildApp({
      store,
      config: loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent' }),
      logger: pino({ level: 'silent' }),
      authFailures: { maxFailures: 100_000, windowMs: 60_000 },
    });
    const company = await expectStatus(
      call(app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: 'Outage' }),
      201,
    );
    base = `/v1/companies/${company.id}`;
    adminToken = (
      await expectStatus(call(app, 'POST', `${base}/tokens`, ADMIN_TOKEN, { role: 'admin' }), 201)
    ).token;
  }, 30_000);
  afterAll(async () => {
    await app.close();
    await store.close();
    await redis.stop();
  });

  const expect503 = async (res: {
    statusCode: number;
    headers: Record<string, unknown>;
    json(): unknown;
  }) => {
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.json()).toEqual({ error: 'unavailable', message: expect.any(String) });
  };

  it('a frozen Redis (SIGSTOP): requests in flight and new ones get 503, not a hang', async () => {
    await expectStatus(call(app, 'GET', base, adminToken), 200);
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const results = await answered(
        Promise.all(Array.from({ length: 10 }, () => call(app, 'GET', base, adminToken))),
        'frozen redis',
      );
      for (const r of results) await expect503(r);
      const ready = await answered(app.inject({ method: 'GET', url: '/readyz' }), 'readyz');
      expect(ready.statusCode).toBe(503);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    await expectStatus(call(app, 'GET', base, adminToken), 200);
  });

  it('Redis killed with requests in flight, then down, then started again on the same port', async () => {
    // writes and reads in flight while the server dies: each answers, none with 500
    const inFlight = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? call(app, 'PATCH', base, adminToken, { name: `n${i}` })
          : call(app, 'GET', `${base}/groups`, adminToken),
      ),
    );
    const killed = redis;
    process.kill(killed.pid, 'SIGKILL');
    const results = await answered(inFlight, 'in flight');
    await killed.stop(); // reaps it and removes its directory
    for (const r of results) expect([200, 503]).toContain(r.statusCode);
    expect(results.some((r) => r.statusCode === 503)).toBe(true);

    // while down: every kind of request that needs Redis
    const down = await answered(
      Promise.all([
        call(app, 'GET', base, adminToken),
        call(app, 'POST', `${base}/groups`, adminToken, { name: 'G', timezone: 'Europe/Berlin' }),
        call(app, 'GET', '/v1/companies', ADMIN_TOKEN),
        call(app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: 'during outage' }),
      ]),
      'redis down',
    );
    for (const r of down) await expect503(r);
    expect((await answered(app.inject({ method: 'GET', url: '/readyz' }), 'readyz')).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    // back on the same port (an empty server: this one keeps no data): the app recovers by itself
    redis = await startRedisServer({ port: redis.port });
    for (let i = 0; i < 200; i++) {
      if ((await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const again = await expectStatus(call(app, 'POST', '/v1/companies', ADMIN_TOKEN, { name: 'After' }), 201);
    await expectStatus(call(app, 'GET', `/v1/companies/${again.id}`, ADMIN_TOKEN), 200);
  }, 30_000);
});
