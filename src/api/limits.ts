/** Request body limits: JSON bodies are small; a CSV import of a few thousand rows is not. */
export const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
export const CSV_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

/**
 * Socket timeouts: a client that sends its headers or body slowly, or keeps an idle connection,
 * must not hold a connection for ever (slowloris). Node answers 408 when headers or the whole
 * request take too long; idle keep-alive connections are closed.
 */
export interface ConnectionLimits {
  /** all request headers within this (node's headersTimeout) */
  headersTimeoutMs: number;
  /** the whole request, body included (a 5 MB CSV on a slow line fits) */
  requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number;
  /** a socket without any traffic for this long is destroyed (fastify's connectionTimeout) */
  idleSocketTimeoutMs: number;
  /** how often node checks the two request timeouts */
  checkIntervalMs: number;
  /** open connections per client address (trusted proxies are exempt); more are closed at once */
  maxConnectionsPerClient: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  idleSocketTimeoutMs: 30_000,
  checkIntervalMs: 1_000,
  maxConnectionsPerClient: 32,
};
