/**
 * Composition root: configuration, logger, store, provisioning API; stops cleanly on
 * SIGTERM/SIGINT. The call controller (ARI) is started by the marked block below.
 */
import { pino } from 'pino';
import { buildApp } from './api/app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createMemoryStore, createRedisStore } from './store/index.js';
import type { Store } from './store/store.js';

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

async function createStore(config: Config, logger: pino.Logger): Promise<Store> {
  if (config.REDIS_URL) {
    return createRedisStore({ url: config.REDIS_URL, prefix: 'pbx:' });
  }
  logger.warn('REDIS_URL is not set: using the in-memory store, NOTHING IS PERSISTED');
  return createMemoryStore();
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`invalid environment variable ${p.variable}: ${p.message}`);
      process.exit(1);
    }
    throw err;
  }

  const logger = pino({ level: config.LOG_LEVEL, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } });
  if (!config.ADMIN_TOKEN)
    logger.warn('ADMIN_TOKEN is not set: the platform routes (/v1/companies) cannot be used');

  const store = await createStore(config, logger);

  // CALL CONTROLLER: start the ARI call controller here (when config.ARI_ENABLED), e.g.
  //   const controller = await startCallController({ config, store, logger });
  // pass its DeviceProvisioner and RecordingFiles to buildApp below (without a provisioner new
  // workplaces stay 'pending'), and stop it in shutdown() before store.close().
  const app = await buildApp({ store, config, logger });

  await app.listen({ host: config.HOST, port: config.PORT });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await app.close();
      await store.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('fatal: could not start', err);
  process.exit(1);
});
