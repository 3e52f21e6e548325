/**
 * Which Asterisk the e2e suite runs against:
 * 1. an existing one: ARI_URL + ARI_USERNAME + ARI_PASSWORD (it must load
 *    asterisk/extensions-e2e.conf — ASTERISK_E2E=yes in the container — or be the ARI
 *    simulator started with `--dialplan asterisk/extensions-e2e.conf`);
 * 2. else, when a Docker engine answers: the image built from asterisk/, started with
 *    ASTERISK_E2E=yes, a random ARI password and ARI published on a loopback port;
 * 3. else: skipped, with the reason printed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface AriTarget {
  kind: 'ari';
  url: string;
  username: string;
  password: string;
  /** how it was found, for the log */
  source: string;
  close(): Promise<void>;
}
export type E2eTarget = AriTarget | { kind: 'skip'; reason: string };

function dockerEngine(): { ok: true } | { ok: false; why: string } {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) {
    return { ok: false, why: 'no /var/run/docker.sock and no DOCKER_HOST' };
  }
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (info.status !== 0)
    return { ok: false, why: `docker info failed: ${(info.stderr || info.error?.message || '').trim()}` };
  return { ok: true };
}

async function waitForAri(url: string, username: string, password: string, timeoutMs: number): Promise<void> {
  const auth = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/ari/asterisk/ping`, { headers: { authorization: auth } });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`ARI at ${url} did not answer within ${timeoutMs} ms (${last})`);
}

async function startContainer(): Promise<AriTarget> {
  const image = 'open-cloud-pbx-asterisk:e2e';
  await run('docker', ['build', '-t', image, join(repoRoot, 'asterisk')], { maxBuffer: 64 * 1024 * 1024 });
  const username = 'e2e';
  const password = randomBytes(24).toString('base64url');
  const sounds = join(repoRoot, 'sounds');
  // the password goes through the environment of `docker run`, not its command line
  const { stdout } = await run(
    'docker',
    [
      'run',
      '-d',
      '--rm',
      '-e',
      `ARI_USERNAME=${username}`,
      '-e',
      'ARI_PASSWORD',
      '-e',
      'ASTERISK_E2E=yes',
      '-p',
      '127.0.0.1::8088',
      '-v',
      `${sounds}/de/pbx:/var/lib/asterisk/sounds/de/pbx:ro`,
      '-v',
      `${sounds}/en/pbx:/var/lib/asterisk/sounds/en/pbx:ro`,
      image,
    ],
    { env: { ...process.env, ARI_PASSWORD: password } },
  );
  const id = stdout.trim();
  const close = async () => {
    await run('docker', ['rm', '-f', id]).catch(() => undefined);
  };
  try {
    const port = (await run('docker', ['port', id, '8088/tcp'])).stdout
      .trim()
      .split('\n')[0]!
      .split(':')
      .pop();
    const url = `http://127.0.0.1:${port}`;
    await waitForAri(url, username, password, 120_000);
    return {
      kind: 'ari',
      url,
      username,
      password,
      source: `docker container ${id.slice(0, 12)} (${image})`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function resolveTarget(env: NodeJS.ProcessEnv = process.env): Promise<E2eTarget> {
  const { ARI_URL, ARI_USERNAME, ARI_PASSWORD } = env;
  if (ARI_URL) {
    if (!ARI_USERNAME || !ARI_PASSWORD) {
      return { kind: 'skip', reason: 'ARI_URL is set but ARI_USERNAME or ARI_PASSWORD is missing' };
    }
    const url = ARI_URL.replace(/\/+$/, '').replace(/\/ari$/, '');
    await waitForAri(url, ARI_USERNAME, ARI_PASSWORD, 10_000);
    return {
      kind: 'ari',
      url,
      username: ARI_USERNAME,
      password: ARI_PASSWORD,
      source: `ARI_URL=${url}`,
      close: async () => {},
    };
  }
  const engine = dockerEngine();
  if (engine.ok) return startContainer();
  return {
    kind: 'skip',
    reason:
      `no Asterisk reachable: ARI_URL is not set and there is no Docker engine (${engine.why}). ` +
      'Run against an Asterisk with ARI_URL/ARI_USERNAME/ARI_PASSWORD, or against the simulator: ' +
      '`npm run ari-sim -- --port 18088 --dialplan asterisk/extensions-e2e.conf` then ' +
      '`ARI_URL=http://127.0.0.1:18088 ARI_USERNAME=ari ARI_PASSWORD=ari npm run test:e2e`.',
  };
}
