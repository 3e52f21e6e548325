/**
 * One authentication for every entrance, and access that ends when it is revoked: the bad-token
 * limiter holds on the event WebSocket (bearer subprotocol, tickets) and on /metrics as on any
 * route; a live event stream closes (4401) when its token is deleted, its account deleted or
 * signed out; a token minted from a web session dies with the account and with a password reset.
 * Real HTTP and real `ws` clients against a listening app.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inject } from 'vitest';
import { WebSocket } from 'ws';
import { buildApp } from '../../src/api/app.js';
import { CLOSE_REVOKED, EventClient, EventHub, EVENTS_PROTOCOL } from '../../src/api/events.js';
import { loadConfig } from '../../src/config.js';
import { createMemoryBackend } from '../../src/events/backend.js';
import { createMetrics } from '../../src/metrics.js';
import { createRedisStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { ADMIN_TOKEN, call, expectStatus, seedCompany } from './helpers.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
const PASSWORD = 'correct horse battery';
const MAX_FAILURES = 5;

let app: Awaited<ReturnType<typeof buildApp>>;
let store: Store;
let ws: string;

/** A listening app with its own bad-token limiter (each test of the limiter gets a fresh one). */
async function listeningApp() {
  const built = await buildApp({
    store,
    config: loadConfig({ ADMIN_TOKEN, METRICS_TOKEN, LOG_LEVEL: 'silent', COUNTRY_CODE: '49' }),
    logger: pino({ level: 'silent' }),
    telemetry: createMemoryBackend(pino({ level: 'silent' })),
    metrics: createMetrics({ defaultMetrics: false }),
    authFailures: { maxFailures: MAX_FAILURES, windowMs: 60_000 },
  });
  await built.listen({ host: '127.0.0.1', port: 0 });
  const address = built.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app: built, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

beforeAll(async () => {
  store = await createRedisStore({ url: inject('redisUrl'), prefix: `test-revoked-${randomUUID()}:` });
  ({ app, ws } = await listeningApp());
});
afterAll(async () => {
  await app?.close();
  await store?.close();
});

/** Opens a stream; resolves with the socket, or rejects with the HTTP status of a refusal. */
function open(path: string, protocols: string[], base = ws): Promise<WebSocket> {
  const socket = new WebSocket(`${base}${path}`, protocols);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

function closed(socket: WebSocket, withinMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stream stayed open')), withinMs);
    socket.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** An admin account of the company, signed in: its cookie and CSRF token. */
async function signedInAdmin(base: string, adminToken: string) {
  const username = `admin.${randomUUID().slice(0, 8)}`;
  const inv = await expectStatus(
    call(app, 'POST', `${base}/accounts`, adminToken, { role: 'admin', username }),
    201,
  );
  const token = new URL(inv.link.replace('#/', '')).searchParams.get('token')!;
  await expectStatus(call(app, 'POST', '/v1/auth/password', undefined, { token, password: PASSWORD }), 204);
  const res = await call(app, 'POST', '/v1/auth/login', undefined, { login: username, password: PASSWORD });
  expect(res.statusCode, res.body).toBe(200);
  const raw = res.headers['set-cookie'];
  const cookie = ((Array.isArray(raw) ? raw[0] : raw) as string).split(';')[0]!.split('=')[1]!;
  return {
    account: inv.account,
    username,
    cookies: { pbx_session: cookie },
    csrf: res.json().csrfToken as string,
  };
}

describe('one authentication for every entrance', () => {
  it('wrong bearer subprotocols on the event WebSocket count, then 429 (a valid token still passes)', async () => {
    const own = await listeningApp();
    try {
      const a = await seedCompany(own.app, `Ws ${randomUUID()}`, {
        first: '+4930555000',
        last: '+4930555099',
      });
      const results: string[] = [];
      for (let i = 0; i < MAX_FAILURES + 2; i++) {
        results.push(
          await open(
            `/v1/companies/${a.company.id}/events`,
            [EVENTS_PROTOCOL, `bearer.pbx_guess${i}${'x'.repeat(40)}`],
            own.ws,
          ).then(
            (s) => (s.close(), 'open'),
            (e: Error) => e.message,
          ),
        );
      }
      expect(results).toEqual([...Array(MAX_FAILURES).fill('HTTP 401'), 'HTTP 429', 'HTTP 429']);
      // a valid token is never refused by the limit
      const good = await open(
        `/v1/companies/${a.company.id}/events`,
        [EVENTS_PROTOCOL, `bearer.${a.adminToken}`],
        own.ws,
      );
      good.close();
      // the same budget: a bad token on an HTTP route or on /metrics is refused at once
      const headers = { authorization: 'Bearer guess' };
      expect((await fetch(`${own.http}/v1/companies`, { headers })).status).toBe(429);
      expect((await fetch(`${own.http}/metrics`, { headers })).status).toBe(429);
      const scrape = await fetch(`${own.http}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(scrape.status).toBe(200);
    } finally {
      await own.app.close();
    }
  });

  it('wrong event tickets count in the same limiter', async () => {
    const own = await listeningApp();
    try {
      const a = await seedCompany(own.app, `Tk ${randomUUID()}`, {
        first: '+4930558000',
        last: '+4930558099',
      });
      const results: string[] = [];
      for (let i = 0; i < MAX_FAILURES + 1; i++) {
        results.push(
          await open(
            `/v1/companies/${a.company.id}/events`,
            [EVENTS_PROTOCOL, `ticket.evt_guess${i}`],
            own.ws,
          ).then(
            (s) => (s.close(), 'open'),
            (e: Error) => e.message,
          ),
        );
      }
      expect(results).toEqual([...Array(MAX_FAILURES).fill('HTTP 401'), 'HTTP 429']);
    } finally {
      await own.app.close();
    }
  });

  it('wrong metrics tokens count, then 429; the metrics token opens nothing else', async () => {
    const own = await listeningApp();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < MAX_FAILURES + 2; i++) {
        const r = await fetch(`${own.http}/metrics`, { headers: { authorization: `Bearer guess-${i}` } });
        statuses.push(r.status);
      }
      expect(statuses).toEqual([...Array(MAX_FAILURES).fill(401), 429, 429]);
      const ok = await fetch(`${own.http}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(ok.status).toBe(200);
      const api = await fetch(`${own.http}/v1/companies`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(api.status).toBe(403);
    } finally {
      await own.app.close();
    }
  });
});

describe('revoked access ends live streams', () => {
  let a: Awaited<ReturnType<typeof seedCompany>>;
  beforeAll(async () => {
    a = await seedCompany(app, `Revoke ${randomUUID()}`, { first: '+4930556000', last: '+4930556099' });
  });

  it('deleting the token closes the stream it opened with 4401; another token keeps its stream', async () => {
    const minted = await expectStatus(
      call(app, 'POST', `${a.base}/tokens`, a.adminToken, { role: 'admin' }),
      201,
    );
    const doomed = await open(`${a.base}/events`, [EVENTS_PROTOCOL, `bearer.${minted.token}`]);
    const kept = await open(`${a.base}/events`, [EVENTS_PROTOCOL, `bearer.${a.adminToken}`]);
    const end = closed(doomed);
    await expectStatus(call(app, 'DELETE', `${a.base}/tokens/${minted.id}`, a.adminToken), 204);
    expect((await end).code).toBe(CLOSE_REVOKED);
    expect(kept.readyState).toBe(WebSocket.OPEN);
    kept.close();
  });

  it('a stream opened by a ticket of a web session closes when the session signs out', async () => {
    const admin = await signedInAdmin(a.base, a.adminToken);
    const ticket = await expectStatus(
      call(app, 'POST', `${a.base}/event-tickets`, undefined, undefined, {
        cookies: admin.cookies,
        headers: { 'x-csrf-token': admin.csrf },
      }),
      201,
    );
    const stream = await open(`${a.base}/events`, ticket.protocols);
    const end = closed(stream);
    await expectStatus(
      call(app, 'POST', '/v1/auth/logout', undefined, undefined, {
        cookies: admin.cookies,
        headers: { 'x-csrf-token': admin.csrf },
      }),
      204,
    );
    expect((await end).code).toBe(CLOSE_REVOKED);
  });

  it('a stream opened by a ticket of a web session closes when the account is deleted', async () => {
    const admin = await signedInAdmin(a.base, a.adminToken);
    const ticket = await expectStatus(
      call(app, 'POST', `${a.base}/event-tickets`, undefined, undefined, {
        cookies: admin.cookies,
        headers: { 'x-csrf-token': admin.csrf },
      }),
      201,
    );
    const stream = await open(`${a.base}/events`, ticket.protocols);
    const end = closed(stream);
    await expectStatus(call(app, 'DELETE', `${a.base}/accounts/${admin.account.id}`, a.adminToken), 204);
    expect((await end).code).toBe(CLOSE_REVOKED);
  });
});

describe('tokens minted from a web session do not outlive their account', () => {
  let a: Awaited<ReturnType<typeof seedCompany>>;
  beforeAll(async () => {
    a = await seedCompany(app, `Mint ${randomUUID()}`, { first: '+4930557000', last: '+4930557099' });
  });

  async function mint(admin: Awaited<ReturnType<typeof signedInAdmin>>) {
    return expectStatus(
      call(
        app,
        'POST',
        `${a.base}/tokens`,
        undefined,
        { role: 'admin' },
        {
          cookies: admin.cookies,
          headers: { 'x-csrf-token': admin.csrf },
        },
      ),
      201,
    );
  }

  it('deleting the account ends its token and the stream opened with it', async () => {
    const admin = await signedInAdmin(a.base, a.adminToken);
    const minted = await mint(admin);
    expect(minted.accountId).toBe(admin.account.id);
    await expectStatus(call(app, 'GET', `${a.base}/workplaces`, minted.token), 200);
    const stream = await open(`${a.base}/events`, [EVENTS_PROTOCOL, `bearer.${minted.token}`]);
    const end = closed(stream);
    await expectStatus(call(app, 'DELETE', `${a.base}/accounts/${admin.account.id}`, a.adminToken), 204);
    expect((await end).code).toBe(CLOSE_REVOKED);
    expect((await call(app, 'GET', `${a.base}/workplaces`, minted.token)).statusCode).toBe(401);
  });

  it('a password reset ends the tokens the account minted before it', async () => {
    const admin = await signedInAdmin(a.base, a.adminToken);
    const minted = await mint(admin);
    await expectStatus(call(app, 'GET', `${a.base}/workplaces`, minted.token), 200);
    const reset = await expectStatus(
      call(app, 'POST', `${a.base}/accounts/${admin.account.id}/reset-link`, a.adminToken),
      201,
    );
    const token = new URL(reset.link.replace('#/', '')).searchParams.get('token')!;
    await expectStatus(
      call(app, 'POST', '/v1/auth/password', undefined, { token, password: 'a new long passphrase' }),
      204,
    );
    expect((await call(app, 'GET', `${a.base}/workplaces`, minted.token)).statusCode).toBe(401);
    // tokens minted with a company token are not tied to any account and keep working
    expect((await call(app, 'GET', `${a.base}/workplaces`, a.adminToken)).statusCode).toBe(200);
  });

  it('a token whose account vanished without the cascade (e.g. a crash in between) is refused', async () => {
    const admin = await signedInAdmin(a.base, a.adminToken);
    const minted = await mint(admin);
    const stored = await store.accounts.get(a.company.id, admin.account.id);
    await store.accounts.delete(stored!);
    expect((await call(app, 'GET', `${a.base}/workplaces`, minted.token)).statusCode).toBe(401);
  });
});

describe('streams re-check their credential without a change notification too', () => {
  it('on the interval: a session that simply expired (nothing is published) closes its stream with 4401', async () => {
    // as the Authenticator answers: the platform admin token always holds, a session while it is stored
    const valid = new Set(['session:alive']);
    const hub = new EventHub(createMemoryBackend(pino({ level: 'silent' })), 1024, undefined, async (c) =>
      c.kind === 'platform' ? true : valid.has(`${c.kind}:${'hash' in c ? c.hash : ''}`),
    );
    await hub.start(60_000, undefined, 50);
    try {
      const socket = () => ({
        bufferedAmount: 0,
        send: vi.fn(),
        close: vi.fn(),
        terminate: vi.fn(),
        ping: vi.fn(),
      });
      const expiring = socket();
      const alive = socket();
      const platform = socket();
      hub.add(
        new EventClient(
          expiring as never,
          { companyId: 'c1', credential: { kind: 'session', hash: 'old' } },
          hub,
        ),
      );
      hub.add(
        new EventClient(
          alive as never,
          { companyId: 'c1', credential: { kind: 'session', hash: 'alive' } },
          hub,
        ),
      );
      hub.add(new EventClient(platform as never, { companyId: 'c1', credential: { kind: 'platform' } }, hub));
      await until(() => expiring.close.mock.calls.length > 0, 'the interval re-check');
      expect(expiring.close).toHaveBeenCalledWith(CLOSE_REVOKED, expect.stringContaining('revoked'));
      expect(alive.close).not.toHaveBeenCalled();
      expect(platform.close).not.toHaveBeenCalled();
      expect(hub.size).toBe(2);
    } finally {
      await hub.stop();
    }
  });
});

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
