/**
 * In-process cache of the configuration a call decision needs (number → target, workplaces,
 * portals, groups, companies, blocking profiles), invalidated by the store's change messages,
 * so a warm call decision costs no Redis round trip and an API change applies to the next call.
 *
 * Promises are cached, not values: concurrent calls share one lookup, and an invalidation
 * that arrives while a lookup is in flight drops it, so a stale answer is never kept.
 */
import type {
  AnywherePortal,
  BlockingProfile,
  Company,
  Group,
  Schedule,
  Workplace,
} from '../../domain/model.js';
import { resolveBlockingProfile, type BlockingResolution } from '../../domain/blocking.js';
import { callLookupOf, type CallLookup, type CallTarget } from '../../store/call-lookup.js';
import type { ConfigChange, Store } from '../../store/store.js';

export type ResolvedTarget =
  { kind: 'workplace'; workplace: Workplace } | { kind: 'portal'; portal: AnywherePortal } | undefined;

/** Bounds memory when many distinct (e.g. unknown) numbers are dialled. */
const MAX_ENTRIES_PER_MAP = 50_000;

class PromiseCache<V> {
  private readonly map = new Map<string, Promise<V>>();

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.map.get(key);
    if (hit) return hit;
    if (this.map.size >= MAX_ENTRIES_PER_MAP) this.map.clear();
    const p = load();
    this.map.set(key, p);
    // failures are not cached: the next call tries again
    p.catch(() => {
      if (this.map.get(key) === p) this.map.delete(key);
    });
    return p;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Remember a value loaded along with something else (never replaces an in-flight load). */
  prime(key: string, value: V): void {
    if (!this.map.has(key)) this.map.set(key, Promise.resolve(value));
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}

export class ConfigCache {
  private readonly numbers = new PromiseCache<ResolvedTarget>();
  private readonly extensions = new PromiseCache<ResolvedTarget>();
  private readonly workplaces = new PromiseCache<Workplace | undefined>();
  private readonly portals = new PromiseCache<AnywherePortal | undefined>();
  private readonly groups = new PromiseCache<Group | undefined>();
  private readonly companies = new PromiseCache<Company | undefined>();
  private readonly profiles = new PromiseCache<BlockingProfile | undefined>();
  private readonly schedules = new PromiseCache<Schedule | undefined>();
  private readonly endpoints = new PromiseCache<string | undefined>();
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly lookup: CallLookup;
  /** bumped by every change, so a lookup that raced a change never warms another cache */
  private generation = 0;

  constructor(private readonly store: Store) {
    this.lookup = callLookupOf(store);
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.store.onChange((change) => this.invalidate(change));
  }

