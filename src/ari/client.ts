/**
 * A thin ARI client: generated REST methods over one bounded undici keep-alive pool, and the
 * application's event WebSocket (ws) that reconnects with exponential backoff + full jitter
 * and tells `onConnected` handlers after every (re)connect so the calls layer can reconcile
 * with `applications.get({ applicationName })`.
 */
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { AriError } from './contract.js';
import type { AriRestApi } from './generated/operations.js';
import { EventRouter, type AriEventRouter, type RawEvent } from './events.js';
import { createRestTransport, newMetrics, type AriMetrics } from './rest.js';

export interface AriClientOptions {
  /** Asterisk's HTTP server, e.g. http://127.0.0.1:8088 (a trailing /ari is accepted) */
  url: string;
  username: string;
  password: string;
  /** Stasis application name */
  app: string;
  logger: Logger;
  /** deadline of one REST call, including the wait for a pool connection (default 5000) */
  requestTimeoutMs?: number;
  /** keep-alive connections to Asterisk (default 32; Asterisk's http sessionlimit is 100) */
  connections?: number;
  /** reconnect backoff: delay = random(0, min(maxMs, minMs * 2^attempt)) (defaults 100 / 5000) */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** WebSocket ping interval; a socket that misses a pong is dropped and reconnected (default 15000) */
  pingIntervalMs?: number;
}

/**
 * `events` is both the event router (contract AriEvents) and the REST operations of the ARI
 * `events` resource (`userEvent`, `claimChannel`).
 */
export interface AriClient extends Omit<AriRestApi, 'events'> {
  readonly app: string;
  readonly events: AriEventRouter & AriRestApi['events'];
  readonly metrics: AriMetrics;
  /** open the event socket; resolves once open and the onConnected handlers have run */
  connect(): Promise<void>;
  /** stop reconnecting, close the socket and the REST pool */
  close(): Promise<void>;
  /** true while the event socket is open */
  isConnected(): boolean;
}

/** Totals over every client of this process (benchmarks read this). */
export const metrics: AriMetrics = newMetrics();

/** delay before reconnect attempt `attempt` (0-based): full jitter over an exponential window */
export function backoffDelay(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const window = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * window);
}

/** Checks the options, naming every bad one (a misconfiguration must not surface as a hang later). */
export function validateAriClientOptions(opts: AriClientOptions): void {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(opts.url);
  } catch {
    problems.push(`url: not a URL (${JSON.stringify(opts.url)})`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('url: must be http(s)://');
  if (!opts.username) problems.push('username: required');
  if (!opts.password) problems.push('password: required');
  if (!opts.app || !/^[A-Za-z0-9_.-]+$/.test(opts.app)) problems.push('app: letters, digits, _ . - only');
  const positiveInt = (name: keyof AriClientOptions, value: number | undefined) => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      problems.push(`${name}: a positive integer`);
  };
  positiveInt('requestTimeoutMs', opts.requestTimeoutMs);
  positiveInt('connections', opts.connections);
  positiveInt('reconnectMinMs', opts.reconnectMinMs);
  positiveInt('reconnectMaxMs', opts.reconnectMaxMs);
  positiveInt('pingIntervalMs', opts.pingIntervalMs);
  if (problems.length) throw new TypeError(`invalid ARI client options: ${problems.join('; ')}`);
}

