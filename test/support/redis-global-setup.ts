/**
 * Starts one real redis-server (from Debian's package) on a free loopback port for the whole
 * test run, and hands its URL to the tests through vitest's provide/inject.
 * Each test file that uses Redis takes its own key prefix / database, see test/support/redis.ts.
 */
import { startRedisServer } from '../../tools/redis-server.js';
import type { TestProject } from 'vitest/node';
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export { freePort } from '../../tools/redis-server.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_REDIS_URL;
  if (external) {
    project.provide('redisUrl', external);
    return async () => {};
  }
  const redis = await startRedisServer({ databases: 64 });
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
