/**
 * Sign-in under attack, with real parallel HTTP requests: the throttle holds against a burst of
 * guesses sent at once, a sign-in flood is bounded (refused fast with Retry-After instead of
 * slowing everything), forgot-password answers before any lookup or mail, an anonymous reset
 * request leaves an open invitation alone, inviting an address another company uses answers as
 * for a free one, and common or personal passwords are refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_FAILURES, LoginThrottle } from '../../src/api/login-throttle.js';
import { GateBusyError, PasswordGate } from '../../src/api/password-gate.js';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import type { Mail, Mailer } from '../../src/mail/smtp.js';
import { createMemoryStore } from '../../src/store/index.js';
import {
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

const PASSWORD = 'correct horse battery';

/** A mailer whose sends wait until released: shows whether an answer waited for the mail. */
class HeldMailer implements Mailer {
  readonly sent: Mail[] = [];
  private held: Array<() => void> = [];
  hold = true;
  async send(mail: Mail): Promise<void> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    this.sent.push(mail);
  }
  get waiting(): number {
    return this.held.length;
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('sign-in under attack', () => {
  let t: TestApp;
  let http: string;
  let a: Awaited<ReturnType<typeof seedCompany>>;
  const mailer = new HeldMailer();

  beforeAll(async () => {
    t = await makeApp({
      mailer,
      loginThrottle: new LoginThrottle(),
      env: { SMTP_FROM: 'pbx@example.com', PUBLIC_URL: 'https://pbx.example.com' },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    http = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    a = await seedCompany(t.app, `Abuse ${randomUUID()}`, { first: '+4930559000', last: '+4930559099' });
  });
  afterAll(async () => {
    mailer.hold = false;
    mailer.release();
    await t.close();
  });

  async function account(username: string, email?: string, password = PASSWORD) {
    mailer.hold = false;
    const inv = await expectStatus(
      call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, {
        role: 'admin',
        username,
        ...(email ? { email } : {}),
      }),
      201,
    );
    const token = new URL(inv.link.replace('#/', '')).searchParams.get('token')!;
    await expectStatus(call(t.app, 'POST', '/v1/auth/password', undefined, { token, password }), 204);
    return inv.account;
  }

  const post = (path: string, body: unknown) =>
    fetch(`${http}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('24 wrong passwords and the right one sent at once: at most five are checked, the rest 429', async () => {
    const name = `race.${randomUUID().slice(0, 8)}`;
    await account(name);
    const bodies = [
      ...Array.from({ length: 24 }, (_, i) => ({ login: name, password: `wrong guess ${i}` })),
      { login: name, password: PASSWORD },
    ];
    const statuses = (await Promise.all(bodies.map((b) => post('/v1/auth/login', b)))).map((r) => r.status);
    const checked = statuses.filter((s) => s === 200 || s === 401).length;
    expect(checked).toBeLessThanOrEqual(FREE_FAILURES);
    expect(statuses.filter((s) => s === 429).length).toBe(bodies.length - checked);
    // whatever order they arrived in: afterwards the account is locked (or it got in first)
    const after = await post('/v1/auth/login', { login: name, password: 'one more guess' });
    expect(statuses.includes(200) ? [401, 429] : [429]).toContain(after.status);
  });

  it('forgot-password answers before the lookup and the mail, for known and unknown logins alike', async () => {
    await account('forgetful.admin', 'forgetful@example.com');
    mailer.hold = true;
    const known = await post('/v1/auth/forgot-password', { login: 'forgetful@example.com' });
    expect(known.status).toBe(202);
    // answered while the mail is still being sent (it used to wait ~900 ms for the SMTP server)
    await until(() => mailer.waiting === 1, 'the reset mail to start');
    const unknown = await post('/v1/auth/forgot-password', { login: 'nobody-here@example.com' });
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toEqual(await known.json());
    mailer.release();
    await until(() => mailer.sent.some((m) => m.to === 'forgetful@example.com'), 'the reset mail');
  });

  it('an anonymous forgot-password request does not void a pending invitation', async () => {
    mailer.hold = false;
    const inv = await expectStatus(
      call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, {
        role: 'admin',
        username: 'invited.admin',
        email: 'invited@example.com',
      }),
      201,
    );
    const sentBefore = mailer.sent.length;
    await expectStatus(
      call(t.app, 'POST', '/v1/auth/forgot-password', undefined, { login: 'invited@example.com' }),
      202,
    );
    await new Promise((r) => setTimeout(r, 100)); // the background half has run
    expect(mailer.sent.length).toBe(sentBefore);
    const token = new URL(inv.link.replace('#/', '')).searchParams.get('token')!;
    await expectStatus(
      call(t.app, 'POST', '/v1/auth/password', undefined, { token, password: PASSWORD }),
      204,
    );
  });

  it("inviting an address another company's account uses answers as for a free address", async () => {
    mailer.hold = false;
    await account('holder.admin', 'shared@example.com');
    const b = await seedCompany(t.app, `Other ${randomUUID()}`, {
      first: '+4940559000',
      last: '+4940559099',
    });
    const invite = (username: string, email: string) =>
      call(t.app, 'POST', `${b.base}/accounts`, b.adminToken, { role: 'admin', username, email });
    const used = await invite('b.first', 'shared@example.com');
    const free = await invite('b.second', 'free-address@example.com');
    expect(used.statusCode).toBe(201);
    expect(free.statusCode).toBe(201);
    const keys = (r: typeof used) => Object.keys(r.json()).sort();
    expect(keys(used)).toEqual(keys(free));
    expect(Object.keys(used.json().account).sort()).toEqual(Object.keys(free.json().account).sort());
    expect(used.json().account.email).toBe('shared@example.com');
    expect(used.json().emailed).toBe(free.json().emailed);
    // the address still signs in to the account that had it first, and nowhere else
    expect((await post('/v1/auth/login', { login: 'shared@example.com', password: PASSWORD })).status).toBe(
      200,
    );
    // within the own company the clash is said plainly (the admin sees those accounts anyway)
    const again = await invite('b.third', 'free-address@example.com');
    expect(again.statusCode).toBe(409);
    expect(issuePaths(again.json())).toEqual(['email']);
  });

  it('refuses common passwords, sequences and the account’s own names, naming the field', async () => {
    mailer.hold = false;
    const w = await expectStatus(
      call(
        t.app,
        'POST',
        `${a.base}/workplaces`,
        a.adminToken,
        workplaceBody('+4930559011', { firstName: 'Roswitha', lastName: 'Brunnhuber' }),
      ),
      201,
    );
    const inv = await expectStatus(
      call(t.app, 'POST', `${a.base}/accounts`, a.adminToken, {
        role: 'employee',
        workplaceId: w.id,
        email: 'r.brunnhuber@example.com',
      }),
      201,
    );
    const token = new URL(inv.link.replace('#/', '')).searchParams.get('token')!;
    const attempt = (password: string) =>
      call(t.app, 'POST', '/v1/auth/password', undefined, { token, password });
    const refused: Array<[string, RegExp]> = [
      ['1234567890', /sequence/],
      ['password123', /most common/],
      ['qwertyuiop', /sequence/],
      ['sunshine2020', /most common/],
      ['iloveyou2024!', /most common/],
      ['abcabcabcabc', /repetition/],
      ['roswitha-summer', /name of the account/],
      ['brunnhuber 1970', /name of the account/],
      [`${w.username}!!`, /username/],
      ['r.brunnhuber rocks', /name of the account/],
    ];
    for (const [password, why] of refused) {
      const res = await attempt(password);
      expect(res.statusCode, password).toBe(400);
      expect(issuePaths(res.json()), password).toEqual(['password']);
      expect(res.json().issues[0].message, password).toMatch(why);
    }
    // length over composition: a long lowercase passphrase is fine
    expect((await attempt('weiche sieben leuchtturm')).statusCode).toBe(204);
  });
});

describe('a sign-in flood is bounded', () => {
  it('the gate runs one hash at a time per address, queues a few, refuses the rest fast', async () => {
    const gate = new PasswordGate({ concurrency: 1, maxQueued: 2, maxWaitMs: 5_000, perAddressQueue: 1 });
    const releases: Array<() => void> = [];
    const work = () => new Promise<string>((resolve) => releases.push(() => resolve('done')));
    const first = gate.run('10.0.0.1', work);
    const second = gate.run('10.0.0.1', work); // waits behind the first of its address
    // a third from the same address: refused at once
    await expect(gate.run('10.0.0.1', work)).rejects.toMatchObject({ reason: 'address' });
    const other = gate.run('10.0.0.2', work); // waits for the global slot
    // running 1 + queued 2: the line is full
    await expect(gate.run('10.0.0.3', work)).rejects.toMatchObject({ reason: 'full' });
    expect(gate.state).toEqual({ running: 1, waiting: 2, addresses: 2 });
    await until(() => releases.length === 1, 'the first hash');
    releases[0]!();
    expect(await first).toBe('done');
    await until(() => releases.length === 2, 'the next hash');
    // never two at once
    expect(gate.state.running).toBe(1);
    releases[1]!();
    await until(() => releases.length === 3, 'the last hash');
    releases[2]!();
    expect(await Promise.all([second, other])).toEqual(['done', 'done']);
    expect(gate.state).toEqual({ running: 0, waiting: 0, addresses: 0 });
  });

  it('a wait longer than the deadline is refused', async () => {
    const gate = new PasswordGate({ concurrency: 1, maxQueued: 5, maxWaitMs: 50, perAddressQueue: 5 });
    let release!: () => void;
    const running = gate.run('a', () => new Promise<void>((r) => (release = r)));
    const late = gate.run('b', async () => 'never');
    await expect(late).rejects.toBeInstanceOf(GateBusyError);
    release();
    await running;
    expect(gate.state).toEqual({ running: 0, waiting: 0, addresses: 0 });
  });

  it('over HTTP: a flood of made-up names gets 503 + Retry-After once the line is full', async () => {
    const store = createMemoryStore();
    const app = await buildApp({
      store,
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      logger: pino({ level: 'silent' }),
      passwordGate: new PasswordGate({
        concurrency: 1,
        maxQueued: 2,
        maxWaitMs: 10_000,
        perAddressQueue: 100,
      }),
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          fetch(`${url}/v1/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ login: `made.up.${i}`, password: 'whatever password' }),
          }),
        ),
      );
      const statuses = responses.map((r) => r.status).sort();
      // one running and two waiting get their (wrong) answer; the other seven are refused at once
      expect(statuses).toEqual([401, 401, 401, 503, 503, 503, 503, 503, 503, 503]);
      for (const r of responses.filter((x) => x.status === 503))
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      // and the refused names were not charged an attempt
      const again = await fetch(`${url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'made.up.9', password: 'whatever password' }),
      });
      expect(again.status).toBe(401);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
