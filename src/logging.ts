/**
 * The process logger: pino, JSON lines on stdout, secrets redacted wherever they appear.
 *
 * Lines are written asynchronously in batches (sonic-boom with a 4 KiB buffer) instead of one
 * blocking write(2) per line: at hundreds of calls per second, synchronous logging took about
 * a tenth of the controller's CPU (bench/README.md). A timer flushes at least once a second so
 * a quiet system's log is never behind, and the buffer is flushed synchronously on exit.
 */
import { pino, type Logger } from 'pino';

/** Secrets that must never reach a log line, wherever they appear in a logged object. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  '*.pin',
  '*.sipPassword',
  '*.password',
  '*.token',
  'pin',
  'sipPassword',
  'password',
  'token',
];

/** Query parameters whose value is a secret (a token pasted into a URL, a PIN, a password). */
const SECRET_QUERY_NAME = /token|pin|pass|secret|key|auth|sig|session|code/i;

/**
 * A request URL fit for a log line: the value of every query parameter whose name looks
 * secret is replaced by "[redacted]" (a refused `?token=...` must not land in the log).
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the raw name
      }
      return eq >= 0 && SECRET_QUERY_NAME.test(name) ? `${rawName}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

/** How a request appears in log lines (fastify's shape, with the secrets of its URL redacted). */
export function requestLogView(req: {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

const FLUSH_INTERVAL_MS = 1000;

export function createLogger(level: string, fd = 1): Logger {
  const destination = pino.destination({ dest: fd, sync: false, minLength: 4096 });
  const flusher = setInterval(() => destination.flush(), FLUSH_INTERVAL_MS);
  flusher.unref();
  process.once('exit', () => {
    clearInterval(flusher);
    try {
      destination.flushSync();
    } catch {
      // nothing left to write to
    }
  });
  return pino({ level, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }, destination);
}
