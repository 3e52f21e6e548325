/**
 * The REST half of the ARI client: one method per api-docs operation (table generated into
 * ./generated/operations.ts), sent over ONE bounded keep-alive undici Pool — Asterisk's HTTP
 * server closes connections beyond its `sessionlimit` (100), so a connection per request fails
 * under load.
 */
import { setMaxListeners } from 'node:events';
import { Pool } from 'undici';
import type { Logger } from 'pino';
import { AriError } from './contract.js';
import { ariOperations, type AriOperationSpec, type AriRestApi } from './generated/operations.js';

/** A REST call that got no HTTP answer: timed out, refused, reset. `status` is 0. */
export class AriTransportError extends AriError {
  constructor(
    operation: string,
    readonly reason: 'timeout' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(0, operation, message);
    this.name = reason === 'timeout' ? 'AriTimeoutError' : 'AriTransportError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export function isTimeout(err: unknown): boolean {
  return err instanceof AriTransportError && err.reason === 'timeout';
}

export interface AriMetrics {
  restRequests: number;
  restErrors: number;
  eventsReceived: number;
  reconnects: number;
  /** event socket attempts that never opened (refused, auth, handshake timeout) */
  connectFailures: number;
  handlerErrors: number;
}

export const newMetrics = (): AriMetrics => ({
  restRequests: 0,
  restErrors: 0,
  eventsReceived: 0,
  reconnects: 0,
  connectFailures: 0,
  handlerErrors: 0,
});

export interface RestTransportOptions {
  /** origin, e.g. http://127.0.0.1:8088 */
  origin: string;
  /** path prefix of ARI, e.g. /ari */
  basePath: string;
  authorization: string;
  requestTimeoutMs: number;
  connections: number;
  logger: Logger;
  metrics: AriMetrics[];
}

type Params = Record<string, unknown> | undefined;

/** One operation prepared once: path split around its {placeholders}, params by location. */
interface CompiledOperation {
  name: string;
  method: AriOperationSpec['method'];
  pathParts: string[]; // literal, param, literal, param, ..., literal
  pathParams: string[];
  queryParams: string[];
  /** 'containers' body params are sent as {name: value}; an 'object' one is the whole body */
  wrappedBodyParams: string[];
  wholeBodyParam: string | undefined;
  required: string[];
  response: string;
}

function compile(resource: string, nickname: string, spec: AriOperationSpec): CompiledOperation {
  const pathParts: string[] = [];
  const pathParams: string[] = [];
  const re = /\{(\w+)\}/g;
  let last = 0;
  for (let m = re.exec(spec.path); m; m = re.exec(spec.path)) {
    pathParts.push(spec.path.slice(last, m.index));
    pathParams.push(m[1]!);
    last = m.index + m[0].length;
  }
  pathParts.push(spec.path.slice(last));
  const entries = Object.entries(spec.params);
  return {
    name: `${resource}.${nickname}`,
    method: spec.method,
    pathParts,
    pathParams,
    queryParams: entries.filter(([, p]) => p.in === 'query').map(([n]) => n),
    wrappedBodyParams: entries.filter(([, p]) => p.in === 'body' && p.dataType !== 'object').map(([n]) => n),
    wholeBodyParam: entries.find(([, p]) => p.in === 'body' && p.dataType === 'object')?.[0],
    required: entries.filter(([, p]) => p.required).map(([n]) => n),
    response: spec.response,
  };
}

function queryValue(value: unknown): string {
  // allowMultiple query params: ARI splits a comma-joined value (ast_app_separate_args)
  if (Array.isArray(value)) return value.map(queryValue).join(',');
  return typeof value === 'string' ? value : String(value);
}

export interface RestTransport {
  api: AriRestApi;
  close(): Promise<void>;
}

export function createRestTransport(opts: RestTransportOptions): RestTransport {
  const pool = new Pool(opts.origin, {
    connections: opts.connections,
    pipelining: 1,
    // below Asterisk's http.conf session_keep_alive (15 s): reusing a socket Asterisk is just
    // closing fails the request with "other side closed"
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 10_000,
    headersTimeout: opts.requestTimeoutMs,
    bodyTimeout: opts.requestTimeoutMs,
    connectTimeout: opts.requestTimeoutMs,
  });
  const log = opts.logger;
  const deadlines = new DeadlineBuckets(opts.requestTimeoutMs);
  const baseHeaders = { authorization: opts.authorization, accept: 'application/json' };
  const jsonHeaders = { ...baseHeaders, 'content-type': 'application/json' };

  async function call(op: CompiledOperation, params: Params): Promise<unknown> {
    const p = params ?? {};
    const missing = op.required.filter((n) => p[n] === undefined || p[n] === null);
    if (missing.length)
      throw new TypeError(`ARI ${op.name}: missing required parameter(s): ${missing.join(', ')}`);

    let path = opts.basePath + op.pathParts[0]!;
    for (let i = 0; i < op.pathParams.length; i++) {
      path += encodeURIComponent(queryValue(p[op.pathParams[i]!])) + op.pathParts[i + 1]!;
    }
    let query = '';
    for (const name of op.queryParams) {
      const v = p[name];
      if (v === undefined || v === null) continue;
      query += (query ? '&' : '?') + name + '=' + encodeURIComponent(queryValue(v));
    }
    let body: string | undefined;
    if (op.wholeBodyParam && p[op.wholeBodyParam] !== undefined) body = JSON.stringify(p[op.wholeBodyParam]);
    else if (op.wrappedBodyParams.length) {
      let wrapped: Record<string, unknown> | undefined;
      for (const name of op.wrappedBodyParams) {
        if (p[name] === undefined) continue;
        (wrapped ??= {})[name] = p[name];
      }
      if (wrapped) body = JSON.stringify(wrapped);
    }

    for (const m of opts.metrics) m.restRequests++;
    let res;
    try {
      res = await pool.request({
        method: op.method,
        path: path + query,
        headers: body === undefined ? baseHeaders : jsonHeaders,
        body,
        // overall deadline, including time queued for a free pool connection
        signal: deadlines.signal(),
      });
    } catch (err) {
      for (const m of opts.metrics) m.restErrors++;
      throw transportError(op.name, err, opts.requestTimeoutMs);
    }

    try {
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        if (op.response === 'binary') return Buffer.from(await res.body.arrayBuffer());
        const text = await res.body.text();
        if (op.response === 'void' || text === '') return undefined;
        return JSON.parse(text) as unknown;
      }
      const text = await res.body.text();
      for (const m of opts.metrics) m.restErrors++;
      const err = new AriError(status, op.name, errorMessage(text));
      log.debug({ operation: op.name, status, ariMessage: err.ariMessage }, 'ARI request failed');
      throw err;
    } catch (err) {
      if (err instanceof AriError) throw err;
      for (const m of opts.metrics) m.restErrors++;
      throw transportError(op.name, err, opts.requestTimeoutMs);
    }
  }

