/**
 * Which Asterisk (and Redis) the e2e suite runs against — the first that applies:
 * 1. an existing Asterisk: ARI_URL + ARI_USERNAME + ARI_PASSWORD (it must load
 *    asterisk/extensions-e2e.conf — ASTERISK_E2E=yes — or be the ARI simulator started with
 *    `--dialplan asterisk/extensions-e2e.conf`); Redis from REDIS_URL, else a local redis-server;
 * 2. a local Asterisk binary (ASTERISK_BIN, else /opt/asterisk-22.10.1/sbin/asterisk): started
 *    as a process on the project's own asterisk/ directory (tools/asterisk/local.ts) on free
 *    ports, with a local redis-server;
 * 3. a container engine (testcontainers): the image built from asterisk/ and a Redis container;
 * 4. none: skipped, with the reason printed — unless E2E_REQUIRED=yes (CI), where that fails.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findAsteriskBinary,
  startLocalAsterisk,
  waitForAri,
  type LocalAsterisk,
} from '../../tools/asterisk/local.js';
import { startRedisServer } from '../../tools/redis-server.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface AriTarget {
  kind: 'ari';
  url: string;
  username: string;
  password: string;
  /** the Redis the controller under test uses */
  redisUrl: string;
  /** how it was found, for the log */
  source: string;
  /** 'asterisk' for a real one, 'simulator' for tools/ari-sim */
  flavour: 'asterisk' | 'simulator';
  /** set when this suite started the Asterisk itself (CLI, log file, kill/restart) */
  local?: LocalAsterisk;
  close(): Promise<void>;
}
export type E2eTarget = AriTarget | { kind: 'skip'; reason: string };

/** Is the Asterisk behind ARI_URL a real one or the simulator? (the simulator says so) */
async function flavourOf(url: string, username: string, password: string): Promise<'asterisk' | 'simulator'> {
  const auth = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  const res = await fetch(`${url}/ari/asterisk/info`, { headers: { authorization: auth } });
  const info = (await res.json().catch(() => ({}))) as { build?: { user?: string } };
  return info.build?.user === 'ari-sim' ? 'simulator' : 'asterisk';
}

async function localRedis(env: NodeJS.ProcessEnv): Promise<{ url: string; stop(): Promise<void> }> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, stop: async () => {} };
  const redis = await startRedisServer();
  return { url: redis.url, stop: () => redis.stop() };
}

async function startLocal(bin: string): Promise<AriTarget> {
  const [asterisk, redis] = await Promise.all([startLocalAsterisk({ bin, e2e: true }), startRedisServer()]);
  return {
    kind: 'ari',
    url: asterisk.url,
    username: asterisk.username,
    password: asterisk.password,
    redisUrl: redis.url,
    flavour: 'asterisk',
    local: asterisk,
    source: `local Asterisk ${bin} (config rendered from asterisk/ into ${asterisk.dir}, HTTP ${asterisk.httpPort}, SIP ${asterisk.sipPort}) and redis-server ${redis.url}`,
    async close() {
      await Promise.all([asterisk.close(), redis.stop()]);
    },
  };
}

/** The container path (users' machines with Docker): the asterisk/ image and a Redis container. */
async function startContainers(): Promise<AriTarget | { kind: 'skip'; reason: string }> {
  const tc = await import('testcontainers');
  try {
    await tc.getContainerRuntimeClient();
  } catch (err) {
    return { kind: 'skip', reason: `no container engine (${(err as Error).message.split('\n')[0]})` };
  }
  const username = 'e2e';
  const password = randomBytes(24).toString('base64url');
  const image = await tc.GenericContainer.fromDockerfile(join(repoRoot, 'asterisk')).build(
    'open-cloud-pbx-asterisk:e2e',
    { deleteOnExit: false },
  );
  const [asterisk, redis] = await Promise.all([
    image
      .withEnvironment({ ARI_USERNAME: username, ARI_PASSWORD: password, ASTERISK_E2E: 'yes' })
      .withBindMounts(
        ['de', 'en'].map((lang) => ({
          source: join(repoRoot, 'sounds', lang, 'pbx'),
          target: `/var/lib/asterisk/sounds/${lang}/pbx`,
          mode: 'ro' as const,
        })),
      )
      .withExposedPorts(8088)
      .withWaitStrategy(tc.Wait.forHttp('/ari/asterisk/ping', 8088).forStatusCode(401))
      .start(),
    new tc.GenericContainer('redis:7-alpine').withExposedPorts(6379).start(),
  ]);
  const url = `http://${asterisk.getHost()}:${asterisk.getMappedPort(8088)}`;
  await waitForAri({ url, username, password, timeoutMs: 60_000 });
  return {
    kind: 'ari',
    url,
    username,
    password,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    flavour: 'asterisk',
    source: `containers ${asterisk.getId().slice(0, 12)} (asterisk/) and ${redis.getId().slice(0, 12)} (redis)`,
    async close() {
      await Promise.all([asterisk.stop(), redis.stop()]);
    },
  };
}

export async function resolveTarget(env: NodeJS.ProcessEnv = process.env): Promise<E2eTarget> {
  const { ARI_URL, ARI_USERNAME, ARI_PASSWORD } = env;
  if (ARI_URL) {
    if (!ARI_USERNAME || !ARI_PASSWORD) {
      return { kind: 'skip', reason: 'ARI_URL is set but ARI_USERNAME or ARI_PASSWORD is missing' };
    }
    const url = ARI_URL.replace(/\/+$/, '').replace(/\/ari$/, '');
    await waitForAri({ url, username: ARI_USERNAME, password: ARI_PASSWORD, timeoutMs: 10_000 });
    const [flavour, redis] = await Promise.all([flavourOf(url, ARI_USERNAME, ARI_PASSWORD), localRedis(env)]);
    return {
      kind: 'ari',
      url,
      username: ARI_USERNAME,
      password: ARI_PASSWORD,
      redisUrl: redis.url,
      flavour,
      source: `ARI_URL=${url} (${flavour})`,
      close: () => redis.stop(),
    };
  }
  const bin = findAsteriskBinary(env);
  if (bin) return startLocal(bin);
  const containers = await startContainers();
  if (containers.kind === 'ari') return containers;
  return {
    kind: 'skip',
    reason:
      `no Asterisk reachable: ARI_URL is not set, no Asterisk binary at ${env.ASTERISK_BIN || '/opt/asterisk-22.10.1/sbin/asterisk'} ` +
      `(ASTERISK_BIN; npm run setup builds one from ../shared/asterisk) and ${containers.reason}. ` +
      'Or run against the simulator: `npm run ari-sim -- --port 18088 --dialplan asterisk/extensions-e2e.conf` then ' +
      '`ARI_URL=http://127.0.0.1:18088 ARI_USERNAME=ari ARI_PASSWORD=ari npm run test:e2e`.',
  };
}

/** resolveTarget, failing instead of skipping where E2E_REQUIRED=yes (CI must not skip). */
export async function resolveRequiredTarget(env: NodeJS.ProcessEnv = process.env): Promise<E2eTarget> {
  const target = await resolveTarget(env);
  if (target.kind === 'skip' && env.E2E_REQUIRED === 'yes') {
    throw new Error(`E2E_REQUIRED=yes but the e2e suite would skip: ${target.reason}`);
  }
  return target;
}
