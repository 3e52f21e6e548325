/**
 * The REST transport against a tiny loopback HTTP server that records what it was sent:
 * request shapes, error mapping, timeouts and the bounded pool. (The feature-level REST
 * verbs run against the ARI simulator in client-sim.test.ts.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { createAriClient, type AriClient } from '../../src/ari/client.js';
import { AriError, isNotFound } from '../../src/ari/contract.js';
import { AriTransportError, isTimeout } from '../../src/ari/rest.js';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body: string;
  /** which server-side connection carried the request */
  connection: number;
}

const logger = pino({ level: 'silent' });
let server: http.Server;
let baseUrl: string;
const seen: Seen[] = [];
const connectionIds = new WeakMap<object, number>();
let connectionCount = 0;
let reply: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void = (_req, res) => {
  res.writeHead(204).end();
};
const clients: AriClient[] = [];

function client(extra: Partial<Parameters<typeof createAriClient>[0]> = {}): AriClient {
  const c = createAriClient({ url: baseUrl, username: 'ari', password: 'pw', app: 'pbx', logger, ...extra });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      seen.push({
        method: req.method!,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
        connection: connectionIds.get(req.socket)!,
      });
      reply(req, res, body);
    });
  });
  server.on('connection', (socket) => connectionIds.set(socket, ++connectionCount));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  seen.length = 0;
  reply = (_req, res) => res.writeHead(204).end();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (res: http.ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('request shapes', () => {
  it('sends query params, Basic auth and parses the JSON model', async () => {
    reply = (_req, res) => json(res, 200, { id: 'c1', name: 'PJSIP/erika-1', state: 'Down' });
    const ch = await client().channels.create({
      endpoint: 'PJSIP/erika-1',
      app: 'pbx',
      appArgs: 'leg,c0',
      channelId: 'c1',
    });
    expect(ch).toMatchObject({ id: 'c1', state: 'Down' });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/ari/channels/create',
      query: { endpoint: 'PJSIP/erika-1', app: 'pbx', appArgs: 'leg,c0', channelId: 'c1' },
      authorization: 'Basic ' + Buffer.from('ari:pw').toString('base64'),
      body: '',
    });
  });

  it('accepts a url that already ends in /ari', async () => {
    await createAriClient({ url: baseUrl + '/ari/', username: 'ari', password: 'pw', app: 'pbx', logger })
      .channels.answer({ channelId: 'c1' })
      .then(() => undefined);
    expect(seen[0]?.path).toBe('/ari/channels/c1/answer');
  });

  it('fills and encodes path params; numbers and booleans go as text; 204 resolves undefined', async () => {
    const ari = client();
    await expect(
      ari.channels.dial({ channelId: 'a b/1', caller: 'c0', timeout: 20 }),
    ).resolves.toBeUndefined();
    await ari.channels.hangup({ channelId: 'c1', reason: 'busy' });
    await ari.channels.ring({ channelId: 'c1' });
    await ari.bridges.addChannel({
      bridgeId: 'b1',
      channel: ['c1', 'c2'],
      inhibitConnectedLineUpdates: true,
    });
    await ari.channels.play({
      channelId: 'c1',
      media: ['sound:pbx/a', 'sound:pbx/b'],
      lang: 'de',
      playbackId: 'p1',
    });
    expect(seen.map((s) => [s.method, s.path, s.query])).toEqual([
      ['POST', '/ari/channels/a%20b%2F1/dial', { caller: 'c0', timeout: '20' }],
      ['DELETE', '/ari/channels/c1', { reason: 'busy' }],
      ['POST', '/ari/channels/c1/ring', {}],
      ['POST', '/ari/bridges/b1/addChannel', { channel: 'c1,c2', inhibitConnectedLineUpdates: 'true' }],
      ['POST', '/ari/channels/c1/play', { media: 'sound:pbx/a,sound:pbx/b', lang: 'de', playbackId: 'p1' }],
    ]);
  });

  it('wraps "containers" body params by name and sends an "object" body param as the whole body', async () => {
    reply = (_req, res) => json(res, 200, []);
    const ari = client();
    await ari.channels.originate({ endpoint: 'PJSIP/x', app: 'pbx', variables: { CALLERID_NAME: 'Erika' } });
    await ari.asterisk.updateObject({
      configClass: 'res_pjsip',
      objectType: 'auth',
      id: 'dev-1',
      fields: [{ attribute: 'auth_type', value: 'userpass' }],
    });
    await ari.applications.filter({ applicationName: 'pbx', filter: { allowed: [{ type: 'StasisStart' }] } });
    expect(seen.map((s) => [s.path, s.contentType, JSON.parse(s.body)])).toEqual([
      ['/ari/channels', 'application/json', { variables: { CALLERID_NAME: 'Erika' } }],
      [
        '/ari/asterisk/config/dynamic/res_pjsip/auth/dev-1',
        'application/json',
        { fields: [{ attribute: 'auth_type', value: 'userpass' }] },
      ],
      ['/ari/applications/pbx/eventFilter', 'application/json', { allowed: [{ type: 'StasisStart' }] }],
    ]);
  });

  it('ari.events is both the router and the REST operations of the events resource', async () => {
    const ari = client();
    await ari.events.userEvent({
      eventName: 'pulled',
      application: 'pbx',
      source: ['channel:c1', 'bridge:b1'],
      variables: { by: 'desk' },
    });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/ari/events/user/pulled',
      query: { application: 'pbx', source: 'channel:c1,bridge:b1' },
      body: JSON.stringify({ variables: { by: 'desk' } }),
    });
    expect(typeof ari.events.route).toBe('function');
  });

  it('returns a binary response as a Buffer', async () => {
    const wav = Buffer.from([0x52, 0x49, 0x46, 0x46, 0, 1, 2, 255]);
    reply = (_req, res) => res.writeHead(200, { 'content-type': 'audio/wav' }).end(wav);
    const file = await client().recordings.getStoredFile({ recordingName: 'vm-1' });
    expect(Buffer.isBuffer(file)).toBe(true);
    expect(file.equals(wav)).toBe(true);
  });

  it('rejects a call missing required params before sending anything, naming each', async () => {
    const ari = client();
    await expect(ari.channels.create({} as never)).rejects.toThrow(
      /missing required parameter\(s\): endpoint, app/,
    );
    expect(seen).toHaveLength(0);
  });
});