export function createAriClient(opts: AriClientOptions): AriClient {
  validateAriClientOptions(opts);
  const base = new URL(opts.url);
  const basePath = base.pathname.replace(/\/+$/, '').replace(/\/ari$/, '') + '/ari';
  const authorization = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
  const log = opts.logger.child({ component: 'ari', app: opts.app });
  const own = newMetrics();
  const metricSinks = [own, metrics];
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
  const reconnectMinMs = opts.reconnectMinMs ?? 100;
  const reconnectMaxMs = opts.reconnectMaxMs ?? 5000;
  const pingIntervalMs = opts.pingIntervalMs ?? 15_000;

  const rest = createRestTransport({
    origin: base.origin,
    basePath,
    authorization,
    requestTimeoutMs,
    connections: opts.connections ?? 32,
    logger: log,
    metrics: metricSinks,
  });
  const router = new EventRouter(log, () => {
    for (const m of metricSinks) m.handlerErrors++;
  });

  // two controllers with one app name steal the app from each other on every reconnect: say so
  router.on('ApplicationReplaced', () =>
    log.error('ARI application was taken over by another connection with the same app name'),
  );

  const wsUrl = new URL(base.href);
  wsUrl.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  wsUrl.pathname = basePath + '/events';
  wsUrl.search = `?app=${encodeURIComponent(opts.app)}&subscribeAll=false`;

  let socket: WebSocket | undefined;
  let open = false;
  let closed = false;
  let everConnected = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;
  let settleFirst: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let closing: Promise<void> | undefined;

  function onMessage(data: WebSocket.RawData): void {
    for (const m of metricSinks) m.eventsReceived++;
    let event: RawEvent;
    try {
      event = JSON.parse(data.toString()) as RawEvent;
    } catch (err) {
      log.warn({ err }, 'ARI event is not JSON; ignored');
      return;
    }
    if (!event || typeof event.type !== 'string') return;
    router.dispatch(event);
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    const delay = backoffDelay(attempt++, reconnectMinMs, reconnectMaxMs);
    log.warn({ attempt, delayMs: delay }, 'ARI event socket down; reconnecting');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      openSocket();
    }, delay);
    reconnectTimer.unref?.();
  }

  function openSocket(): void {
    if (closed) return;
    const ws = new WebSocket(wsUrl, { headers: { authorization }, handshakeTimeout: requestTimeoutMs });
    socket = ws;
    let alive = true;

    ws.on('open', () => {
      open = true;
      attempt = 0;
      const reconnect = everConnected;
      everConnected = true;
      if (reconnect) for (const m of metricSinks) m.reconnects++;
      log.info({ reconnect }, 'ARI event socket open');
      pingTimer = setInterval(() => {
        if (!alive) {
          log.warn('ARI event socket missed a pong; dropping it');
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      }, pingIntervalMs);
      pingTimer.unref?.();
      void router.fireConnected({ reconnect }).then(() => {
        const s = settleFirst;
        settleFirst = undefined;
        s?.resolve();
      });
    });
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', onMessage);
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      log.error({ status }, 'ARI event socket refused');
      // wrong credentials will not fix themselves: fail connect() instead of retrying forever
      if ((status === 401 || status === 403) && settleFirst) {
        const s = settleFirst;
        settleFirst = undefined;
        closed = true;
        s.reject(new AriError(status, 'events.eventWebsocket', 'authentication failed'));
      }
      ws.terminate();
    });
    ws.on('error', (err) => {
      log.warn(
        { err: { message: err.message, code: (err as { code?: string }).code } },
        'ARI event socket error',
      );
    });
    ws.on('close', (code) => {
      if (pingTimer) clearInterval(pingTimer);
      pingTimer = undefined;
      if (socket === ws) socket = undefined;
      const wasOpen = open;
      open = false;
      if (wasOpen) log.warn({ code }, 'ARI event socket closed');
      else for (const m of metricSinks) m.connectFailures++;
      scheduleReconnect();
    });
  }

  const client = {
    ...rest.api,
    app: opts.app,
    events: Object.assign(router, rest.api.events),
    metrics: own,
    isConnected: () => open,
    connect(): Promise<void> {
      if (closed) return Promise.reject(new Error('ARI client is closed'));
      if (connecting) return connecting;
      connecting = new Promise<void>((resolve, reject) => {
        settleFirst = { resolve, reject };
      });
      openSocket();
      return connecting;
    },
    close(): Promise<void> {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    closed = true;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = undefined;
    if (pingTimer) clearInterval(pingTimer);
    const ws = socket;
    socket = undefined;
    if (settleFirst) {
      const s = settleFirst;
      settleFirst = undefined;
      s.reject(new Error('ARI client closed before the event socket opened'));
    }
    if (ws) {
      await new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000);
        // a peer that never answers the close frame must not hold shutdown
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      });
    }
    await rest.close();
  }
  return client as AriClient;
}
