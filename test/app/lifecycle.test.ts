/**
 * src/app/lifecycle.ts: the shutdown runs its steps once, bounded, and exits; a second signal exits
 * at once; the store stand-in answers at once while Redis is away and forwards once it is there.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { gracefulShutdown, StoreUnavailableError, storeWhenReachable } from '../../src/app/lifecycle.js';

const logger = pino({ level: 'silent' });

describe('gracefulShutdown', () => {
  it('runs every step in order, a step that never ends does not hold the next, then exits 0', async () => {
    const ran: string[] = [];
    const exits: number[] = [];
    const shutdown = gracefulShutdown(
      () => [
        { name: 'hangs', run: () => (ran.push('hangs'), new Promise(() => {})), timeoutMs: 20 },
        { name: 'fails', run: () => (ran.push('fails'), Promise.reject(new Error('down'))), timeoutMs: 1000 },
        { name: 'ok', run: async () => ran.push('ok'), timeoutMs: 1000 },
      ],
      { logger, exit: (c) => exits.push(c), deadlineMs: 60_000 },
    );
    await shutdown.trigger('test');
    await shutdown.trigger('again');
    expect(ran).toEqual(['hangs', 'fails', 'ok']);
    expect(exits).toEqual([0]);
  });

  it('a second signal exits at once (code 1) while the steps still run', async () => {
    const exits: number[] = [];
    const shutdown = gracefulShutdown(
      () => [{ name: 'slow', run: () => new Promise(() => {}), timeoutMs: 60_000 }],
      {
        logger,
        exit: (c) => exits.push(c),
        deadlineMs: 60_000,
      },
    );
    shutdown.onSignal('SIGTERM');
    expect(exits).toEqual([]);
    shutdown.onSignal('SIGINT');
    expect(exits).toEqual([1]);
  });
});

describe('storeWhenReachable', () => {
  it('fails fast and says not ready until the store is there, then forwards everything', async () => {
    let connect!: (s: FakeStore) => void;
    type FakeStore = {
      kind: 'redis';
      ping(): Promise<boolean>;
      things: { get(id: string): Promise<string> };
    };
    const { store, ready } = storeWhenReachable<FakeStore>(
      () => new Promise((r) => (connect = r)),
      { kind: 'redis' },
      logger,
    );
    const early = store.things; // references taken before the connection keep working
    expect(store.kind).toBe('redis');
    expect(await store.ping()).toBe(false);
    await expect(early.get('a')).rejects.toBeInstanceOf(StoreUnavailableError);
    connect({ kind: 'redis', ping: async () => true, things: { get: async (id) => `thing ${id}` } });
    await ready;
    expect(await store.ping()).toBe(true);
    expect(await early.get('a')).toBe('thing a');
    expect(await store.things.get('b')).toBe('thing b');
  });
});
