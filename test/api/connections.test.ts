/**
 * Slow or idle clients cannot hold connections: real sockets against a listening app with short
 * limits. A body that never completes (with or without a token) and headers that never end are
 * answered 408 and closed; an idle keep-alive connection is closed; a client cannot open more
 * than its share of connections.
 */
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { createMemoryStore } from '../../src/store/index.js';
import { ADMIN_TOKEN } from './helpers.js';

/** Everything the server sends until it closes the socket; fails if it never does. */
function untilClosed(socket: Socket, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const hang = setTimeout(() => reject(new Error(`${label}: the server kept the connection`)), 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(hang);
      resolve(data);
    });
  });
}

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });

describe('connection limits', () => {
  let app: FastifyInstance;
  let port: number;
  const store = createMemoryStore();

  beforeAll(async () => {
    app = await buildApp({
      store,
      config: loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent' }),
      logger: pino({ level: 'silent' }),
      connectionLimits: {
        headersTimeoutMs: 400,
        requestTimeoutMs: 800,
        keepAliveTimeoutMs: 300,
        idleSocketTimeoutMs: 5_000,
        checkIntervalMs: 100,
        maxConnectionsPerClient: 4,
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  for (const withToken of [true, false]) {
    it(`a body that never completes is answered 408 and closed (${withToken ? 'with' : 'without'} a token)`, async () => {
      const socket = await open(port);
      const closed = untilClosed(socket, 'slow body');
      socket.write(
        'POST /v1/companies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n' +
          (withToken ? `Authorization: Bearer ${ADMIN_TOKEN}\r\n` : '') +
          '\r\n{"name":',
      );
      // keep trickling: a byte now and then must not keep the request alive
      const trickle = setInterval(() => socket.writable && socket.write(' '), 100);
      try {
        const answer = await closed;
        if (withToken) {
          expect(answer).toMatch(/^HTTP\/1\.1 408 /);
          expect(answer).toContain('"error":"timeout"');
        } else {
          // refused at once (no token), and the half-sent body does not keep the socket either
          expect(answer).toMatch(/^HTTP\/1\.1 (401|408) /);
        }
      } finally {
        clearInterval(trickle);
      }
    });
  }

  it('headers that never end are answered 408 and closed', async () => {
    const socket = await open(port);
    const closed = untilClosed(socket, 'slow headers');
    socket.write('GET /v1/companies HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-A: b\r\n'), 100);
    try {
      expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });

  it('an idle keep-alive connection is closed after its request', async () => {
    const socket = await open(port);
    const closed = untilClosed(socket, 'idle keep-alive');
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    expect(await closed).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('a client cannot open more than its share of connections', async () => {
    const sockets = await Promise.all(Array.from({ length: 4 }, () => open(port)));
    const extra = await open(port);
    const answer = await untilClosed(extra, 'connection over the cap');
    expect(answer).toBe('');
    // the others still work
    const first = sockets[0]!;
    const reply = new Promise<string>((resolve) => first.once('data', (d) => resolve(String(d))));
    first.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await reply).toMatch(/^HTTP\/1\.1 200 /);
    for (const s of sockets) s.destroy();
  });
});
