/**
 * The Redis store across a Redis outage: a private redis-server (with an append-only file, as
 * in production) is stopped and started again on the same port. Connection errors are logged;
 * commands fail fast with StoreUnavailableError while it is down; ping reports the outage;
 * commands and the change subscription resume afterwards and the configuration is still there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createRedisStore,
  StoreUnavailableError,
  type ConfigChange,
  type PbxStore,
} from '../../src/store/index.js';
import { freePort } from '../support/redis-global-setup.js';
import { redisServerEnv } from '../../tools/redis-server.js';
import { workplace } from './fixtures.js';

let port: number;
let dir: string;
let server: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--save', '', '--dir', dir],
    { stdio: 'ignore', env: redisServerEnv() },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve());
  });
  server = child;
}

async function stopRedis(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Polls until the condition holds; bounded by attempts, not by asserting on elapsed time. */
async function eventually(condition: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition never held');
}

beforeAll(async () => {
  port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'pbx-store-reconnect-'));
  await startRedis();
});

afterAll(async () => {
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

it('survives a Redis restart: logged errors, ping false while down, then commands and pub/sub resume', async () => {
  const logLines: string[] = [];
  const logger = pino(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    }),
  );
  const url = `redis://127.0.0.1:${port}`;
  const prefix = `reconnect-${randomUUID()}:`;
  // the server may still be loading right after spawn; connect retries until it answers
  const writer: PbxStore = await createRedisStore({ url, prefix, logger, checkReferences: false });
  const listener: PbxStore = await createRedisStore({ url, prefix, logger, checkReferences: false });
  try {
    const before = workplace('c1');
    await writer.workplaces.put(before);
    const received: ConfigChange[] = [];
    await listener.onChange((c) => received.push(c));

    await stopRedis();
    expect(await writer.ping()).toBe(false);
    // commands fail at once while disconnected (nothing queued for later), as StoreUnavailableError
    await expect(writer.workplaces.getById(before.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(writer.workplaces.put(workplace('c1'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await eventually(async () => logLines.some((l) => l.includes('redis connection error')));

    await startRedis();
    await eventually(() => writer.ping());
    expect(await writer.workplaces.getById(before.id)).toEqual(before);

    const after = workplace('c1');
    // the subscriber reconnects on its own schedule; publish until it hears one
    await eventually(async () => {
      await writer.publishChange({ kind: 'workplace', id: after.id, companyId: 'c1' });
      return received.some((c) => c.id === after.id);
    });
    await writer.workplaces.put(after);
    expect(await listener.lookupNumber(after.number)).toEqual({
      kind: 'workplace',
      id: after.id,
      workplace: after,
    });
  } finally {
    await writer.close();
    await listener.close();
  }
});
