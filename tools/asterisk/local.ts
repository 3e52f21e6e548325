/**
 * A real Asterisk 22 as a plain process, on the project's own configuration.
 *
 * The files of `asterisk/` are copied into a temporary directory and rendered there by
 * `asterisk/docker-entrypoint.sh` (RENDER_ONLY=yes) — the very script the container runs — with
 * a random ARI password. Only what a second instance on the same machine needs is changed:
 * free loopback ports for HTTP/ARI and SIP, the directories of `asterisk.conf` pointed at the
 * temporary directory, and a log file (the container logs to its console instead). The
 * project's prompts (`sounds/<lang>/pbx`) appear where this Asterisk looks for sounds.
 *
 * Used by the e2e suite (test/e2e/target.ts), the config test and the benchmarks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../redis-server.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const DEFAULT_ASTERISK_BIN = '/opt/asterisk-22.10.1/sbin/asterisk';

/** ASTERISK_BIN, else the shared build's binary; undefined when neither exists. */
export function findAsteriskBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = env.ASTERISK_BIN || DEFAULT_ASTERISK_BIN;
  return existsSync(bin) ? bin : undefined;
}

export interface LocalAsteriskOptions {
  /** the asterisk binary (default: findAsteriskBinary()) */
  bin?: string;
  /** load asterisk/extensions-e2e.conf (ASTERISK_E2E=yes) — default true */
  e2e?: boolean;
  /** ARI_APP for the production dialplan (default pbx) */
  ariApp?: string;
  /** ms to wait for ARI to answer (default 60 s) */
  startTimeoutMs?: number;
  /** extra environment for docker-entrypoint.sh (TRUNK_HOST, ...) */
  env?: Record<string, string>;
}

export interface LocalAsterisk {
  /** base URL of HTTP/ARI, e.g. http://127.0.0.1:41234 (no /ari) */
  url: string;
  username: string;
  password: string;
  httpPort: number;
  sipPort: number;
  /** the rendered configuration, log and spool live here */
  dir: string;
  /** the file Asterisk logs notices, warnings and errors to */
  logFile: string;
  /** where stored recordings land (astspooldir/recording) */
  recordingDir: string;
  /** the running process's pid (changes with restart) */
  readonly pid: number;
  /** `asterisk -rx <command>` on this instance */
  cli(command: string): string;
  /** kill -9 (a crash): the directory and astdb stay for start() */
  kill(): Promise<void>;
  /** start again on the same ports and directory (after kill or stop) */
  start(): Promise<void>;
  /** stops the process and removes the directory */
  close(): Promise<void>;
}

/** `key => value` lines of [directories], pointed at `dir` (modules and binaries from the build). */
function directories(dir: string, prefix: string): string {
  return [
    '[directories]',
    `astcachedir => ${dir}/cache`,
    `astetcdir => ${dir}/etc`,
    `astmoddir => ${prefix}/lib/asterisk/modules`,
    `astvarlibdir => ${dir}/lib`,
    `astdbdir => ${dir}/db`,
    `astkeydir => ${dir}/lib`,
    `astdatadir => ${dir}/data`,
    `astagidir => ${dir}/data/agi-bin`,
    `astspooldir => ${dir}/spool`,
    `astrundir => ${dir}/run`,
    `astlogdir => ${dir}/log`,
    `astsbindir => ${prefix}/sbin`,
    '',
  ].join('\n');
}

/** The build's data directory, with the project's prompts added under sounds/<lang>/pbx. */
function linkDataDir(dataDir: string, prefix: string): void {
  const buildData = join(prefix, 'var/lib/asterisk');
  mkdirSync(join(dataDir, 'sounds'), { recursive: true });
  for (const entry of readdirSync(buildData)) {
    if (entry !== 'sounds') symlinkSync(join(buildData, entry), join(dataDir, entry));
  }
  const buildSounds = join(buildData, 'sounds');
  const langs = new Set([
    ...(existsSync(buildSounds) ? readdirSync(buildSounds) : []),
    ...readdirSync(join(repoRoot, 'sounds')).filter((f) => !f.includes('.')),
  ]);
  for (const lang of langs) {
    const target = join(dataDir, 'sounds', lang);
    mkdirSync(target, { recursive: true });
    const core = join(buildSounds, lang);
    if (existsSync(core)) {
      for (const entry of readdirSync(core)) {
        if (entry !== 'pbx') symlinkSync(join(core, entry), join(target, entry));
      }
    }
    const own = join(repoRoot, 'sounds', lang, 'pbx');
    if (existsSync(own)) symlinkSync(own, join(target, 'pbx'));
  }
}

function replaceOrFail(text: string, pattern: RegExp, replacement: string, what: string): string {
  if (!pattern.test(text)) throw new Error(`cannot render ${what}: ${pattern} not found`);
  return text.replace(pattern, replacement);
}

/**
 * Polls `GET /ari/asterisk/ping` until ARI answers 200. `stillStarting` may throw to give up
 * early (the process died); `why` adds what is known on a time-out (the log's errors).
 */
