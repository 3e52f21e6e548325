/**
 * Composition root: configuration, logger, store, the ARI call controller with device
 * provisioning, and the provisioning API; stops cleanly on SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import { buildApp } from './api/app.js';
import { createAriRecordingFiles, type RecordingFiles } from './calls/recording-files.js';
import { createAriClient, type AriClient } from './ari/index.js';
import { startCallController, type CallController } from './calls/controller.js';
import { portalFlow } from './calls/portal.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createAriProvisioner } from './devices/ari-provisioner.js';
import type { DeviceProvisioner } from './devices/contract.js';
import { resyncDevices } from './devices/resync.js';
import { createTelemetry } from './events/telemetry.js';
import { createLogger } from './logging.js';
import { startMetricsServer } from './metrics.js';
import { createStore } from './store/index.js';

/**
 * ARI credentials come only from the environment or a secrets file (compose), never a default.
 * Returns the problems as ConfigError entries so they are reported like any bad variable.
 */
export function ariCredentials(config: Config): { username: string; password: string } {
  const problems: Array<{ variable: string; message: string }> = [];
  let password = config.ARI_PASSWORD;
  if (!password && config.ARI_PASSWORD_FILE) {
    try {
      password = readFileSync(config.ARI_PASSWORD_FILE, 'utf8').trim();
      if (!password) problems.push({ variable: 'ARI_PASSWORD_FILE', message: 'the file is empty' });
    } catch (err) {
      problems.push({ variable: 'ARI_PASSWORD_FILE', message: `cannot be read (${(err as Error).message})` });
    }
  }
  if (!config.ARI_USERNAME)
    problems.push({ variable: 'ARI_USERNAME', message: 'required unless ARI_ENABLED=false' });
  if (!password && !config.ARI_PASSWORD_FILE)
    problems.push({
      variable: 'ARI_PASSWORD',
      message: 'required (or ARI_PASSWORD_FILE) unless ARI_ENABLED=false',
    });
  if (problems.length > 0) throw new ConfigError(problems);
  return { username: config.ARI_USERNAME!, password: password! };
}

async function main(): Promise<void> {
  let config: Config;
  let credentials: { username: string; password: string } | undefined;
  try {
    config = loadConfig();
    if (config.ARI_ENABLED) credentials = ariCredentials(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`invalid environment variable ${p.variable}: ${p.message}`);
      process.exit(1);
    }
    throw err;
  }

  const logger = createLogger(config.LOG_LEVEL);
  if (!config.ADMIN_TOKEN)
    logger.warn('ADMIN_TOKEN is not set: the platform routes (/v1/companies) cannot be used');

  const store = await createStore(config, logger);
  // events, call lists and metrics (before anything uses the store: it times its operations)
  const telemetry = await createTelemetry({ config, logger, store });

  let ari: AriClient | undefined;
  let controller: CallController | undefined;
  let provisioner: DeviceProvisioner | undefined;
  let recordings: RecordingFiles | undefined;
  if (credentials) {
    ari = createAriClient({ url: config.ARI_URL, ...credentials, app: config.ARI_APP, logger });
    telemetry.watchAri(ari);
    controller = await startCallController({
      ari,
      store,
      config,
      logger,
      flows: { portal: portalFlow },
      events: telemetry.calls,
    });
    telemetry.watchController(controller);
    const devices = createAriProvisioner(ari, { logger });
    provisioner = devices;
    recordings = createAriRecordingFiles(ari);
    // after every (re)connect Asterisk may have been restarted or missed pushes: push all
    // devices again, in the background so calls are routed meanwhile
    let resync: Promise<unknown> | undefined;
    ari.events.onConnected(() => {
      resync ??= resyncDevices(store, devices, logger)
        .catch((err: unknown) => logger.error({ err }, 'device resync failed'))
        .finally(() => (resync = undefined));
    });
  } else {
    logger.warn('ARI_ENABLED=false: provisioning API only, no calls are handled and devices stay pending');
  }

  const app = await buildApp({
    store,
    config,
    logger,
    ...(provisioner ? { provisioner } : {}),
    ...(recordings ? { recordings } : {}),
    telemetry: telemetry.backend,
    metrics: telemetry.metrics,
  });

  await app.listen({ host: config.HOST, port: config.PORT });
  const metricsServer = config.METRICS_LISTEN
    ? await startMetricsServer(telemetry.metrics, config.METRICS_LISTEN)
    : undefined;
  if (!config.METRICS_LISTEN && !config.METRICS_TOKEN)
    logger.info('neither METRICS_TOKEN nor METRICS_LISTEN is set: /metrics is not served');

  let stopping = false;
  async function shutdown(signal: string, code = 0): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await app.close();
      metricsServer?.close();
      await controller?.stop();
      await ari?.close();
      await telemetry.close();
      await store.close();
      process.exit(code);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  }
  // connect() retries with backoff until Asterisk answers; wrong credentials end the process
  ari?.connect().catch((err: unknown) => {
    logger.fatal({ err }, 'cannot connect to ARI');
    void shutdown('ari-connect', 1);
  });
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('fatal: could not start', err);
  process.exit(1);
});
