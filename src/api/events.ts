/**
 * The live event stream: `GET /v1/companies/{cid}/events` upgraded to a WebSocket.
 *
 * Authentication without a token in the URL (browsers cannot set headers on a WebSocket):
 * the client offers the subprotocol `pbx.events.v1` plus either `ticket.<ticket>` (from
 * `POST .../event-tickets`: single use, 30 s, stored only as its sha256 and taken with
 * GETDEL) or `bearer.<token>`; non-browser clients may send `Authorization: Bearer` instead.
 * The server answers with `pbx.events.v1` only — the secret is never echoed, and request
 * logs carry no headers.
 *
 * Who sees what: the platform admin and company admins every event of the company; an
 * employee token (or a ticket issued for a workplace) only events of that workplace.
 *
 * Delivery: each API instance subscribes once to the Redis channel and fans events out to
 * its sockets. A client whose unsent data exceeds EVENTS_MAX_BUFFERED_BYTES is closed with
 * 4008 "too slow" (and cut off a second later if it does not read the close either): memory
 * per client is bounded. `?lastEventId=` resumes after that event within the resume window;
 * when it is too old the first message is `resume.gap`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { compareEventIds, type TelemetryBackend } from '../events/backend.js';
import { EVENT_VERSION, pbxEventSchema, type NewEvent, type PbxEvent } from '../events/model.js';
import { type Authenticator, bearerOf, type Credential } from './auth.js';
import { type ApiDeps, loadCompany, loadWorkplace } from './context.js';
import { ApiError, notFound, unauthorized } from './errors.js';
import { cidParams, errorResponses, widParams } from './schemas.js';

export const EVENTS_PROTOCOL = 'pbx.events.v1';
export const TICKET_PREFIX = 'evt_';
/** close codes */
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_SHUTDOWN = 1001;
/**
 * The credential the stream was opened with is gone: the token was deleted, the account
 * deleted, its password reset, or the session signed out or expired. Reconnecting with the
 * same credential fails; the client must authenticate anew (4000 + HTTP 401, by convention).
 */
export const CLOSE_REVOKED = 4401;
/** how often every stream's credential is re-checked even without a change notification */
export const RECHECK_INTERVAL_MS = 30_000;

export interface EventsDeps extends ApiDeps {
  telemetry?: TelemetryBackend;
  /** counts socket closes for being slow (metrics) */
  onSlowClient?: () => void;
  /** told the instance's hub once it runs (metrics: open sockets) */
  hubReady?: (hub: EventHub) => void;
  /** the app's one authentication (auth.ts): bearer tokens here count in the same limiter */
  authenticator: Authenticator;
}

export interface Viewer {
  companyId: string;
  /** only this workplace's events */
  workplaceId?: string;
  /**
   * what opened the stream (for a ticket: what issued the ticket); re-checked while the stream
   * lives. Absent only in tickets issued before this field existed (they live 30 s).
   */
  credential?: Credential;
}

const credentialKey = (c: Credential): string => ('hash' in c ? `${c.kind}:${c.hash}` : c.kind);

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function visible(viewer: Viewer, event: PbxEvent): boolean {
  if (event.companyId !== viewer.companyId) return false;
  return viewer.workplaceId === undefined || event.workplaceId === viewer.workplaceId;
}

/** One per API instance: the Redis subscription and the sockets it feeds. */
export class EventHub {
  private readonly clients = new Set<EventClient>();
  private unsubscribe: (() => Promise<void>) | undefined;
  slowClosed = 0;

  constructor(
    private readonly backend: TelemetryBackend,
    readonly maxBufferedBytes: number,
    private readonly onSlow: () => void = () => {},
    /** whether a stream's credential still holds (absent: never re-checked) */
    private readonly stillValid?: (c: Credential) => Promise<boolean>,
  ) {}

  private pinger: NodeJS.Timeout | undefined;
  private rechecker: NodeJS.Timeout | undefined;
  private unsubscribeChanges: (() => Promise<void>) | undefined;
  private rechecking: Promise<void> | undefined;
  private recheckAgain = false;

