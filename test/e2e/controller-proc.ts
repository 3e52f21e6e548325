/**
 * The controller under test as a real process (src/app/main.ts under tsx), so the fault suite can
 * kill it like a crash does (SIGKILL) and start the next one; and a TCP proxy in front of
 * Asterisk's HTTP port, so the suite can drop the controller's event socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface ControllerProcess {
  child: ChildProcess;
  /** the API's base URL once it listens */
  listening: Promise<string>;
  exited: Promise<number | null>;
  /** JSON log lines so far */
  out(): string;
  /** resolves once a log line contains `text` */
  waitForLog(text: string, ms?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startControllerProcess(env: Record<string, string>): ControllerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = <T>(check: () => T | undefined, what: string, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + ms;
      const timer = setInterval(() => {
        const v = check();
        if (v !== undefined) {
          clearInterval(timer);
          resolve(v);
        } else if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
          clearInterval(timer);
          reject(new Error(`controller: no ${what} (exit ${child.exitCode}) ${stderr.slice(-2000)}`));
        }
      }, 25);
    });
  const listening = waitFor(
    () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
    'listening',
    60_000,
  );
  listening.catch(() => {});
  return {
    child,
    listening,
    exited,
    out: () => stdout,
    waitForLog: (text, ms = 20_000) =>
      waitFor(() => (stdout.includes(text) ? true : undefined), `log "${text}"`, ms).then(() => {}),
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface TcpProxy {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** cuts every open connection (the event socket and the REST pool) */
  dropAll(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    dropAll() {
      const n = open.size;
      for (const s of open) s.destroy();
      open.clear();
      return n;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
