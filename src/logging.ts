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