export async function waitForAri(opts: {
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
  stillStarting?: () => void;
  why?: () => string;
}): Promise<void> {
  const auth = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    opts.stillStarting?.();
    try {
      const res = await fetch(`${opts.url}/ari/asterisk/ping`, { headers: { authorization: auth } });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `ARI at ${opts.url} did not answer within ${opts.timeoutMs} ms (${last})\n${opts.why?.() ?? ''}`,
  );
}

/** The last errors and warnings of Asterisk's log, to say why a start failed. */
function logProblems(logFile: string): string {
  return existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => /ERROR|WARNING/.test(l))
        .slice(-20)
        .join('\n')
    : '';
}

export async function startLocalAsterisk(opts: LocalAsteriskOptions = {}): Promise<LocalAsterisk> {
  const bin = opts.bin ?? findAsteriskBinary();
  if (!bin) throw new Error(`no asterisk binary: set ASTERISK_BIN or run ../shared/asterisk/build.sh`);
  const prefix = resolve(dirname(bin), '..');
  const dir = mkdtempSync(join(tmpdir(), 'pbx-asterisk-'));
  try {
    return await startIn(dir, bin, prefix, opts);
  } catch (err) {
    // no LocalAsterisk is returned, so nobody else could close() it and remove the directory
    // (a failed start's error already carries the warnings and errors of its log)
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startIn(
  dir: string,
  bin: string,
  prefix: string,
  opts: LocalAsteriskOptions,
): Promise<LocalAsterisk> {
  const etc = join(dir, 'etc');
  for (const sub of ['etc', 'cache', 'lib', 'db', 'spool/recording', 'run', 'log', 'data'])
    mkdirSync(join(dir, sub), { recursive: true });
  const source = join(repoRoot, 'asterisk');
  for (const f of readdirSync(source)) if (f.endsWith('.conf')) copyFileSync(join(source, f), join(etc, f));
  linkDataDir(join(dir, 'data'), prefix);

  const username = 'ari';
  const password = randomBytes(24).toString('base64url');
  const render = spawnSync('sh', [join(source, 'docker-entrypoint.sh')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ASTERISK_ETC: etc,
      RENDER_ONLY: 'yes',
      ARI_USERNAME: username,
      ARI_PASSWORD: password,
      ARI_APP: opts.ariApp ?? 'pbx',
      HTTP_BIND_ADDRESS: '127.0.0.1',
      ASTERISK_E2E: opts.e2e === false ? 'no' : 'yes',
      ...opts.env,
    },
    encoding: 'utf8',
  });
  if (render.status !== 0) throw new Error(`docker-entrypoint.sh failed: ${render.stderr}`);

  const httpPort = await freePort();
  const sipPort = await freePort();
  const astConf = join(etc, 'asterisk.conf');
  writeFileSync(
    astConf,
    replaceOrFail(
      readFileSync(astConf, 'utf8'),
      /\[directories\][\s\S]*?(?=\n\[)/,
      directories(dir, prefix),
      'asterisk.conf',
    ),
  );
  const httpConf = join(etc, 'http.conf');
  writeFileSync(
    httpConf,
    replaceOrFail(readFileSync(httpConf, 'utf8'), /^bindport = \d+$/m, `bindport = ${httpPort}`, 'http.conf'),
  );
  const pjsipConf = join(etc, 'pjsip.conf');
  writeFileSync(
    pjsipConf,
    replaceOrFail(
      readFileSync(pjsipConf, 'utf8'),
      /^bind = 0\.0\.0\.0:5060$/gm,
      `bind = 127.0.0.1:${sipPort}`,
      'pjsip.conf',
    ),
  );
  // the container logs to its console (docker logs); a process started here logs to a file
  const logFile = join(dir, 'log', 'messages.log');
  writeFileSync(
    join(etc, 'logger.conf'),
    readFileSync(join(etc, 'logger.conf'), 'utf8') + 'messages.log => notice,warning,error\n',
  );

  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    // -f foreground, -n no colours; -g would dump core on a crash (not wanted in tests)
    child = spawn(bin!, ['-f', '-n', '-C', astConf], { stdio: 'ignore', detached: false });
    await new Promise<void>((resolveSpawn, reject) => {
      child!.once('error', reject);
      child!.once('spawn', () => resolveSpawn());
    });
    try {
      const c = child;
      await waitForAri({
        url,
        username,
        password,
        timeoutMs: opts.startTimeoutMs ?? 60_000,
        stillStarting: () => {
          if (c.exitCode !== null || c.signalCode !== null)
            throw new Error(
              `asterisk exited (${c.exitCode ?? c.signalCode}) before ARI answered\n${logProblems(logFile)}`,
            );
        },
        why: () => logProblems(logFile),
      });
    } catch (err) {
      await kill();
      throw err;
    }
  }

  async function kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }

  await start();
  return {
    url,
    username,
    password,
    httpPort,
    sipPort,
    dir,
    logFile,
    recordingDir: join(dir, 'spool', 'recording'),
    get pid() {
      return child?.pid ?? 0;
    },
    cli(command) {
      const out = spawnSync(bin, ['-C', astConf, '-rx', command], { encoding: 'utf8', timeout: 15_000 });
      return out.stdout ?? '';
    },
    kill: () => kill('SIGKILL'),
    start,
    async close() {
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
