/**
 * Store factories. Redis is the production store; the in-memory store keeps nothing across a
 * restart and exists for trying the service out (and for tests that do not need Redis).
 */
import pino from 'pino';
import type { PbxStore } from './call-lookup.js';
import { MemoryKv } from './memory-kv.js';
import { RedisKv } from './redis-kv.js';
import { createKvStore, type KvStoreOptions } from './repositories.js';
import { loadSecretKey } from './sip-secrets.js';

export type { BlockingContext, CallLookup, CallTarget, PbxStore } from './call-lookup.js';
export { callLookupOf, hasCallLookup } from './call-lookup.js';
export * from './store.js';
export { loadSecretKey, parseSecretKey, SecretKeyError } from './sip-secrets.js';

export const DEFAULT_PREFIX = 'pbx:';

export function createMemoryStore(
  opts: { prefix?: string; logger?: pino.Logger } & KvStoreOptions = {},
): PbxStore {
  return createKvStore(new MemoryKv(), opts.prefix ?? DEFAULT_PREFIX, opts.logger, opts);
}

export async function createRedisStore(
  opts: {
    url: string;
    prefix?: string;
    logger?: pino.Logger;
    /** see RedisKvOptions.commandTimeoutMs */
    commandTimeoutMs?: number;
  } & KvStoreOptions,
): Promise<PbxStore> {
  // connection errors must reach a log even when the caller passed no logger
  const logger = opts.logger ?? pino({ name: 'store', level: 'warn' });
  const kv = await RedisKv.connect({
    url: opts.url,
    logger,
    ...(opts.commandTimeoutMs !== undefined ? { commandTimeoutMs: opts.commandTimeoutMs } : {}),
  });
  return createKvStore(kv, opts.prefix ?? DEFAULT_PREFIX, logger, opts);
}

/**
 * Redis when REDIS_URL is set, else the in-memory store with a loud warning. With SECRET_KEY
 * (or SECRET_KEY_FILE) SIP passwords are encrypted at rest; without, a warning says they are not.
 */
export async function createStore(
  config: { REDIS_URL?: string; SECRET_KEY?: string; SECRET_KEY_FILE?: string },
  logger: pino.Logger,
): Promise<PbxStore> {
  const secretKey = loadSecretKey(config);
  if (!secretKey) {
    logger.warn(
      'SECRET_KEY is not set: SIP passwords are stored in CLEAR in the store (set SECRET_KEY or SECRET_KEY_FILE)',
    );
  }
  const options = secretKey ? { secretKey } : {};
  if (config.REDIS_URL) return createRedisStore({ url: config.REDIS_URL, logger, ...options });
  logger.warn('REDIS_URL is not set: using the in-memory store, NOTHING is persisted across restarts');
  return createMemoryStore({ logger, ...options });
}
