/**
 * Errors fastify and node's HTTP parser raise before a route runs answer in the documented
 * `{ error, message, issues? }` shape: 414 (path parameter too long), 431 (headers too large),
 * 415 (text/plain on a JSON route), 400 (garbage on the wire). Over a real socket, since the
 * parser errors never reach app.inject.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, makeApp, seedCompany, type TestApp } from './helpers.js';

/** Sends raw bytes and returns the whole answer once the server closes or ends it. */
function rawRequest(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (/\r\n\r\n/.test(data)) {
        const length = /content-length: (\d+)/i.exec(data);
        const body = data.split('\r\n\r\n').slice(1).join('\r\n\r\n');
        if (length && Buffer.byteLength(body) >= Number(length[1])) socket.end();
      }
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(payload);
  });
}

function documented(body: string): { error: string; message: string } {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  expect(Object.keys(parsed).sort()).toEqual(['error', 'message']);
  expect(typeof parsed.error).toBe('string');
  expect(typeof parsed.message).toBe('string');
  return parsed as { error: string; message: string };
}

describe('framework and parser errors in the documented shape', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;
  let base: string;
  let port: number;

  beforeAll(async () => {
    t = await makeApp({ storeKind: 'memory' });
    s = await seedCompany(t.app);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => t.close());

  it('a path id longer than any id → 414 without echoing it', async () => {
    const id = 'a'.repeat(500);
    const res = await fetch(`${base}/v1/companies/${id}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(414);
    const text = await res.text();
    expect(documented(text).error).toBe('uri_too_long');
    expect(text).not.toContain(id);
  });

  it('headers over the limit → 431', async () => {
    const answer = await rawRequest(
      port,
      `GET /v1/companies HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(documented(answer.split('\r\n\r\n')[1]!).error).toBe('headers_too_large');
  });

  it('garbage instead of HTTP → 400', async () => {
    const answer = await rawRequest(port, 'HELLO THERE\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(documented(answer.split('\r\n\r\n')[1]!).error).toBe('bad_request');
  });

  it('text/plain on a JSON route → 415', async () => {
    for (const url of ['/v1/companies', `${s.base}/groups`]) {
      const res = await fetch(base + url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${url === '/v1/companies' ? ADMIN_TOKEN : s.adminToken}`,
          'content-type': 'text/plain',
        },
        body: '{"name":"x"}',
      });
      expect(res.status).toBe(415);
      expect(documented(await res.text()).error).toBe('unsupported_media_type');
    }
  });
});