  /** Forgets everything (changes may have been missed, e.g. while the store was away). */
  clear(): void {
    this.generation++;
    for (const c of [
      this.numbers,
      this.extensions,
      this.workplaces,
      this.portals,
      this.groups,
      this.companies,
      this.profiles,
      this.schedules,
      this.endpoints,
    ])
      c.clear();
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  invalidate(change: ConfigChange): void {
    this.generation++;
    switch (change.kind) {
      case 'workplace':
        this.workplaces.delete(change.id);
        // a number or extension may have moved to or from this workplace
        this.numbers.clear();
        this.extensions.clear();
        this.endpoints.clear();
        break;
      case 'portal':
        this.portals.delete(change.id);
        this.numbers.clear();
        this.extensions.clear();
        break;
      case 'group':
        this.groups.delete(change.id);
        break;
      case 'company':
        this.companies.delete(change.id);
        break;
      case 'blockingProfile':
        this.profiles.delete(change.id);
        break;
      case 'schedule':
        this.schedules.delete(change.id);
        break;
      default:
        break;
    }
  }

  /**
   * A dialled E.164 number → its workplace or portal (undefined: unallocated). A cold lookup is
   * the store's single round trip (number index + entity together); the entity it brings back
   * also warms the by-id cache.
   */
  resolveNumber(e164: string): Promise<ResolvedTarget> {
    return this.numbers.get(e164, async () => {
      const generation = this.generation;
      return this.adopt(await this.lookup.lookupNumber(e164), generation);
    });
  }

  /** Warms the by-id caches with an entity a lookup brought back, unless a change raced it. */
  private adopt(target: CallTarget | undefined, generation: number): ResolvedTarget {
    if (!target) return undefined;
    const current = generation === this.generation;
    if (target.kind === 'workplace') {
      if (current) this.workplaces.prime(target.id, target.workplace);
      return { kind: 'workplace', workplace: target.workplace };
    }
    if (current) this.portals.prime(target.id, target.portal);
    return { kind: 'portal', portal: target.portal };
  }

  workplace(id: string): Promise<Workplace | undefined> {
    return this.workplaces.get(id, () => this.store.workplaces.getById(id));
  }

  portal(id: string): Promise<AnywherePortal | undefined> {
    return this.portals.get(id, () => this.store.portals.getById(id));
  }

  /** An internal extension within a company → its workplace or portal (one round trip cold). */
  resolveExtension(companyId: string, extension: string): Promise<ResolvedTarget> {
    return this.extensions.get(`${companyId}\u0000${extension}`, async () => {
      const generation = this.generation;
      return this.adopt(await this.lookup.lookupExtension(companyId, extension), generation);
    });
  }

  /**
   * The workplaces listing a number under parallel ringing (any company). Not cached: a portal
   * call or a voicebox access reads it once, and it changes with every workplace edit.
   */
  byParallelNumber(e164: string): Promise<Workplace[]> {
    return this.store.workplaces.byParallelNumber(e164);
  }

  /** The workplace id of a device endpoint (its PJSIP accountcode), loaded by `load` once. */
  endpointWorkplaceId(
    endpoint: string,
    load: () => Promise<string | undefined>,
  ): Promise<string | undefined> {
    return this.endpoints.get(endpoint, load);
  }

  group(companyId: string, id: string): Promise<Group | undefined> {
    return this.groups.get(id, () => this.store.groups.get(companyId, id));
  }

  company(id: string): Promise<Company | undefined> {
    return this.companies.get(id, () => this.store.companies.get(id));
  }

  /** the schedule a workplace names (undefined: it names none, or it is gone) */
  schedule(companyId: string, id: string | undefined): Promise<Schedule | undefined> {
    if (!id) return Promise.resolve(undefined);
    return this.schedules.get(id, () => this.store.schedules.get(companyId, id));
  }

  blockingProfile(companyId: string, id: string | undefined): Promise<BlockingProfile | undefined> {
    if (!id) return Promise.resolve(undefined);
    return this.profiles.get(id, () => this.store.blockingProfiles.get(companyId, id));
  }

  /**
   * The workplace's own profile → its group's → the company default. When any of group,
   * company or the workplace's profile is not cached, all of them (and the profiles they point
   * to) come in one store round trip first.
   */
  async blockingFor(owner: {
    companyId: string;
    groupId: string;
    blockingProfileId?: string;
  }): Promise<BlockingProfile | undefined> {
    return (await this.blockingResolutionFor(owner)).profile;
  }

  /** blockingFor with the level the profile comes from (routing explain shows it). */
  async blockingResolutionFor(owner: {
    companyId: string;
    groupId: string;
    blockingProfileId?: string;
  }): Promise<BlockingResolution> {
    const missing =
      !this.groups.has(owner.groupId) ||
      !this.companies.has(owner.companyId) ||
      (owner.blockingProfileId !== undefined && !this.profiles.has(owner.blockingProfileId));
    if (missing) {
      const generation = this.generation;
      const context = await this.lookup.lookupBlockingContext(owner);
      if (generation === this.generation) {
        this.groups.prime(owner.groupId, context.group);
        this.companies.prime(owner.companyId, context.company);
        for (const profile of context.profiles) this.profiles.prime(profile.id, profile);
      }
    }
    const [group, company] = await Promise.all([
      this.group(owner.companyId, owner.groupId),
      this.company(owner.companyId),
    ]);
    const ids = [owner.blockingProfileId, group?.blockingProfileId, company?.defaultBlockingProfileId];
    const loaded = await Promise.all(ids.map((id) => this.blockingProfile(owner.companyId, id)));
    const profiles = new Map<string, BlockingProfile>();
    for (const p of loaded) if (p) profiles.set(p.id, p);
    return resolveBlockingProfile({
      workplace: owner,
      group,
      company: company ?? { defaultBlockingProfileId: undefined },
      profiles,
    });
  }
}