  /**
   * `changes`: the store's change channel. A token or account change (deleted token, deleted
   * account, password reset, sign-out) makes every stream re-check its credential at once;
   * the interval catches what publishes nothing (a session that simply expired).
   */
  async start(
    pingIntervalMs = 30_000,
    changes?: (listener: (change: { kind: string }) => void) => Promise<() => Promise<void>>,
    recheckIntervalMs = RECHECK_INTERVAL_MS,
  ): Promise<void> {
    this.unsubscribe = await this.backend.events.subscribe((event) => {
      for (const c of this.clients) c.offer(event);
    });
    // a client that vanished without closing (no pong since the last ping) is cut off
    this.pinger = setInterval(() => {
      for (const c of this.clients) c.heartbeat();
    }, pingIntervalMs);
    this.pinger.unref();
    if (this.stillValid) {
      this.rechecker = setInterval(() => void this.recheck(), recheckIntervalMs);
      this.rechecker.unref();
      if (changes) await this.subscribeChanges(changes, recheckIntervalMs);
    }
  }

  private stopped = false;
  private resubscribe: NodeJS.Timeout | undefined;

  /**
   * The change channel, tried once now; when the store is away (the service starts without
   * Redis and serves what it can) it is tried again in the background, and until then the
   * interval alone ends revoked streams.
   */
  private async subscribeChanges(
    changes: (listener: (change: { kind: string }) => void) => Promise<() => Promise<void>>,
    retryMs: number,
  ): Promise<void> {
    if (this.stopped) return;
    try {
      const unsubscribe = await changes((change) => {
        if (change.kind === 'token' || change.kind === 'account' || change.kind === 'company')
          void this.recheck();
      });
      if (this.stopped) await unsubscribe();
      else this.unsubscribeChanges = unsubscribe;
    } catch {
      this.resubscribe = setTimeout(() => void this.subscribeChanges(changes, retryMs), retryMs);
      this.resubscribe.unref();
    }
  }

  /**
   * Closes (CLOSE_REVOKED) every stream whose credential no longer holds. One check per
   * distinct credential; a burst of changes runs at most one check now and one after it.
   */
  recheck(): Promise<void> {
    if (this.rechecking) {
      this.recheckAgain = true;
      return this.rechecking;
    }
    this.rechecking = (async () => {
      do {
        this.recheckAgain = false;
        const byCredential = new Map<string, { credential: Credential; clients: EventClient[] }>();
        for (const c of this.clients) {
          const credential = c.viewer.credential;
          if (!credential) continue;
          const key = credentialKey(credential);
          const entry = byCredential.get(key) ?? { credential, clients: [] };
          entry.clients.push(c);
          byCredential.set(key, entry);
        }
        for (const { credential, clients } of byCredential.values()) {
          let valid: boolean;
          try {
            valid = await this.stillValid!(credential);
          } catch {
            // the store did not answer: keep the streams; the next change or interval retries
            continue;
          }
          if (!valid)
            for (const c of clients) c.close(CLOSE_REVOKED, 'access revoked: sign in or authenticate again');
        }
      } while (this.recheckAgain);
    })().finally(() => {
      this.rechecking = undefined;
    });
    return this.rechecking;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pinger);
    clearInterval(this.rechecker);
    clearTimeout(this.resubscribe);
    for (const c of this.clients) c.close(CLOSE_SHUTDOWN, 'server shutting down');
    this.clients.clear();
    await this.unsubscribeChanges?.();
    await this.unsubscribe?.();
  }

  get size(): number {
    return this.clients.size;
  }

  /** @internal */
  add(c: EventClient): void {
    this.clients.add(c);
  }

  /** @internal */
  remove(c: EventClient): void {
    this.clients.delete(c);
  }

  /** @internal */
  slow(): void {
    this.slowClosed++;
    this.onSlow();
  }
}

export class EventClient {
  /** events that arrived while the resume replay was loading */
  private pending: PbxEvent[] | undefined = [];
  private lastSent: string | undefined;
  private closed = false;
  private alive = true;

