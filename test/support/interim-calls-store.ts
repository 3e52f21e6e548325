/**
 * INTERIM until src/store lands: the API tests' in-memory store plus what the call layer
 * needs from it (change notifications, the live-call registry). Delete once src/store exists.
 */
import { EventEmitter } from 'node:events';
import type { LiveCall } from '../../src/domain/model.js';
import type { ConfigChange, Store } from '../../src/store/store.js';
import { createInterimStore } from '../api/support/interim-store.js';

export function createInterimCallsStore(): Store {
  const base = createInterimStore();
  const changes = new EventEmitter();
  const live = new Map<string, LiveCall>();
  const publish = (change: ConfigChange) => changes.emit('change', change);
  const wrap = <
    R extends { put: (...a: never[]) => Promise<void>; delete: (...a: never[]) => Promise<void> },
  >(
    kind: ConfigChange['kind'],
    repo: R,
  ): R => ({
    ...repo,
    put: async (...args: Parameters<R['put']>) => {
      await (repo.put as (...a: unknown[]) => Promise<void>)(...args);
      const e = args[0] as unknown as { id: string; companyId?: string };
      publish({ kind, id: e.id, companyId: e.companyId });
    },
    delete: async (...args: Parameters<R['delete']>) => {
      await (repo.delete as (...a: unknown[]) => Promise<void>)(...args);
      const e = args[0] as unknown as { id: string; companyId?: string } | string;
      publish({ kind, id: typeof e === 'string' ? e : e.id });
    },
  });
  return {
    ...base,
    companies: wrap('company', base.companies),
    groups: wrap('group', base.groups),
    blockingProfiles: wrap('blockingProfile', base.blockingProfiles),
    workplaces: wrap('workplace', base.workplaces),
    portals: wrap('portal', base.portals),
    liveCalls: {
      async put(call) {
        live.set(call.workplaceId, structuredClone(call));
      },
      async get(wid) {
        return structuredClone(live.get(wid));
      },
      async remove(wid, bridgeId) {
        if (live.get(wid)?.bridgeId === bridgeId) live.delete(wid);
      },
      async listByController(id) {
        return [...live.values()].filter((c) => c.controllerId === id);
      },
    },
    async onChange(listener) {
      changes.on('change', listener);
      return async () => {
        changes.off('change', listener);
      };
    },
    async publishChange(change) {
      publish(change);
    },
  };
}
