import { createMemoryStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';

/**
 * The in-memory store of src/store with its own key prefix. Referential checks are off: these
 * tests store workplaces without creating their company and group first.
 */
export async function createMemoryStoreForTests(prefix: string): Promise<Store> {
  return createMemoryStore({ prefix, checkReferences: false });
}