describe('errors', () => {
  it.each([
    [404, { message: 'Channel not found' }, 'Channel not found', true],
    [400, { message: 'Channel not found' }, 'Channel not found', true],
    [409, { message: 'Channel not in Stasis application' }, 'Channel not in Stasis application', false],
    [500, { error: 'Allocation failed' }, 'Allocation failed', false],
    [422, 'plain text', 'plain text', false],
  ])('%i %j → AriError "%s" (isNotFound %s)', async (status, body, message, notFound) => {
    reply = (_req, res) =>
      typeof body === 'string' ? res.writeHead(status).end(body) : json(res, status, body);
    const err = await client()
      .channels.answer({ channelId: 'gone' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(AriError);
    expect(err).toMatchObject({ status, operation: 'channels.answer', ariMessage: message });
    expect(isNotFound(err)).toBe(notFound);
  });

  it('a server that never answers → timeout AriError, not a hang', async () => {
    reply = () => {
      /* never answer */
    };
    const err = await client({ requestTimeoutMs: 200 })
      .channels.get({ channelId: 'c1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AriTransportError);
    expect(isTimeout(err)).toBe(true);
    expect(err).toMatchObject({ status: 0, operation: 'channels.get' });
  });

  it('a refused connection → network AriError', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const ari = createAriClient({
      url: `http://127.0.0.1:${port}`,
      username: 'a',
      password: 'b',
      app: 'pbx',
      logger,
    });
    clients.push(ari);
    const err = await ari.asterisk.getInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AriTransportError);
    expect(err).toMatchObject({ reason: 'network', status: 0 });
    expect(isTimeout(err)).toBe(false);
  });
});

describe('bounded keep-alive pool', () => {
  it('500 concurrent requests with connections: 8 all succeed over at most 8 kept-alive connections', async () => {
    reply = (_req, res) => setImmediate(() => json(res, 200, { id: 'x' }));
    const ari = client({ connections: 8 });
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => ari.channels.get({ channelId: `c${i}` })),
    );
    expect(results).toHaveLength(500);
    expect(new Set(seen.map((s) => s.path)).size).toBe(500);
    const connectionsUsed = new Set(seen.map((s) => s.connection)).size;
    expect(connectionsUsed).toBeGreaterThan(1); // the requests really were spread over the pool
    expect(connectionsUsed).toBeLessThanOrEqual(8); // and kept alive, never one per request
    expect(ari.metrics.restRequests).toBe(500);
  });
});

