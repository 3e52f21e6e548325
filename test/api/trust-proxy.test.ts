/** X-Forwarded-For is believed only from the proxies listed in TRUST_PROXY (bad-token limiter buckets). */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../src/config.js';
import { makeApp, type TestApp } from './helpers.js';

describe('TRUST_PROXY and the bad-token limiter', () => {
  let t: TestApp | undefined;
  afterEach(async () => t?.close());

  const junk = (app: TestApp['app'], remoteAddress: string, forwardedFor?: string) =>
    app.inject({
      method: 'GET',
      url: '/v1/companies',
      headers: {
        authorization: 'Bearer pbx_junk',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      remoteAddress,
    });

  it('behind a trusted proxy, clients are told apart by X-Forwarded-For', async () => {
    t = await makeApp({
      storeKind: 'memory',
      authFailures: { maxFailures: 3, windowMs: 3_600_000 },
      env: { TRUST_PROXY: '10.1.0.0/16, 192.168.5.5' },
    });
    for (let i = 0; i < 3; i++) expect((await junk(t.app, '10.1.2.3', '203.0.113.7')).statusCode).toBe(401);
    expect((await junk(t.app, '10.1.2.3', '203.0.113.7')).statusCode).toBe(429);
    // another client behind the same proxy is not locked out
    expect((await junk(t.app, '10.1.2.3', '203.0.113.8')).statusCode).toBe(401);
    expect((await junk(t.app, '192.168.5.5', '203.0.113.9')).statusCode).toBe(401);
  });

  it('without TRUST_PROXY a forged X-Forwarded-For does not escape the lock-out', async () => {
    t = await makeApp({ storeKind: 'memory', authFailures: { maxFailures: 3, windowMs: 3_600_000 } });
    for (let i = 0; i < 3; i++)
      expect((await junk(t.app, '198.51.100.1', `203.0.113.${i}`)).statusCode).toBe(401);
    expect((await junk(t.app, '198.51.100.1', '203.0.113.99')).statusCode).toBe(429);
  });

  it('an untrusted peer cannot pick its bucket with X-Forwarded-For', async () => {
    t = await makeApp({
      storeKind: 'memory',
      authFailures: { maxFailures: 3, windowMs: 3_600_000 },
      env: { TRUST_PROXY: '10.1.0.0/16' },
    });
    for (let i = 0; i < 3; i++)
      expect((await junk(t.app, '198.51.100.2', `203.0.113.${i}`)).statusCode).toBe(401);
    expect((await junk(t.app, '198.51.100.2', '203.0.113.50')).statusCode).toBe(429);
  });

  it('a malformed TRUST_PROXY stops the start naming the variable', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, ::1, fd00::/8' }).TRUST_PROXY).toEqual([
      '10.0.0.1',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['proxy.local', '10.0.0.0/33', '10.0.0.1/8/1']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(ConfigError);
    }
  });
});
