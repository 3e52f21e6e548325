/**
 * Blocking profiles (Sperrprofile): "eingehende, ausgehende und weitergeleitete Anrufe nach
 * Rufnummerngassen sperren" — block incoming, outgoing and forwarded calls by number prefix.
 */
import type { BlockingProfile } from './model.js';

export type BlockingDirection = 'incoming' | 'outgoing' | 'forwarded';
export const BLOCKING_DIRECTIONS: readonly BlockingDirection[] = ['incoming', 'outgoing', 'forwarded'];

/** Bounds the per-call prefix scan and the stored profile size; real profiles hold a few dozen. */
export const MAX_BLOCKING_PREFIXES = 500;

const PREFIX_PATTERN = /^\+\d{1,15}$/;

/** Whether the E.164 number starts with one of the E.164 prefixes ("+49900" blocks +499001234). */
export function matchesPrefix(number: string, prefixes: readonly string[]): boolean {
  // an empty prefix would block everything; validation rejects it, and we never honour it
  return prefixes.some((prefix) => prefix.length > 1 && number.startsWith(prefix));
}

type ProfileLookup = ReadonlyMap<string, BlockingProfile> | Readonly<Record<string, BlockingProfile>>;

function lookup(profiles: ProfileLookup, id: string | undefined): BlockingProfile | undefined {
  if (!id) return undefined;
  if (profiles instanceof Map) return profiles.get(id);
  const record = profiles as Readonly<Record<string, BlockingProfile>>;
  return Object.prototype.hasOwnProperty.call(record, id) ? record[id] : undefined;
}

/** Where a workplace's effective blocking profile comes from. */
export type BlockingLevel = 'workplace' | 'group' | 'company';

export interface BlockingResolution {
  profile: BlockingProfile | undefined;
  /** the level the profile was found at (undefined: no profile anywhere) */
  level: BlockingLevel | undefined;
  /** levels that name a profile that no longer exists (skipped) */
  dangling: Array<{ level: BlockingLevel; id: string }>;
}

/**
 * Seed: "Wenn Sie kein Sperrprofil hinterlegen, wird das Standardsperrprofil des Unternehmens
 * … übernommen"; groups carry "ein einheitliches Sperrprofil". So: the workplace's own →
 * its group's → the company default. An id that names no existing profile (deleted) falls
 * through to the next level, so a dangling reference never means "nothing blocked" while a
 * broader profile exists.
 */
export function resolveBlockingProfile(args: {
  workplace?: { blockingProfileId?: string };
  group?: { blockingProfileId?: string };
  company: { defaultBlockingProfileId?: string };
  profiles: ProfileLookup;
}): BlockingResolution {
  const levels: Array<[BlockingLevel, string | undefined]> = [
    ['workplace', args.workplace?.blockingProfileId],
    ['group', args.group?.blockingProfileId],
    ['company', args.company.defaultBlockingProfileId],
  ];
  const dangling: BlockingResolution['dangling'] = [];
  for (const [level, id] of levels) {
    if (!id) continue;
    const profile = lookup(args.profiles, id);
    if (profile) return { profile, level, dangling };
    dangling.push({ level, id });
  }
  return { profile: undefined, level: undefined, dangling };
}

/** The effective profile of resolveBlockingProfile (workplace → group → company default). */
export function effectiveBlockingProfile(args: {
  workplace?: { blockingProfileId?: string };
  group?: { blockingProfileId?: string };
  company: { defaultBlockingProfileId?: string };
  profiles: ProfileLookup;
}): BlockingProfile | undefined {
  return resolveBlockingProfile(args).profile;
}

/** The first prefix of the list that blocks the number (what matchesPrefix found), if any. */
export function blockingPrefix(number: string, prefixes: readonly string[]): string | undefined {
  return prefixes.find((prefix) => prefix.length > 1 && number.startsWith(prefix));
}

/** Whether the profile blocks this number in this direction; no profile blocks nothing. */
export function isBlocked(
  profile: BlockingProfile | undefined,
  direction: BlockingDirection,
  number: string,
): boolean {
  if (!profile) return false;
  return matchesPrefix(number, profile[direction]);
}

const union = (lists: ReadonlyArray<readonly string[]>): string[] => [...new Set(lists.flat())].sort();

/**
 * The combination of several profiles, blocking whatever any of them blocks — "the stricter
 * wins" (e.g. the portal's profile and the employee's workplace profile on a portal call).
 * Undefined when no profile is given. The result is synthetic (never stored): its id and
 * name list the sources so logs can say which profiles applied.
 */
export function stricterOf(...profiles: Array<BlockingProfile | undefined>): BlockingProfile | undefined {
  const present = profiles.filter((p): p is BlockingProfile => p !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  const first = present[0]!;
  return {
    id: present.map((p) => p.id).join('+'),
    companyId: first.companyId,
    name: present.map((p) => p.name).join(' + '),
    incoming: union(present.map((p) => p.incoming)),
    outgoing: union(present.map((p) => p.outgoing)),
    forwarded: union(present.map((p) => p.forwarded)),
    createdAt: first.createdAt,
    updatedAt: present.map((p) => p.updatedAt).reduce((a, b) => (a > b ? a : b)),
  };
}

/** Each prefix must be "+" and 1..15 digits; messages name the index ("2: ..."). Empty when valid. */
export function validateBlockingPrefixes(prefixes: readonly string[]): string[] {
  if (!Array.isArray(prefixes)) return ['must be a list of prefixes'];
  const problems: string[] = [];
  if (prefixes.length > MAX_BLOCKING_PREFIXES) {
    problems.push(`at most ${MAX_BLOCKING_PREFIXES} prefixes are allowed (got ${prefixes.length})`);
  }
  prefixes.forEach((prefix, index) => {
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
      problems.push(`${index}: must be "+" followed by 1 to 15 digits (e.g. +49900)`);
    }
  });
  return problems;
}