  constructor(
    private readonly socket: WebSocket,
    readonly viewer: Viewer,
    private readonly hub: EventHub,
  ) {}

  offer(event: PbxEvent): void {
    if (!visible(this.viewer, event)) return;
    if (this.pending) this.pending.push(event);
    else this.send(event);
  }

  /** after the replay: what arrived meanwhile and is newer, then live */
  goLive(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const e of pending) this.send(e);
  }

  send(message: PbxEvent | Record<string, unknown>): void {
    if (this.closed) return;
    const id = (message as { id?: string }).id;
    if (id !== undefined) {
      if (this.lastSent !== undefined && compareEventIds(id, this.lastSent) <= 0) return;
      this.lastSent = id;
    }
    if (this.socket.bufferedAmount > this.hub.maxBufferedBytes) {
      this.hub.slow();
      this.close(CLOSE_TOO_SLOW, 'too slow: events are not being read');
      return;
    }
    this.socket.send(JSON.stringify(message));
  }

  /** @internal the socket answered a ping */
  pong(): void {
    this.alive = true;
  }

  /** @internal no pong since the last ping: gone; else ping again */
  heartbeat(): void {
    if (!this.alive) {
      this.detach();
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    this.socket.close(code, reason);
    // a client that does not read will not read the close frame either
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  detach(): void {
    this.closed = true;
    this.hub.remove(this);
  }
}

/** The subprotocols offered: ours, and at most one credential. */
export function parseProtocols(header: string | string[] | undefined): {
  ours: boolean;
  ticket?: string;
  bearer?: string;
} {
  const offered = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const ticket = offered.find((p) => p.startsWith('ticket.'))?.slice('ticket.'.length);
  const bearer = offered.find((p) => p.startsWith('bearer.'))?.slice('bearer.'.length);
  return {
    ours: offered.includes(EVENTS_PROTOCOL),
    ...(ticket ? { ticket } : {}),
    ...(bearer ? { bearer } : {}),
  };
}

const ticketView = z.object({
  ticket: z
    .string()
    .describe(`single use, valid for EVENT_TICKET_TTL_SECONDS; offer it as subprotocol "ticket.<ticket>"`),
  expiresInSeconds: z.number(),
  url: z.string().describe('the event stream of the company'),
  protocols: z.array(z.string()).describe('the subprotocols to offer, in this order'),
});
const ticketQuery = z.strictObject({
  workplaceId: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe("a company admin's ticket for one workplace's events only"),
});

const eventsQuery = z.strictObject({
  lastEventId: z
    .string()
    .regex(/^\d{1,15}-\d{1,15}$/, 'an event id as received (e.g. 1764486000000-0)')
    .optional()
    .describe('resume after this event (within EVENTS_RESUME_SECONDS)'),
});

const STREAM_DESCRIPTION =
  'A WebSocket (a plain GET answers 426). Offer the subprotocols ' +
  `"${EVENTS_PROTOCOL}" and "ticket.<ticket>" (POST .../event-tickets) or "bearer.<token>"; ` +
  'non-browser clients may send Authorization: Bearer instead. Never put a token in the URL. ' +
  'Every text frame is one JSON message: first {"type":"hello"}, then events as documented in ' +
  'the 101 response (each with id, at, v). Admins get every event of the company, employees those ' +
  `of their workplace. Close code ${CLOSE_TOO_SLOW}: the client read too slowly and was disconnected; ` +
  `close code ${CLOSE_REVOKED}: the token, session or account that opened the stream was revoked ` +
  '(deleted, signed out, password reset); authenticate anew. ' +
  'reconnect with ?lastEventId=<the last id received>. A {"type":"resume.gap"} message says events were ' +
  'lost (older than the resume window).';

export const eventsPlugin: FastifyPluginAsyncZod<EventsDeps> = async (app, deps) => {
  const { store, config } = deps;
  const backend = deps.telemetry;
  const ttl = config.EVENT_TICKET_TTL_SECONDS;
  const tags = ['events'];
  const { authenticator } = deps;
  const hub = backend
    ? new EventHub(backend, config.EVENTS_MAX_BUFFERED_BYTES, deps.onSlowClient, (c) =>
        authenticator.stillValid(c),
      )
    : undefined;
  await hub?.start(30_000, (listener) => store.onChange(listener));
  app.addHook('onClose', async () => hub?.stop());
  if (hub) deps.hubReady?.(hub);

  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: 4096,
      // answer with our protocol only, never with the credential the client offered
      handleProtocols: (protocols) => (protocols.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false),
    },
  });

  async function issueTicket(viewer: Viewer) {
    if (!backend) throw new ApiError(503, 'unavailable', 'the event stream is not configured');
    const ticket = TICKET_PREFIX + randomBytes(24).toString('base64url');
    await backend.tickets.put(sha256(ticket), JSON.stringify(viewer), ttl);
    return {
      ticket,
      expiresInSeconds: ttl,
      url: `/v1/companies/${viewer.companyId}/events`,
      protocols: [EVENTS_PROTOCOL, `ticket.${ticket}`],
    };
  }

  app.post(
    '/companies/:cid/event-tickets',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'A single-use ticket for the event stream (all events of the company, or one workplace)',
        params: cidParams,
        querystring: ticketQuery,
        response: { 201: ticketView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { cid } = request.params;
      const wid = request.query.workplaceId;
      await loadCompany(store, cid);
      if (wid !== undefined && !(await store.workplaces.get(cid, wid)))
        throw new ApiError(400, 'validation', 'invalid request: workplaceId', [
          { path: 'workplaceId', message: 'no such workplace in this company' },
        ]);
      reply.code(201);
      return issueTicket({
        companyId: cid,
        ...(wid !== undefined ? { workplaceId: wid } : {}),
        ...(request.credential ? { credential: request.credential } : {}),
      });
    },
  );

  app.post(
    '/companies/:cid/workplaces/:wid/event-tickets',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        summary: "A single-use ticket for one workplace's events (its employee may ask for it)",
        params: widParams,
        response: { 201: ticketView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { cid, wid } = request.params;
      await loadWorkplace(store, cid, wid);
      reply.code(201);
      return issueTicket({
        companyId: cid,
        workplaceId: wid,
        ...(request.credential ? { credential: request.credential } : {}),
      });
    },
  );

  /** ticket, bearer subprotocol or Authorization header → what this socket may see */
  async function viewerOf(request: FastifyRequest, cid: string): Promise<Viewer> {
    const offered = parseProtocols(request.headers['sec-websocket-protocol']);
    if (offered.ticket !== undefined) {
      const stored = backend ? await backend.tickets.take(sha256(offered.ticket)) : undefined;
      // a wrong ticket counts like a wrong token: same limiter, same 429
      if (!stored) return authenticator.refuse(request.ip, 'the ticket is unknown, used or expired');
      const viewer = JSON.parse(stored) as Viewer;
      if (viewer.companyId !== cid) throw notFound('company');
      // the issuer may have lost its access in the 30 s since
      if (viewer.credential && !(await authenticator.stillValid(viewer.credential)))
        throw unauthorized('the access that issued this ticket was revoked');
      return viewer;
    }
    const token = offered.bearer ?? bearerOf(request);
    if (token === undefined) throw unauthorized('a ticket or a bearer token is required');
    const { principal, credential } = await authenticator.authenticate(token, request.ip);
    if (principal.role === 'metrics') throw unauthorized('invalid token');
    if (principal.role === 'platform') {
      await loadCompany(store, cid);
      return { companyId: cid, credential };
    }
    if (principal.companyId !== cid) throw notFound('company');
    return principal.role === 'employee' && principal.workplaceId
      ? { companyId: cid, workplaceId: principal.workplaceId, credential }
      : { companyId: cid, credential };
  }

  app.route({
    method: 'GET',
    url: '/companies/:cid/events',
    // authenticated below (ticket / subprotocol / header), not by the bearer-only hook
    config: { scope: 'public' },
    schema: {
      tags,
      summary: 'The live event stream (WebSocket)',
      description: STREAM_DESCRIPTION,
      params: cidParams,
      querystring: eventsQuery,
      response: {
        101: pbxEventSchema.describe('one event per text frame'),
        426: z.object({ error: z.string(), message: z.string() }),
        ...errorResponses,
      },
    },
    preValidation: async (request) => {
      const { cid } = request.params as { cid: string };
      if (!backend) throw new ApiError(503, 'unavailable', 'the event stream is not configured');
      (request as FastifyRequest & { viewer?: Viewer }).viewer = await viewerOf(request, cid);
    },
    handler: async (_request, reply) => {
      reply.code(426).header('upgrade', 'websocket');
      return { error: 'upgrade_required', message: 'this route is a WebSocket' };
    },
    wsHandler: async (socket, request) => {
      const viewer = (request as FastifyRequest & { viewer?: Viewer }).viewer;
      if (!viewer || !hub || !backend) return socket.close(1011, 'not available');
      const client = new EventClient(socket, viewer, hub);
      hub.add(client);
      socket.on('close', () => client.detach());
      socket.on('pong', () => client.pong());
      client.send({
        type: 'hello',
        v: EVENT_VERSION,
        scope: viewer.workplaceId ? 'workplace' : 'company',
        ...(viewer.workplaceId ? { workplaceId: viewer.workplaceId } : {}),
      });
      const { lastEventId } = request.query as { lastEventId?: string };
      if (lastEventId) {
        try {
          const replay = await backend.events.since(viewer.companyId, lastEventId);
          if (replay === 'gone')
            client.send({ type: 'resume.gap', message: 'events after lastEventId are no longer kept' });
          else for (const e of replay) if (visible(viewer, e)) client.send(e);
        } catch (err) {
          request.log.warn({ err }, 'event replay failed');
          client.send({ type: 'resume.gap', message: 'events could not be replayed' });
        }
      }
      client.goLive();
    },
  });
};

