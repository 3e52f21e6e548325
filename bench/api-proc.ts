/**
 * The provisioning API under test, in its own process (pinned to one core by the
 * orchestrator): the real fastify app over the Redis store, listening on loopback. Logs at
 * LOG_LEVEL (default info, like production: one line per request) to /dev/null.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { createRedisStore, type PbxStore } from '../src/store/index.js';
import { serveIpc } from './common.js';

let app: FastifyInstance | undefined;
let store: PbxStore | undefined;

serveIpc({
  ready: () => true,
  async start(args: { redisUrl: string; prefix: string; logLevel?: string }) {
    const config = loadConfig({
      REDIS_URL: args.redisUrl,
      ADMIN_TOKEN: randomUUID(),
      ARI_ENABLED: 'false',
      LOG_LEVEL: args.logLevel ?? 'info',
    });
    const logger = pino({ level: config.LOG_LEVEL }, pino.destination({ dest: '/dev/null', sync: false }));
    store = await createRedisStore({ url: args.redisUrl, prefix: args.prefix, logger });
    app = await buildApp({ store, config, logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
  },
  stats() {
    return { rss: process.memoryUsage().rss, roundTrips: store?.roundTrips() ?? 0 };
  },
  async stop() {
    await app?.close();
    await store?.close();
    return true;
  },
});
