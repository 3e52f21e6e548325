/**
 * Composition root: configuration, logger, store, the ARI call controller with device
 * provisioning, and the provisioning API. Starts (serving /healthz, not ready on /readyz) while
 * Redis is away; on SIGTERM/SIGINT stops taking calls, leaves answered calls to Asterisk for the
 * next controller, and exits within 10 s whatever is down (src/app/lifecycle.ts).
 */
import { readFileSync } from 'node:fs';
import { buildApp } from '../api/app.js';
import { createAriRecordingFiles, type RecordingFiles } from '../calls/engine/recording-files.js';
import { createAriClient, type AriClient } from '../ari/index.js';
import { startCallController, type CallController } from '../calls/controller.js';
import { portalFlow } from '../calls/flows/portal/portal.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createAriProvisioner } from '../devices/ari-provisioner.js';
import type { DeviceProvisioner } from '../devices/contract.js';
import { resyncDevices } from '../devices/resync.js';
import { createTelemetry } from './telemetry.js';
import { createLogger } from '../logging.js';
import { devicePlacement } from '../devices/pjsip-objects.js';
import { gracefulShutdown, storeWhenReachable } from './lifecycle.js';
import { startMetricsServer } from '../metrics.js';
import { createMemoryStore, createRedisStore, type PbxStore } from '../store/index.js';
import { createMailTransport, VoiceboxMailer } from '../mail/voicebox-mailer.js';
import { defaultControllerId } from '../calls/controller.js';

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

  let store: PbxStore;
  let redisReachable = true;
  if (config.REDIS_URL) {
    const url = config.REDIS_URL;
    // the process serves /healthz (and says not ready) while Redis is away: a store that is
    // not there within a moment is connected in the background
    const lazy = storeWhenReachable(() => createRedisStore({ url, logger }), { kind: 'redis' }, logger);
    store = lazy.store;
    redisReachable = await Promise.race([
      lazy.ready.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
    ]);
  } else {
    logger.warn('REDIS_URL is not set: using the in-memory store, NOTHING is persisted across restarts');
    store = createMemoryStore({ logger });
  }
  // events, call lists and metrics (before anything uses the store: it times its operations).
  // Its Redis backend connects at once: with Redis away at start it keeps them in memory
  if (!redisReachable)
    logger.error(
      'Redis is not reachable at start: events and call lists are kept in memory until the next start',
    );
  const telemetry = await createTelemetry({
    config: redisReachable ? config : { ...config, REDIS_URL: undefined },
    logger,
    store,
  });

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
    const devices = createAriProvisioner(ari, {
      logger,
      // read on every push, so a changed main number or location reaches Asterisk with the next push
      placement: async (workplace) => {
        const [company, group] = await Promise.all([
          store.companies.get(workplace.companyId),
          store.groups.get(workplace.companyId, workplace.groupId),
        ]);
        return devicePlacement(workplace, company, group);
      },
    });
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
    callThroughUsage: controller?.context.callThroughGuard,
  });

  // voicebox messages by e-mail, off the call path (the outbox lives in the store)
  const voiceboxMailer = config.SMTP_URL
    ? new VoiceboxMailer({
        store,
        recordings,
        transport: createMailTransport(config.SMTP_URL),
        from: config.SMTP_FROM,
        ...(config.PUBLIC_URL ? { publicUrl: config.PUBLIC_URL } : {}),
        holder: config.CONTROLLER_ID ?? defaultControllerId(config.ARI_URL, config.ARI_APP),
        logger: logger.child({ component: 'voicebox-mail' }),
        ...(config.VOICEBOX_MAIL_MAX_BYTES ? { maxAttachBytes: config.VOICEBOX_MAIL_MAX_BYTES } : {}),
        onOutcome: (outcome) => telemetry.metrics?.voiceboxMail(outcome),
      })
    : undefined;
  voiceboxMailer?.start();

  await app.listen({ host: config.HOST, port: config.PORT });
  const metricsServer = config.METRICS_LISTEN
    ? await startMetricsServer(telemetry.metrics, config.METRICS_LISTEN)
    : undefined;
  if (!config.METRICS_LISTEN && !config.METRICS_TOKEN)
    logger.info('neither METRICS_TOKEN nor METRICS_LISTEN is set: /metrics is not served');

  const shutdown = gracefulShutdown(
    () => [
      // new calls are refused (34) and calls in set-up ended; answered calls stay up in Asterisk
      {
        name: 'calls',
        run: async () => controller?.stop({ handOver: true, flushMs: 2500 }),
        timeoutMs: 4000,
      },
      { name: 'api', run: () => app.close(), timeoutMs: 1500 },
      { name: 'voicebox-mail', run: async () => voiceboxMailer?.stop(), timeoutMs: 1000 },
      { name: 'metrics', run: async () => metricsServer?.close(), timeoutMs: 200 },
      { name: 'ari', run: async () => ari?.close(), timeoutMs: 1200 },
      { name: 'telemetry', run: () => telemetry.close(), timeoutMs: 800 },
      { name: 'store', run: () => store.close(), timeoutMs: 800 },
    ],
    { logger, deadlineMs: config.SHUTDOWN_TIMEOUT_MS },
  );
  // connect() retries with backoff until Asterisk answers; wrong credentials end the process
  ari?.connect().catch((err: unknown) => {
    logger.fatal({ err }, 'cannot connect to ARI');
    void shutdown.trigger('ari-connect', 1);
  });
}

main().catch((err: unknown) => {
  console.error('fatal: could not start', err);
  process.exit(1);
});