describe('event socket auth', () => {
  it('wrong credentials reject connect() instead of retrying forever', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (info: { req: http.IncomingMessage }) =>
        info.req.headers.authorization === 'Basic ' + Buffer.from('ari:ari').toString('base64'),
    });
    await new Promise((r) => wss.once('listening', r));
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const bad = createAriClient({ url, username: 'ari', password: 'wrong', app: 'pbx', logger });
    await expect(bad.connect()).rejects.toMatchObject({ status: 401 });
    await bad.close();
    const good = createAriClient({ url, username: 'ari', password: 'ari', app: 'pbx', logger });
    const reqUrl = new Promise<string>((r) => wss.once('connection', (_ws, req) => r(req.url!)));
    await good.connect();
    expect(await reqUrl).toBe('/ari/events?app=pbx&subscribeAll=false');
    expect(good.isConnected()).toBe(true);
    await good.close();
    await new Promise((r) => wss.close(r));
  });
});

describe('event socket on a loopback WebSocket server', () => {
  it('delivers events, survives throwing handlers and bad frames, and reconnects after a drop', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const ari = createAriClient({
      url,
      username: 'ari',
      password: 'ari',
      app: 'pbx',
      logger,
      reconnectMinMs: 5,
      reconnectMaxMs: 50,
    });
    clients.push(ari);
    const connectedInfos: boolean[] = [];
    ari.events.onConnected((info) => {
      connectedInfos.push(info.reconnect);
    });
    const digits: string[] = [];
    ari.events.route('c1', () => {
      throw new Error('a buggy handler');
    });
    ari.events.route('c1', (e) => {
      if (e.type === 'ChannelDtmfReceived') digits.push(e.digit);
    });
    const dtmf = (digit: string) =>
      JSON.stringify({
        type: 'ChannelDtmfReceived',
        application: 'pbx',
        timestamp: 't',
        digit,
        duration_ms: 100,
        channel: { id: 'c1' },
      });

    let serverSide = new Promise<import('ws').WebSocket>((r) => wss.once('connection', r));
    await ari.connect();
    let ws = await serverSide;
    ws.send('not json');
    ws.send(dtmf('1'));
    ws.send(dtmf('2'));
    await vi.waitFor(() => expect(digits).toEqual(['1', '2']));
    expect(ari.metrics.handlerErrors).toBe(2);

    serverSide = new Promise((r) => wss.once('connection', r));
    ws.terminate();
    ws = await serverSide;
    await vi.waitFor(() => expect(connectedInfos).toEqual([false, true]));
    ws.send(dtmf('3'));
    await vi.waitFor(() => expect(digits).toEqual(['1', '2', '3']));
    expect(ari.metrics.reconnects).toBe(1);

    await ari.close();
    expect(ari.isConnected()).toBe(false);
    await new Promise((r) => wss.close(r));
  });

  it('connect() keeps retrying until the server is up', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const ari = createAriClient({
      url: `http://127.0.0.1:${port}`,
      username: 'a',
      password: 'b',
      app: 'pbx',
      logger,
      reconnectMinMs: 5,
      reconnectMaxMs: 20,
    });
    clients.push(ari);
    const connected = ari.connect();
    await vi.waitFor(() => expect(ari.metrics.connectFailures).toBeGreaterThan(3));
    expect(ari.isConnected()).toBe(false);
    const wss = new WebSocketServer({ port, host: '127.0.0.1' });
    await connected;
    expect(ari.isConnected()).toBe(true);
    await ari.close();
    await new Promise((r) => wss.close(r));
  });
});

describe('client options', () => {
  const good = { url: 'http://127.0.0.1:8088', username: 'ari', password: 'ari', app: 'pbx', logger };
  it.each([
    [{ url: 'not a url' }, ['url: not a URL']],
    [{ url: 'ftp://x' }, ['url: must be http(s)://']],
    [{ username: '', password: '' }, ['username: required', 'password: required']],
    [{ app: 'p b x' }, ['app: letters']],
    [
      { connections: 0, requestTimeoutMs: 2.5 },
      ['requestTimeoutMs: a positive integer', 'connections: a positive integer'],
    ],
  ])('%j is refused naming each bad option', (bad, named) => {
    let message = '';
    try {
      createAriClient({ ...good, ...bad });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const n of named) expect(message).toContain(n);
  });

  it('good options build a client without touching the network', async () => {
    const c = createAriClient(good);
    expect(c.isConnected()).toBe(false);
    await c.close();
  });
});
