/**
 * `npm run dev`: the whole service on one machine without Asterisk or Redis, for a first try.
 * Starts the ARI simulator (tools/ari-sim) with asterisk/extensions.conf, then src/app/main.ts as
 * a real child process wired to it with fresh random credentials. Uses REDIS_URL when set,
 * else the in-memory store. Production runs `npm start` (or docker compose) instead.
 *
 * The admin token is printed once to this terminal (never to the service's log), so the
 * README's curl walkthrough can use it; set ADMIN_TOKEN to choose your own.
 *
 * Once the service answers, a demo company (group with a number range, a workplace, an
 * Anywhere portal) and its first admin account are created, and the one-time link that sets
 * the admin's password is printed: open it, choose a password, sign in to the web app.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAriSimulator } from './ari-sim/index.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const ariPassword = randomBytes(18).toString('base64url');
const adminToken = process.env.ADMIN_TOKEN || randomBytes(24).toString('hex');

const sim = await startAriSimulator({
  username: 'ari',
  password: ariPassword,
  dialplan: readFileSync(join(root, 'asterisk/extensions.conf'), 'utf8'),
});
// the password reaches the service through a file, as docker secrets do
const secrets = mkdtempSync(join(tmpdir(), 'pbx-dev-'));
writeFileSync(join(secrets, 'ari_password'), ariPassword, { mode: 0o600 });

const port = process.env.PORT || '3000';
process.stdout.write(
  [
    '',
    `  ARI simulator   ${sim.url}/ari  (stands in for Asterisk)`,
    `  API             http://127.0.0.1:${port}   OpenAPI: http://127.0.0.1:${port}/docs`,
    `  web app         http://127.0.0.1:${port}/app/  (first admin: see the setup link below)`,
    `  admin token     ${adminToken}`,
    `  store           ${process.env.REDIS_URL ? process.env.REDIS_URL : 'in memory (nothing is persisted)'}`,
    '',
  ].join('\n') + '\n',
);

const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    HOST: process.env.HOST || '127.0.0.1',
    PORT: port,
    ADMIN_TOKEN: adminToken,
    ARI_URL: sim.url,
    ARI_USERNAME: 'ari',
    ARI_PASSWORD_FILE: join(secrets, 'ari_password'),
  },
});

/** The demo company and its first admin's setup link, through the API like any client. */
async function seedDemo(): Promise<void> {
  const api = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${api}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const data = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  };
  const companies = (await call('GET', '/v1/companies')) as unknown as Array<{ id: string; name: string }>;
  if (companies.some((c) => c.name === 'Demo GmbH')) {
    process.stdout.write('  demo company exists already (Redis): create a reset link on /app/#/accounts\n');
    return;
  }
  const company = await call('POST', '/v1/companies', { name: 'Demo GmbH' });
  const c = `/v1/companies/${String(company.id)}`;
  const group = await call('POST', `${c}/groups`, {
    name: 'Berlin',
    timezone: 'Europe/Berlin',
    numberRanges: [{ first: '+4930123400', last: '+4930123499' }],
  });
  await call('POST', `${c}/workplaces`, {
    firstName: 'Erika',
    lastName: 'Mustermann',
    email: 'erika@example.com',
    username: 'erika.mustermann',
    groupId: group.id,
    number: '+4930123401',
    devices: [{ type: 'desktop' }],
  });
  await call('POST', `${c}/anywhere-portals`, {
    groupId: group.id,
    displayFirstName: 'Anywhere',
    displayLastName: 'Portal',
    number: '+4930123490',
  });
  const invite = await call('POST', `${c}/accounts`, { role: 'admin', username: 'admin' });
  process.stdout.write(
    [
      '',
      `  first admin     username "admin" of Demo GmbH — set the password here (one-time link):`,
      `                  ${String(invite.link)}`,
      '',
    ].join('\n') + '\n',
  );
}

seedDemo().catch((err: unknown) => process.stderr.write(`demo seed failed: ${String(err)}\n`));

const stop = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => {
  // the password file is only read at the service's start; it must not outlive this run
  rmSync(secrets, { recursive: true, force: true });
  void sim.close().then(() => process.exit(code ?? 0));
});
