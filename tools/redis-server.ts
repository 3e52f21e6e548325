/**
 * A throwaway redis-server (Debian's package) on a free loopback port: no persistence, its
 * own temp dir. The test setup and the benchmarks start theirs through this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface OwnRedis {
  url: string;
  port: number;
  /** the running process's pid (changes with restart) */
  pid: number;
  /** stops the server and removes its directory */
  stop(): Promise<void>;
  /** an outage: stops the server (SIGKILL), keeping port and directory for restart() */
  pause(): Promise<void>;
  /** starts it again on the same port (empty unless started `persistent`) */
  restart(): Promise<void>;
}

export async function startRedisServer(
  opts: {
    databases?: number;
    timeoutMs?: number;
    /** keep every write in an append-only file (fsync always), so restart() finds the data again */
    persistent?: boolean;
    /** start on this port (a restart of an earlier server), else a free one */
    port?: number;
  } = {},
): Promise<OwnRedis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'pbx-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    opts.persistent ? 'yes' : 'no',
    ...(opts.persistent ? ['--appendfsync', 'always'] : []),
    '--dir',
    dir,
  ];
  if (opts.databases !== undefined) args.push('--databases', String(opts.databases));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  try {
    child = await spawnAndWait(args, url, port, opts.timeoutMs ?? 10_000);
  } catch (err) {
    // no OwnRedis is returned, so nobody else could stop() it and remove the directory
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const own: OwnRedis = {
    url,
    port,
    pid: child.pid ?? 0,
    async stop() {
      await kill(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async pause() {
      await kill(child, 'SIGKILL');
    },
    async restart() {
      await kill(child, 'SIGKILL');
      child = await spawnAndWait(args, url, port, opts.timeoutMs ?? 10_000);
      own.pid = child.pid ?? 0;
    },
  };
  return own;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/**
 * The environment for a redis-server child. The clock-moved test run (`npm run test:clock`) runs
 * Node under libfaketime; redis-server is started without it: libfaketime breaks its start-up, and
 * the store only ever gives Redis relative TTLs, so Redis's own clock never decides a window.
 */
export function redisServerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.FAKETIME;
  return env;
}

async function spawnAndWait(
  args: string[],
  url: string,
  port: number,
  timeoutMs: number,
): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore', env: redisServerEnv() });
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new Error(
          `cannot start redis-server (npm run setup installs it: apt-get install -y redis-server): ${err.message}`,
        ),
      ),
    );
    child.once('spawn', () => resolve());
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited early with code ${child.exitCode}`);
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return child;
    } catch {
      if (Date.now() > deadline) {
        // nobody gets a handle to a server that never answered: stop it here
        await kill(child, 'SIGKILL');
        throw new Error(`redis-server did not answer on port ${port}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