  const api: Record<string, Record<string, (params?: Params) => Promise<unknown>>> = {};
  for (const [resource, operations] of Object.entries(ariOperations)) {
    const methods: Record<string, (params?: Params) => Promise<unknown>> = {};
    for (const [nickname, spec] of Object.entries(operations as Record<string, AriOperationSpec>)) {
      const op = compile(resource, nickname, spec);
      methods[nickname] = (params?: Params) => call(op, params);
    }
    api[resource] = methods;
  }

  return {
    api: api as unknown as AriRestApi,
    close: () => {
      deadlines.clear();
      return pool.close();
    },
  };
}

/** Width of a deadline bucket: a request may run this much longer than its timeout. */
const DEADLINE_BUCKET_MS = 100;

/**
 * Request deadlines without a timer per request (the hot path: every ARI command). Requests
 * started within the same DEADLINE_BUCKET_MS window share one signal that aborts
 * `timeoutMs` after the window ends, so each request is aborted between timeoutMs and
 * timeoutMs + DEADLINE_BUCKET_MS after it started; a request that finished before is unaffected.
 */
class DeadlineBuckets {
  private current: { signal: AbortSignal; until: number } | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly timeoutMs: number) {}

  signal(): AbortSignal {
    const now = Date.now();
    if (this.current && now < this.current.until) return this.current.signal;
    const controller = new AbortController();
    // every request of the bucket listens on this one signal
    setMaxListeners(0, controller.signal);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      controller.abort(new DOMException('ARI request deadline passed', 'TimeoutError'));
    }, this.timeoutMs + DEADLINE_BUCKET_MS);
    timer.unref();
    this.timers.add(timer);
    this.current = { signal: controller.signal, until: now + DEADLINE_BUCKET_MS };
    return controller.signal;
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.current = undefined;
  }
}

/** Asterisk answers errors as {"message": "..."} (or {"error": "..."} for allocation failures). */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof body.message === 'string') return body.message;
    if (typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200) || 'no message';
}

function transportError(operation: string, err: unknown, timeoutMs: number): AriTransportError {
  const e = err as { name?: string; code?: string; message?: string };
  const timedOut =
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT' ||
    e?.code === 'UND_ERR_CONNECT_TIMEOUT';
  return timedOut
    ? new AriTransportError(operation, 'timeout', `no answer within ${timeoutMs} ms`, { cause: err })
    : new AriTransportError(operation, 'network', e?.code ?? e?.message ?? 'request failed', { cause: err });
}
