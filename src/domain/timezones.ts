/**
 * IANA time zones for groups, workplaces and portals. The runtime's ICU list is read once:
 * validation runs per API request and the list never changes at runtime.
 */
let canonical: ReadonlySet<string> | undefined;
/** Verdicts for names outside the canonical list (aliases such as Asia/Kolkata), cached. */
const aliasVerdicts = new Map<string, boolean>();
const MAX_CACHED_ALIASES = 1000;

/** "Area/Location" spelling of IANA names; rejects "europe/berlin", offsets like "GMT+1" and junk. */
const IANA_SHAPE = /^[A-Z][A-Za-z_]*(\/[A-Z][A-Za-z0-9_+-]*)+$/;

function canonicalTimezones(): ReadonlySet<string> {
  // Intl omits "UTC" and its Etc/ aliases from supportedValuesOf; people use them
  canonical ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC', 'Etc/GMT']);
  return canonical;
}

function isKnownAlias(tz: string): boolean {
  if (!IANA_SHAPE.test(tz)) return false;
  const cached = aliasVerdicts.get(tz);
  if (cached !== undefined) return cached;
  let ok: boolean;
  try {
    // ICU lists only canonical names (Asia/Calcutta) but accepts the current ones (Asia/Kolkata)
    new Intl.DateTimeFormat('en', { timeZone: tz });
    ok = true;
  } catch {
    ok = false;
  }
  if (aliasVerdicts.size < MAX_CACHED_ALIASES) aliasVerdicts.set(tz, ok);
  return ok;
}

/** Whether tz is an IANA time zone name this runtime knows ("Europe/Berlin", "UTC"). Case-sensitive. */
export function isValidTimezone(tz: string): boolean {
  if (typeof tz !== 'string') return false;
  return canonicalTimezones().has(tz) || isKnownAlias(tz);
}

/** Problems with a time zone field; empty when valid. */
export function validateTimezone(tz: string): string[] {
  if (typeof tz !== 'string' || tz.length === 0) return ['is required'];
  return isValidTimezone(tz)
    ? []
    : [`unknown time zone ${JSON.stringify(tz)}; use an IANA name like Europe/Berlin`];
}
