/**
 * The composition root as a real process (src/app/main.ts under tsx): a bad environment stops it
 * with a message naming each bad variable; with ARI disabled it serves the API alone; with the
 * ARI simulator and a real Redis it provisions devices into "Asterisk", routes a call, and
 * keeps its configuration across a restart.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN = 'main-test-admin-token-0123456789';

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
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
      reject(new Error(`exited early with ${code}: ${stderr}`));
    });
  });
  listening.catch(() => {});
  return { child, exited, listening, out: () => stdout, err: () => stderr };
}

async function call<T>(base: string, method: string, path: string, body?: unknown, token = ADMIN) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('main.ts: environment', () => {
  it('exits 1 naming every bad variable', async () => {
    const p = start({ PORT: 'not-a-port', ADMIN_TOKEN: 'short' });
    expect(await p.exited).toBe(1);
    expect(p.err()).toContain('PORT');
    expect(p.err()).toContain('ADMIN_TOKEN');
  });

  it('refuses to start the call controller without ARI credentials (no default password)', async () => {
    const p = start({ ADMIN_TOKEN: ADMIN });
    expect(await p.exited).toBe(1);
    expect(p.err()).toContain('ARI_USERNAME');
    expect(p.err()).toContain('ARI_PASSWORD');
  });

  it('names ARI_PASSWORD_FILE when the file cannot be read', async () => {
    const p = start({ ARI_USERNAME: 'ari', ARI_PASSWORD_FILE: '/nonexistent/ari_password' });
    expect(await p.exited).toBe(1);
    expect(p.err()).toContain('ARI_PASSWORD_FILE');
  });

  it('serves the API alone on the in-memory store and stops cleanly on SIGTERM', async () => {
    const p = start({ PORT: '0', HOST: '127.0.0.1', ARI_ENABLED: 'false', ADMIN_TOKEN: ADMIN });
    const base = await p.listening;
    expect(p.out()).toContain('NOTHING is persisted');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const created = await call(base, 'POST', '/v1/companies', { name: 'Main GmbH' });
    expect(created.status).toBe(201);
    expect(p.out()).not.toContain(ADMIN);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});

describe('main.ts: Redis away', () => {
  it('starts all the same: /healthz answers, /readyz says not ready; SIGTERM exits within 10 s', async () => {
    const sim = await startAriSimulator({ timeScale: 0.05 });
    try {
      const p = start({
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_TOKEN: ADMIN,
        // nothing listens there
        REDIS_URL: `redis://127.0.0.1:${await closedPort()}/0`,
        ARI_URL: sim.url,
        ARI_USERNAME: 'ari',
        ARI_PASSWORD: 'ari',
        LOG_LEVEL: 'info',
      });
      const base = await p.listening;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      await until(() => sim.driver.restLog().some((r) => r.path.includes('/applications/')), 'the reconcile');
      p.child.kill('SIGTERM');
      // before this change the process was still retrying Redis 20 s after the signal
      expect(await within(p.exited, 10_000, 'exit after SIGTERM')).toBe(0);
      expect(p.out()).toContain('"msg":"stopped"');
    } finally {
      await sim.close();
    }
  });
});

describe('main.ts: Asterisk and Redis both away', () => {
  it('serves /healthz, says not ready, and SIGTERM still exits within 10 s', async () => {
    const p = start({
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: ADMIN,
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}/0`,
      ARI_URL: `http://127.0.0.1:${await closedPort()}`,
      ARI_USERNAME: 'ari',
      ARI_PASSWORD: 'ari',
      LOG_LEVEL: 'info',
    });
    const base = await p.listening;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    p.child.kill('SIGTERM');
    expect(await within(p.exited, 10_000, 'exit after SIGTERM')).toBe(0);
  });
});

describe('main.ts: with Asterisk (simulator) and Redis', () => {
  let sim: AriSimulator;
  let env: Record<string, string>;
  let secretsDir: string | undefined;
  const ariPassword = `sim-secret-${process.pid}`;

  beforeAll(async () => {
    sim = await startAriSimulator({ password: ariPassword, timeScale: 0.05 });
    const dir = mkdtempSync(join(tmpdir(), 'pbx-main-'));
    secretsDir = dir;
    writeFileSync(join(dir, 'ari_password'), `${ariPassword}\n`);
    env = {
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: ADMIN,
      // a database of its own on the test Redis: this file uses the default key prefix
      REDIS_URL: `${inject('redisUrl')}/11`,
      ARI_URL: sim.url,
      ARI_USERNAME: 'ari',
      ARI_PASSWORD_FILE: join(dir, 'ari_password'),
      CONTROLLER_ID: `main-test-${process.pid}`,
      LOG_LEVEL: 'info',
    };
  });

  afterAll(async () => {
    await sim?.close();
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  });

  it('provisions devices, routes a call to them, and keeps its configuration across a restart', async () => {
    const first = start(env);
    const base = await first.listening;
    const company = await call<{ id: string }>(base, 'POST', '/v1/companies', { name: 'Restart GmbH' });
    expect(company.status).toBe(201);
    const cid = company.body.id;
    const group = await call<{ id: string }>(base, 'POST', `/v1/companies/${cid}/groups`, {
      name: 'Berlin',
      timezone: 'Europe/Berlin',
      numberRanges: [{ first: '+4930777000', last: '+4930777099' }],
    });
    expect(group.status).toBe(201);
    const created = await call<{ id: string; devices: Array<{ sipUsername: string }> }>(
      base,
      'POST',
      `/v1/companies/${cid}/workplaces`,
      {
        firstName: 'Erika',
        lastName: 'Mustermann',
        email: 'erika.main@example.com',
        username: 'erika.main',
        groupId: group.body.id,
        number: '+4930777010',
        language: 'de',
        timezone: 'Europe/Berlin',
        devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
      },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const wid = created.body.id;
    const endpoint = created.body.devices[0]!.sipUsername;

    // the device reached "Asterisk" and the workplace became active
    await until(async () => {
      const wp = await call<{ status: string }>(base, 'GET', `/v1/companies/${cid}/workplaces/${wid}`);
      return wp.body.status === 'active';
    }, 'the workplace to become active');
    expect(sim.driver.dynamicConfig().get(`res_pjsip/endpoint/${endpoint}`)).toBeDefined();

    // a trunk call to the workplace's number rings the device, which answers
    sim.driver.setEndpointBehaviour(`PJSIP/${endpoint}`, { kind: 'answer', afterMs: 50 });
    const caller = await sim.driver.placeCall({ from: '+498912345', to: '+4930777010' });
    await until(() => caller.bridgedWith().length === 1, 'the caller to be bridged with the device');
    await caller.hangup();

    // the Anywhere portal is wired in: an unknown caller hears the refusal and is released
    const portal = await call(base, 'POST', `/v1/companies/${cid}/anywhere-portals`, {
      groupId: group.body.id,
      number: '+4930777099',
      displayFirstName: 'Anywhere',
      displayLastName: 'Berlin',
      level: 'company',
      timezone: 'Europe/Berlin',
    });
    expect(portal.status, JSON.stringify(portal.body)).toBe(201);
    const stranger = await sim.driver.placeCall({ from: '+491709999999', to: '+4930777099' });
    await stranger.waitForHangup(10_000);
    expect(stranger.heard()).toContain('sound:pbx/access-denied');

    // no secret in the logs
    expect(first.out()).not.toContain(ADMIN);
    expect(first.out()).not.toContain(ariPassword);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // a second start on the same Redis sees everything, and pushes the devices again
    const pushesBefore = sim.driver
      .restLog()
      .filter((r) => r.method === 'PUT' && r.path.includes(endpoint)).length;
    const second = start(env);
    const base2 = await second.listening;
    const again = await call<{ number: string; status: string }>(
      base2,
      'GET',
      `/v1/companies/${cid}/workplaces/${wid}`,
    );
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ number: '+4930777010', status: 'active' });
    await until(
      () =>
        sim.driver.restLog().filter((r) => r.method === 'PUT' && r.path.includes(endpoint)).length >
        pushesBefore,
      'the devices to be pushed again after the restart',
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('SIGTERM leaves an answered call up; the next process re-adopts it and ends it with either side', async () => {
    const first = start(env);
    const base = await first.listening;
    const company = await call<{ id: string }>(base, 'POST', '/v1/companies', { name: 'Handover GmbH' });
    const cid = company.body.id;
    const group = await call<{ id: string }>(base, 'POST', `/v1/companies/${cid}/groups`, {
      name: 'Hamburg',
      timezone: 'Europe/Berlin',
      numberRanges: [{ first: '+4940777000', last: '+4940777099' }],
    });
    const created = await call<{ id: string; devices: Array<{ sipUsername: string }> }>(
      base,
      'POST',
      `/v1/companies/${cid}/workplaces`,
      {
        firstName: 'Hans',
        lastName: 'Handover',
        email: 'hans.handover@example.com',
        username: 'hans.handover',
        groupId: group.body.id,
        number: '+4940777010',
        language: 'de',
        timezone: 'Europe/Berlin',
        devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
      },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const endpoint = `PJSIP/${created.body.devices[0]!.sipUsername}`;
    await until(
      () => sim.driver.dynamicConfig().has(`res_pjsip/endpoint/${created.body.devices[0]!.sipUsername}`),
      'device pushed',
    );
    sim.driver.setEndpointBehaviour(endpoint, { kind: 'answer', afterMs: 50 });
    const caller = await sim.driver.placeCall({ from: '+498912345', to: '+4940777010' });
    const desk = await sim.driver.waitForChannel(endpoint);
    await until(() => caller.bridgedWith().length === 1, 'the caller bridged with the desk phone');

    first.child.kill('SIGTERM');
    expect(await within(first.exited, 10_000, 'exit after SIGTERM')).toBe(0);
    expect(first.out()).toContain('calls left to the next controller');
    // the shutdown did not hang the call up
    expect(caller.isAlive()).toBe(true);
    expect(desk.isAlive()).toBe(true);

    const second = start(env);
    await second.listening;
    await until(() => second.out().includes('adoption: answered call taken over'), 'the call re-adopted');
    expect(caller.bridgedWith()).toEqual([desk.id]);
    await desk.hangup();
    expect(await caller.waitForHangup()).toBe(16);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
