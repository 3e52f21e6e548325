import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { Bridges } from './bridges.js';
import { Dialplan } from './dialplan.js';
import { createDriver, type ScenarioDriver } from './driver.js';
import { DynamicConfig } from './dynconfig.js';
import { EventHub } from './hub.js';
import { createRestHandler } from './http.js';
import { Media } from './media.js';
import { BoundedLog, wavDurationMs } from './util.js';
import { World } from './world.js';

export type { ScenarioDriver, SimChannel } from './driver.js';
export type { EndpointBehaviour } from './types.js';
export { Dialplan, compilePattern } from './dialplan.js';

export interface AriSimulatorOptions {
  port?: number;
  host?: string;
  username?: string;
  password?: string;
  dialplan?: string;
  timeScale?: number;
  /** ms a media URI plays; 'missing' makes its playback fail like a missing file on Asterisk */
  mediaDurationMs?: (media: string, lang?: string) => number | 'missing';
  soundsDir?: string;
  /** Where stored recordings are written. Kept on close(); without it a temp dir is made and removed on close(). */
  recordingsDir?: string;
  /** Real ms between a /channels/create answer and the channel's StasisStart (default 2; the create/dial race). */
  createToStasisMs?: number;
  /** Like http.conf `sessionlimit`: connections beyond this many open ones are closed at once. Default: no limit. */
  sessionLimit?: number;
  /** How many events / REST calls the driver's logs keep (older ones fall off). Default 50000. */
  logLimit?: number;
}

export interface AriSimulator {
  url: string;
  driver: ScenarioDriver;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');

/**
 * The default media length: the WAV's length under soundsDir (`sound:pbx/x` → `<lang>/pbx/x.wav`),
 * else 1000 ms; `tone:` plays until stopped. `missing` — the playback fails, as on Asterisk
 * (test/ari-sim/traces/playback-failures.jsonl) — for a stored recording that does not exist and
 * for a sound in a folder soundsDir has (e.g. `pbx/`) but not that file: the project's own prompts
 * are known, Asterisk's core sounds (`sound:beep`, `digits/1`) are assumed installed.
 */
function defaultMediaDuration(soundsDir: string, storedMs: (name: string) => number | undefined) {
  const cache = new Map<string, number | 'missing'>();
  const knownFolder = (lang: string, rest: string): boolean => {
    const slash = rest.indexOf('/');
    if (slash < 0) return false;
    const folder = rest.slice(0, slash);
    return existsSync(join(soundsDir, lang, folder)) || existsSync(join(soundsDir, folder));
  };
  return (media: string, lang = 'en'): number | 'missing' => {
    const key = `${lang}|${media}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const colon = media.indexOf(':');
    const scheme = media.slice(0, colon);
    const rest = media.slice(colon + 1);
    let ms: number | 'missing' = 1000;
    if (scheme === 'tone') ms = Infinity;
    else if (scheme === 'recording') return storedMs(rest) ?? 'missing';
    else if (scheme === 'digits' || scheme === 'characters') ms = 500 * rest.length;
    else if (scheme === 'sound')
      ms =
        wavDurationMs(join(soundsDir, lang, `${rest}.wav`)) ??
        wavDurationMs(join(soundsDir, `${rest}.wav`)) ??
        (knownFolder(lang, rest) ? 'missing' : 1000);
    cache.set(key, ms);
    return ms;
  };
}

export async function startAriSimulator(opts: AriSimulatorOptions = {}): Promise<AriSimulator> {
  const username = opts.username ?? 'ari';
  const password = opts.password ?? 'ari';
  const timeScale = opts.timeScale ?? 1;
  const logLimit = opts.logLimit ?? 50_000;
  const hub = new EventHub(logLimit);
  const world = new World(hub, new Dialplan(opts.dialplan ?? ''), timeScale);
  const bridges = new Bridges(world);
  // A directory of our own is ours to remove on close; one the caller passed is never deleted.
  const ownRecordingsDir = opts.recordingsDir === undefined;
  const recordingsDir = opts.recordingsDir ?? mkdtempSync(join(tmpdir(), 'ari-sim-rec-'));
  const removeOwnRecordingsDir = () => {
    if (ownRecordingsDir) rmSync(recordingsDir, { recursive: true, force: true });
  };
  const soundsDir = opts.soundsDir ?? join(repoRoot, 'sounds');
  // `recording:<name>` media last as long as the stored recording (Media is created just below).
  const holder: { media?: Media } = {};
  const duration =
    opts.mediaDurationMs ??
    defaultMediaDuration(soundsDir, (name) => holder.media?.stored.get(name)?.durationMs);
  const media = new Media(world, (m, lang) => duration(m, lang), recordingsDir);
  holder.media = media;
  world.bridges = bridges;
  world.createToStasisMs = opts.createToStasisMs ?? 2;
  world.media = media;
  const dyn = new DynamicConfig();
  const restLog = new BoundedLog<{ method: string; path: string; query: unknown; status: number }>(logLimit);
  const apiDocsDir =
    [join(here, '../ari-codegen/api-docs'), '/work/shared/ari/api-docs'].find((d) =>
      existsSync(join(d, 'resources.json')),
    ) ?? join(here, 'api-docs');

  const handler = createRestHandler({
    world,
    bridges,
    media,
    hub,
    dyn,
    apiDocsDir,
    username,
    password,
    restLog,
  });
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  if (opts.sessionLimit !== undefined) {
    const limit = opts.sessionLimit;
    let open = 0;
    server.on('connection', (socket) => {
      if (open >= limit) {
        socket.destroy();
        return;
      }
      open++;
      socket.once('close', () => open--);
    });
  }
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const q = Object.fromEntries(url.searchParams);
    const expected = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
    const authed = req.headers.authorization === expected || q.api_key === `${username}:${password}`;
    if (url.pathname !== '/ari/events' || !authed || !q.app) {
      const status = !authed
        ? '401 Unauthorized'
        : url.pathname !== '/ari/events'
          ? '404 Not Found'
          : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const apps = q.app.split(',').filter(Boolean);
    const subscribeAll = q.subscribeAll === 'true' || q.subscribeAll === '1';
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(apps, ws, subscribeAll));
  });

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolveListen());
    });
  } catch (err) {
    // e.g. the port is taken: no simulator is returned, so nobody else can clean up
    wss.close();
    removeOwnRecordingsDir();
    throw err;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `http://${host}:${port}`,
    driver: createDriver({ world, media, hub, dyn, restLog }),
    close: async () => {
      for (const ch of world.channels.values()) for (const t of ch.timers) clearTimeout(t);
      hub.dropSockets();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      removeOwnRecordingsDir();
    },
  };
}