/**
 * Events the API itself sees: every successful change (config.changed), a PIN or call-through unlock, and
 * call lists to delete with their workplace or company. Registered at the root (its hook
 * applies to every route).
 */
const eventHooksImpl: FastifyPluginAsync<Omit<EventsDeps, 'authenticator'>> = async (
  app: FastifyInstance,
  deps,
) => {
  const backend = deps.telemetry;
  if (!backend) return;
  app.addHook('onResponse', async (request, reply) => {
    const method = request.method;
    if (method === 'GET' || method === 'HEAD' || reply.statusCode >= 300) return;
    const route = request.routeOptions.url ?? '';
    if (!route.startsWith('/v1/companies/:cid') || route.endsWith('/event-tickets')) return;
    const { cid, wid } = request.params as { cid?: string; wid?: string };
    if (!cid) return;
    const at = { companyId: cid, ...(wid ? { workplaceId: wid } : {}) };
    let event: NewEvent;
    if (method === 'DELETE' && route === '/v1/companies/:cid/workplaces/:wid/voicebox/lock')
      event = { ...at, type: 'pin.unlocked' };
    else if (method === 'DELETE' && route === '/v1/companies/:cid/workplaces/:wid/call-through-lock' && wid)
      event = { companyId: cid, workplaceId: wid, type: 'callthrough.unlocked' };
    else event = { ...at, type: 'config.changed', method, route: `${method} ${route}` };
    backend.events.append(event);
    if (method === 'DELETE' && route === '/v1/companies/:cid/workplaces/:wid' && wid)
      await backend.records.deleteWorkplace(cid, wid).catch((err: unknown) => {
        request.log.warn({ err, workplaceId: wid }, 'call list of a deleted workplace not deleted');
      });
    if (method === 'DELETE' && route === '/v1/companies/:cid')
      await backend.records.deleteCompany(cid).catch((err: unknown) => {
        request.log.warn({ err }, 'call list of a deleted company not deleted');
      });
  });
};
(eventHooksImpl as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const eventHooks = eventHooksImpl;
