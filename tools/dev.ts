/**
 * `npm run dev`: the whole service on one machine without Asterisk or Redis, for a first try.
 * Starts the ARI simulator (tools/ari-sim) with asterisk/extensions.conf, then src/main.ts as
 * a real child process wired to it with fresh random credentials. Uses REDIS_URL when set,
 * else the in-memory store. Production runs `npm start` (or docker compose) instead.
 *
 * The admin token is printed once to this terminal (never to the service's log), so the
 * README's curl walkthrough can use it; set ADMIN_TOKEN to choose your own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    `  admin token     ${adminToken}`,
    `  store           ${process.env.REDIS_URL ? process.env.REDIS_URL : 'in memory (nothing is persisted)'}`,
    '',
  ].join('\n') + '\n',
);

const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
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

const stop = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => {
  void sim.close().then(() => process.exit(code ?? 0));
});
