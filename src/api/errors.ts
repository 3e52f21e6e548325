/**
 * The one error vocabulary of the API and the one handler that turns every failure into the
 * SPEC shape `{ error, message, issues? }`. Bad input is always a 4xx, never a 500:
 * zod validation, domain rule failures, malformed JSON, wrong content type, oversized bodies.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  CompanyGoneError,
  ConflictError,
  RangeOverlapError,
  StaleWriteError,
  StoreUnavailableError,
} from '../store/store.js';

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  /** sent as Retry-After (429, 503) */
  retryAfterSeconds?: number;

  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly issues?: FieldIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function tooManyRequests(message: string, retryAfterMs: number): ApiError {
  const err = new ApiError(429, 'rate_limited', message);
  err.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return err;
}

/**
 * An error answer is bounded whatever the request: at most MAX_ISSUES issues (the last one
 * says how many more there were), paths and messages cut to a few hundred characters. A body
 * of 0.87 MB of unknown keys must not come back as megabytes naming each of them.
 */
export const MAX_ISSUES = 50;
const MAX_PATH = 200;
const MAX_MESSAGE = 500;
const MESSAGE_PATHS = 10;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function boundedIssues(issues: readonly FieldIssue[]): FieldIssue[] {
  const shown = issues
    .slice(0, MAX_ISSUES)
    .map((i) => ({ path: cut(i.path, MAX_PATH), message: cut(i.message, MAX_MESSAGE) }));
  if (issues.length > MAX_ISSUES) {
    shown.push({ path: '', message: `and ${issues.length - MAX_ISSUES} more problems` });
  }
  return shown;
}

export function validationError(issues: FieldIssue[], message?: string): ApiError {
  const paths = [...new Set(issues.map((i) => cut(i.path || '(body)', MAX_PATH)))];
  const listed = paths.slice(0, MESSAGE_PATHS).join(', ');
  const more = paths.length > MESSAGE_PATHS ? ` and ${paths.length - MESSAGE_PATHS} more` : '';
  return new ApiError(400, 'validation', message ?? `invalid request: ${listed}${more}`, issues);
}

/** Throws one 400 naming every issue, when there are any. */
export function assertNoIssues(issues: FieldIssue[]): void {
  if (issues.length > 0) throw validationError(issues);
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`);
}

export function conflict(field: string, message: string): ApiError {
  return new ApiError(409, 'conflict', message, [{ path: field, message }]);
}

export function forbidden(message = 'this token may not use this route'): ApiError {
  return new ApiError(403, 'forbidden', message);
}

export function unauthorized(message = 'a valid bearer token is required'): ApiError {
  return new ApiError(401, 'unauthorized', message);
}

/** "numberRanges/0/first" style zod paths → "numberRanges.0.first" (the domain's convention). */
function zodPath(instancePath: string | undefined): string {
  return (instancePath ?? '').replace(/^\//, '').split('/').filter(Boolean).join('.');
}

/** zod issues → field issues, each unknown key named itself (paths like "devices.0.type"). */
export function zodFieldIssues(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: unknown }>,
  prefix = '',
): FieldIssue[] {
  const join = (...parts: string[]) => parts.filter((p) => p !== '').join('.');
  return issues.flatMap((issue) => {
    const path = join(prefix, ...issue.path.map(String));
    if (issue.code === 'unrecognized_keys' && Array.isArray(issue.keys)) {
      return issue.keys.map((k) => ({ path: join(path, String(k)), message: 'unknown field' }));
    }
    return [{ path, message: issue.message }];
  });
}

const fastifyClientErrors: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
  FST_ERR_BAD_URL: 'bad_request',
};

/**
 * Errors fastify raises before a route runs (a path parameter over maxParamLength → 414, a
 * malformed URL → 400): the documented shape, and never the offending path echoed back.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return reply
      .code(414)
      .send({ error: 'uri_too_long', message: 'a path parameter is longer than any valid id' });
  }
  return reply.code(400).send({ error: 'bad_request', message: 'the URL is malformed' });
}

const CLIENT_ERRORS: Record<string, { status: number; reason: string; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    error: 'headers_too_large',
    message: 'the request line or headers are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    error: 'timeout',
    message: 'the request was not received in time',
  },
};

/**
 * Errors of the HTTP parser itself (headers too large, request timeout, garbage): answered on
 * the raw socket, as node does, but in the documented shape. Fastify's clientErrorHandler.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = (err.code && CLIENT_ERRORS[err.code]) || {
    status: 400,
    reason: 'Bad Request',
    error: 'bad_request',
    message: 'the request is not valid HTTP',
  };
  const body = JSON.stringify({ error: known.error, message: known.message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.status} ${known.reason}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.code(err.statusCode).send({
        error: err.error,
        message: cut(err.message, MAX_MESSAGE),
        ...(err.issues ? { issues: boundedIssues(err.issues) } : {}),
      });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const context = (err as FastifyError).validationContext;
      const prefix = context && context !== 'body' ? `${context}.` : '';
      const issues = err.validation.flatMap((v) => {
        const path = prefix + zodPath(v.instancePath);
        const keys = (v.params as { keys?: unknown }).keys;
        // name each unknown field itself rather than its parent object
        if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
          return keys.map((k) => ({
            path: path ? `${path}.${String(k)}` : String(k),
            message: 'unknown field',
          }));
        }
        return [{ path, message: v.message ?? 'invalid' }];
      });
      const e = validationError(issues);
      return reply.code(400).send({ error: e.error, message: e.message, issues: boundedIssues(issues) });
    }
    if (err instanceof ConflictError) {
      return reply.code(409).send({
        error: 'conflict',
        message: cut(err.message, MAX_MESSAGE),
        issues: boundedIssues([{ path: err.field, message: err.message }]),
      });
    }
    if (err instanceof StoreUnavailableError) {
      // Redis is down or not answering: a retryable 503 within the command timeout, never a
      // 500 and never a hang (the store fails fast while disconnected)
      request.log.warn({ err: { message: err.message } }, 'store unavailable');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'unavailable', message: 'the configuration store is unavailable; retry shortly' });
    }
    if (err instanceof CompanyGoneError) {
      // deleted while the request ran: the same answer as if it had been gone before
      return reply.code(404).send({ error: 'not_found', message: 'company not found' });
    }
    if (err instanceof RangeOverlapError) {
      // never which group or company holds the range: it may be another tenant's
      const e = validationError(
        err.indexes.map((i) => ({
          path: `numberRanges.${i}`,
          message: 'overlaps a range in use; numbers are global',
        })),
      );
      return reply.code(400).send({ error: e.error, message: e.message, issues: e.issues });
    }
    if (err instanceof StaleWriteError) {
      return reply.code(409).send({ error: 'conflict', message: `${err.message}; please retry` });
    }
    const fe = err as FastifyError;
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      // fastify's own client errors (bad JSON, 413, 415, ...): keep their status, our shape
      const error = (fe.code && fastifyClientErrors[fe.code]) ?? 'bad_request';
      return reply.code(status).send({ error, message: cut(fe.message, MAX_MESSAGE) });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: 'internal', message: 'internal server error' });
  });

  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
}
