/**
 * src/calls/engine/store-writes.ts: writes that must not be lost are kept in order while the store
 * fails and written once it answers; on shutdown what could not land is reported; the bounded
 * store fails a hanging operation instead of waiting for it.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { boundedStore, StoreTimeoutError, StoreWriteQueue } from '../../../src/calls/engine/store-writes.js';

const logger = pino({ level: 'silent' });

/** a store that fails until `up` is set */
function flakyStore() {
  const state = { up: false, written: [] as string[] };
  const write = (what: string) => async () => {
    if (!state.up) throw new Error('store down');
    state.written.push(what);
  };
  return { state, write };
}

describe('StoreWriteQueue', () => {
  it('writes at once when the store answers', async () => {
    const { state, write } = flakyStore();
    state.up = true;
    const queue = new StoreWriteQueue({ logger });
    expect((await queue.write('a', {}, write('a'))).stored).toBe(true);
    expect(state.written).toEqual(['a']);
  });

  it('keeps failed writes in order and writes them once the store is back', async () => {
    const { state, write } = flakyStore();
    const queue = new StoreWriteQueue({ logger, minDelayMs: 1, maxDelayMs: 5 });
    const first = await queue.write('a', {}, write('a'));
    const second = await queue.write('b', {}, write('b'));
    expect(first.stored).toBe(false);
    expect(second.stored).toBe(false);
    expect(queue.pending).toBe(2);
    state.up = true;
    await second.written;
    expect(state.written).toEqual(['a', 'b']);
    expect(queue.pending).toBe(0);
  });

  it('a write while others wait goes behind them, even if the store is back', async () => {
    const { state, write } = flakyStore();
    const queue = new StoreWriteQueue({ logger, minDelayMs: 1, maxDelayMs: 5 });
    await queue.write('put', {}, write('put'));
    state.up = true;
    const remove = await queue.write('remove', {}, write('remove'));
    await remove.written;
    expect(state.written).toEqual(['put', 'remove']);
  });

  it('on shutdown reports what could not land', async () => {
    const { write } = flakyStore();
    const queue = new StoreWriteQueue({ logger, minDelayMs: 60_000 });
    await queue.write('a', {}, write('a'));
    expect(await queue.flush(50)).toBe(1);
    expect(queue.pending).toBe(0);
  });
});

describe('boundedStore', () => {
  it('fails an operation the store does not answer, passes answers through', async () => {
    const store = {
      kind: 'redis',
      things: {
        hang: () => new Promise<string>(() => {}),
        get: async (id: string) => `thing ${id}`,
      },
    };
    const bounded = boundedStore(store, 20);
    await expect(bounded.things.hang()).rejects.toBeInstanceOf(StoreTimeoutError);
    expect(await bounded.things.get('a')).toBe('thing a');
    expect(bounded.kind).toBe('redis');
  });
});
