/** No token, PIN or password in a request log line, also when it arrives in the query string. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT_PATHS, redactUrl } from '../../src/logging.js';
import { ADMIN_TOKEN, makeApp, type TestApp } from './helpers.js';

describe('request logs', () => {
  let t: TestApp;
  const lines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'info', redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }, sink);
    t = await makeApp({ storeKind: 'memory', logger });
  });
  afterAll(async () => t.close());

  it('a token in the query string is not written to the log', async () => {
    lines.length = 0;
    const secret = 'pbx_SECRETsecretSECRET0123456789';
    const res = await t.app.inject({ method: 'GET', url: `/v1/companies?token=${secret}&limit=5` });
    expect(res.statusCode).toBe(401);
    const log = lines.join('');
    expect(log).toContain('incoming request');
    expect(log).toContain('/v1/companies?token=[redacted]&limit=5');
    expect(log).not.toContain(secret);
  });

  it('nor a PIN, password or access token under other names; the bearer header neither', async () => {
    lines.length = 0;
    await t.app.inject({
      method: 'GET',
      url: '/v1/companies?pin=4711&access_token=abcdef123456&Password=hunter2hunter2&api%5Fkey=k3yk3yk3y',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const log = lines.join('');
    expect(log).toContain('incoming request');
    for (const secret of ['4711', 'abcdef123456', 'hunter2hunter2', 'k3yk3yk3y', ADMIN_TOKEN]) {
      expect(log).not.toContain(secret);
    }
  });

  it('redactUrl keeps harmless parameters and paths', () => {
    expect(redactUrl('/v1/x')).toBe('/v1/x');
    expect(redactUrl('/v1/x?limit=20&status=active')).toBe('/v1/x?limit=20&status=active');
    expect(redactUrl('/v1/x?token')).toBe('/v1/x?token');
    expect(redactUrl('/v1/x?sipPassword=a&groupId=g')).toBe('/v1/x?sipPassword=[redacted]&groupId=g');
  });
});
