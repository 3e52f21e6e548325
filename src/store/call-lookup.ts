/**
 * The call router's lookups: a dialled number (or an internal extension) resolved to its
 * workplace or portal WITH the entity loaded, in ONE round trip (a small server-side script
 * on Redis). Both stores from ./index.ts implement CallLookup; callLookupOf() also adapts any
 * other Store (two round trips) so callers never need to know which one they hold.
 */
import type { AnywherePortal, BlockingProfile, Company, Group, Workplace } from '../domain/model.js';
import type { Store } from './store.js';

export type CallTarget =
  | { kind: 'workplace'; id: string; workplace: Workplace }
  | { kind: 'portal'; id: string; portal: AnywherePortal };

/** What a call's blocking decision needs besides the workplace (SPEC: workplace → group → company). */
export interface BlockingContext {
  company: Company | undefined;
  group: Group | undefined;
  /** the workplace's own profile, the group's and the company default, those that exist */
  profiles: BlockingProfile[];
}

export interface CallLookup {
  /** E.164 number → its workplace/portal with the entity, one round trip; undefined when unassigned */
  lookupNumber(number: string): Promise<CallTarget | undefined>;
  /** extension within a company → its workplace/portal with the entity, one round trip */
  lookupExtension(companyId: string, extension: string): Promise<CallTarget | undefined>;
  /** group, company and every blocking profile they and the workplace refer to, one round trip */
  lookupBlockingContext(owner: {
    companyId: string;
    groupId: string;
    blockingProfileId?: string;
  }): Promise<BlockingContext>;
}

export type PbxStore = Store & CallLookup;

export function hasCallLookup(store: Store): store is PbxStore {
  const candidate = store as Partial<CallLookup>;
  return (
    typeof candidate.lookupNumber === 'function' &&
    typeof candidate.lookupExtension === 'function' &&
    typeof candidate.lookupBlockingContext === 'function'
  );
}

/** The store's own one-round-trip lookup, or a two-round-trip fallback over the plain Store. */
export function callLookupOf(store: Store): CallLookup {
  if (hasCallLookup(store)) return store;
  const load = async (
    target: { kind: 'workplace' | 'portal'; id: string } | undefined,
  ): Promise<CallTarget | undefined> => {
    if (!target) return undefined;
    if (target.kind === 'workplace') {
      const workplace = await store.workplaces.getById(target.id);
      return workplace && { kind: 'workplace', id: target.id, workplace };
    }
    const portal = await store.portals.getById(target.id);
    return portal && { kind: 'portal', id: target.id, portal };
  };
  return {
    lookupNumber: async (number) => load(await store.numbers.resolve(number)),
    async lookupExtension(companyId, extension) {
      const workplace = await store.workplaces.byExtension(companyId, extension);
      if (workplace) return { kind: 'workplace', id: workplace.id, workplace };
      const portal = (await store.portals.list(companyId)).find((p) => p.extension === extension);
      return portal && { kind: 'portal', id: portal.id, portal };
    },
    async lookupBlockingContext(owner) {
      const [company, group] = await Promise.all([
        store.companies.get(owner.companyId),
        store.groups.get(owner.companyId, owner.groupId),
      ]);
      const ids = [owner.blockingProfileId, group?.blockingProfileId, company?.defaultBlockingProfileId];
      const unique = [...new Set(ids.filter((id): id is string => id !== undefined))];
      const loaded = await Promise.all(unique.map((id) => store.blockingProfiles.get(owner.companyId, id)));
      return { company, group, profiles: loaded.filter((p): p is BlockingProfile => p !== undefined) };
    },
  };
}
