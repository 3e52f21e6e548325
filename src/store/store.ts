/**
 * The one store interface, used by the API and the call controller.
 * Two implementations pass the same contract tests: Redis (production) and in-memory
 * (REDIS_URL unset, for trying the service out). Multi-key writes are atomic: a number,
 * an extension or a username can never be given twice, even under concurrent requests.
 *
 * Every mutating method publishes a ConfigChange so call controllers drop cached config.
 */
import type {
  AnywherePortal,
  ApiToken,
  Area,
  BlockingProfile,
  Schedule,
  Company,
  Group,
  LiveCall,
  NumberTarget,
  Template,
  AccountLink,
  UserAccount,
  VoiceboxMessage,
  WebSession,
  Workplace,
} from '../domain/model.js';
import type { CallThroughPolicy, CallThroughUsage, RefusalReason } from '../domain/fraud.js';

export interface CallThroughRequest {
  /** unique per call-through (the session's channel id) */
  callId: string;
  companyId: string;
  workplaceId: string;
  nowMs: number;
  /** country calling code of the destination */
  country: string;
  /** refused by its destination class: counted as a refusal, never admitted */
  refusal?: 'premium-rate' | 'country-not-allowed' | 'invalid-number';
  policy: CallThroughPolicy;
  /** the concurrency slot frees itself after this long even when the call is never settled */
  leaseSeconds: number;
}

export interface CallThroughSettlement {
  callId: string;
  companyId: string;
  workplaceId: string;
  /** the instant it was admitted (its talk time counts on that day) */
  startedAtMs: number;
  /** talk time */
  seconds: number;
}

export type CallThroughVerdict =
  /** secondsLeft: talk minutes left today (workplace or company, the lesser), in seconds */
  | { kind: 'admitted'; newCountry: boolean; secondsLeft: number }
  | { kind: 'refused'; reason: RefusalReason; refusalsToday: number; lockedNow: boolean };

export interface CallThroughLock {
  since: string;
  reason: string;
  refusals: number;
}

export interface CallThroughStatus {
  usage: CallThroughUsage;
  lock: CallThroughLock | undefined;
}

export type EntityKind =
  | 'company'
  | 'group'
  | 'area'
  | 'blockingProfile'
  | 'schedule'
  | 'template'
  | 'workplace'
  | 'portal'
  | 'token'
  /** a web account's password, sessions or existence changed (event streams re-check their credential) */
  | 'account';

export interface ConfigChange {
  kind: EntityKind;
  id: string;
  companyId?: string;
}

/** A voicebox message being recorded on the caller channel `channelId`. */
export interface RecordingInProgress {
  message: VoiceboxMessage;
  channelId: string;
}

/** A uniqueness clash: which index refused the write. */
export class ConflictError extends Error {
  constructor(
    /** e.g. 'number', 'extension', 'username' */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The company was deleted (or is being deleted): nothing may be written under it any more. */
export class CompanyGoneError extends Error {
  constructor(readonly companyId: string) {
    super('company not found');
    this.name = 'CompanyGoneError';
  }
}

/**
 * Number ranges of a group overlap ranges of another group (of any company). Which group is
 * deliberately not said: it may be another tenant's.
 */
export class RangeOverlapError extends Error {
  constructor(
    /** indexes into the written group's numberRanges */
    readonly indexes: number[],
  ) {
    super(`number ranges ${indexes.join(', ')} overlap a range in use`);
    this.name = 'RangeOverlapError';
  }
}

/**
 * The backend did not answer (Redis down, restarting, or slower than the command timeout).
 * Nothing is queued for later: the caller may retry (the API answers 503 + Retry-After).
 */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('the store is unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Optimistic concurrency: the object changed between read and write. Retry. */
export class StaleWriteError extends Error {
  constructor(message = 'object was changed concurrently') {
    super(message);
    this.name = 'StaleWriteError';
  }
}

/** Per-kind CRUD scoped to a company. `get` returns undefined for other companies' objects. */
export interface CompanyScopedRepo<T extends { id: string; companyId: string }> {
  get(companyId: string, id: string): Promise<T | undefined>;
  list(companyId: string): Promise<T[]>;
  /** Writes the whole object; creates when absent. Atomic with its index entries. */
  put(entity: T, previous?: T): Promise<void>;
  delete(entity: T): Promise<void>;
}

export interface AccountsRepo {
  get(companyId: string, id: string): Promise<UserAccount | undefined>;
  getById(id: string): Promise<UserAccount | undefined>;
  list(companyId: string): Promise<UserAccount[]>;
  /** by username or e-mail (lowercase) */
  byLogin(login: string): Promise<UserAccount | undefined>;
  /** claims username and e-mail atomically (ConflictError 'username' / 'email'); CAS on previous */
  put(account: UserAccount, previous?: UserAccount): Promise<void>;
  /** the account, its logins, its sessions */
  delete(account: UserAccount): Promise<void>;
  createSession(session: WebSession): Promise<void>;
  /** undefined when unknown or expired (an expired one is deleted) */
  session(hash: string, nowMs: number): Promise<WebSession | undefined>;
  deleteSession(session: WebSession): Promise<void>;
  /** signs the account out everywhere (password reset, deletion) */
  deleteSessionsOf(accountId: string): Promise<void>;
  createLink(link: AccountLink): Promise<void>;
  /** single use: returns the link and deletes it in one atomic step; undefined when unknown, used or expired */
  takeLink(hash: string, nowMs: number): Promise<AccountLink | undefined>;
  /** drops the open links of an account (a new invitation replaces the old one) */
  deleteLinksOf(accountId: string): Promise<void>;
}

export interface Store {
  readonly kind: 'redis' | 'memory';

  /**
   * Referential integrity (unless the store was opened with checkReferences: false): every
   * company-scoped write requires its company (CompanyGoneError), and the group, area and
   * blocking profile it names (ConflictError naming the field); a group, area or blocking
   * profile cannot be deleted while anything names it (ConflictError 'id'). Checked inside the
   * same atomic write, so a concurrent delete and create cannot leave an orphan.
   */
  companies: {
    get(id: string): Promise<Company | undefined>;
    list(): Promise<Company[]>;
    /** With `previous`: compare-and-set, StaleWriteError when the company changed meanwhile. */
    put(company: Company, previous?: Company): Promise<void>;
    /**
     * Removes the company and leaves a tombstone: from now on nothing can be written under it,
     * and its objects can be removed at leisure (finishDelete when none are left).
     */
    delete(id: string): Promise<void>;
    /** Deleted, but its objects may not all be removed yet (a cascade was interrupted). */
    isDeleting(id: string): Promise<boolean>;
    finishDelete(id: string): Promise<void>;
  };
  /**
   * put() keeps two invariants atomically: the number ranges of all groups of all companies
   * never overlap (RangeOverlapError; an index sorted by range start makes the check cost
   * independent of the number of groups), and a company with groups has exactly one default
   * group (making one the default clears the old one in the same write; the first group is
   * the default). It returns the group as stored.
   */
  groups: Omit<CompanyScopedRepo<Group>, 'put'> & {
    put(group: Group, previous?: Group): Promise<Group>;
  };
  areas: CompanyScopedRepo<Area>;
  blockingProfiles: CompanyScopedRepo<BlockingProfile>;
  /** opening hours, holidays and closed days; one in use by a workplace cannot be deleted */
  schedules: CompanyScopedRepo<Schedule>;
  /** voicebox messages waiting to be mailed; a job is created with its message (voicebox.add) */
  mailOutbox: MailOutboxRepo;
  templates: CompanyScopedRepo<Template>;
  /**
   * put() claims number (global), extension (per company) and username (global) atomically,
   * releasing the previous values when they changed; throws ConflictError naming the field.
   */
  workplaces: CompanyScopedRepo<Workplace> & {
    /** Many workplaces at once, all or nothing (CSV import). */
    putMany(entities: Workplace[]): Promise<void>;
    getById(id: string): Promise<Workplace | undefined>;
    getMany(ids: string[]): Promise<Array<Workplace | undefined>>;
    byExtension(companyId: string, extension: string): Promise<Workplace | undefined>;
    /** Which of these usernames are taken (usernames are global), in one round trip. */
    usernamesTaken(usernames: string[]): Promise<Set<string>>;
    /** Workplaces whose parallel-ringing list contains this E.164 number (portal auth). */
    byParallelNumber(number: string): Promise<Workplace[]>;
  };
  /** put() claims number (global) and extension (per company) like workplaces. */
  portals: CompanyScopedRepo<AnywherePortal> & {
    getById(id: string): Promise<AnywherePortal | undefined>;
  };

  numbers: {
    /** The one lookup from a dialled E.164 number to its workplace or portal. */
    resolve(number: string): Promise<NumberTarget | undefined>;
    /** Numbers of the given candidates that are already taken (available-number search). */
    taken(numbers: string[]): Promise<Set<string>>;
  };

  tokens: {
    create(token: ApiToken): Promise<void>;
    byHash(hash: string): Promise<ApiToken | undefined>;
    list(companyId: string): Promise<ApiToken[]>;
    delete(companyId: string, id: string): Promise<void>;
  };

  /** Web app sign-in: accounts, sessions and one-time links (see src/store/accounts.ts). */
  accounts: AccountsRepo;

  voicebox: {
    add(message: VoiceboxMessage): Promise<void>;
    list(workplaceId: string): Promise<VoiceboxMessage[]>;
    get(workplaceId: string, id: string): Promise<VoiceboxMessage | undefined>;
    update(message: VoiceboxMessage): Promise<void>;
    delete(workplaceId: string, id: string): Promise<void>;
  };

  /** Wrong-PIN counter across calls; the PIN is locked at 5 until reset. */
  pinFailures: {
    get(workplaceId: string): Promise<number>;
    /** increments and returns the new count, in one round trip */
    increment(workplaceId: string): Promise<number>;
    reset(workplaceId: string): Promise<void>;
  };

  /**
   * Shared fixed-window rate limits (every API process sees the same counts): `hit` counts one
   * attempt for the key and says whether it is within `max` per `windowMs`.
   */
  rateLimits: {
    hit(key: string, max: number, windowMs: number): Promise<{ allowed: boolean; retryAfterMs: number }>;
  };

  /** Running calls of workplaces, for `*11`. */
  liveCalls: {
    put(call: LiveCall): Promise<void>;
    get(workplaceId: string): Promise<LiveCall | undefined>;
    /**
     * Removes only if the registered call is still this one: same bridge AND same remote
     * channel. A bridge id alone does not tell calls apart: bridges are reused (bridge-pool.ts),
     * so a newer call of the workplace may be registered with the same bridge.
     */
    remove(call: Pick<LiveCall, 'workplaceId' | 'bridgeId' | 'remoteChannelId'>): Promise<void>;
    listByController(controllerId: string): Promise<LiveCall[]>;
  };

  /**
   * The call-through fraud guard's counters, atomic across controllers. `admit` is ONE round
   * trip: it settles the given ended call-throughs and admits (or refuses) a new one.
   */
  callThroughs: {
    admit(request: CallThroughRequest, settle?: CallThroughSettlement[]): Promise<CallThroughVerdict>;
    /** settles ended call-throughs (frees their concurrency slot, adds their talk time) */
    settle(ends: CallThroughSettlement[], nowMs?: number): Promise<void>;
    /** the counters of a workplace and its company now (API, routing explain) */
    usage(companyId: string, workplaceId: string, nowMs: number): Promise<CallThroughStatus>;
    lock(workplaceId: string): Promise<CallThroughLock | undefined>;
    /** lifts the lock and forgets today's refusals */
    /** clears the lock and the refusals of the day of `nowMs` (default: now) */
    unlock(workplaceId: string, nowMs?: number): Promise<void>;
  };

  /**
   * Voicebox messages being recorded right now, per controller: a controller that restarts
   * mid-recording finds them and stores the message once Asterisk has the recording.
   */
  recordingsInProgress: {
    put(controllerId: string, record: RecordingInProgress): Promise<void>;
    remove(controllerId: string, messageId: string): Promise<void>;
    list(controllerId: string): Promise<RecordingInProgress[]>;
  };

  /** Pub/sub of configuration changes; returns an unsubscribe function. */
  onChange(listener: (change: ConfigChange) => void): Promise<() => Promise<void>>;
  publishChange(change: ConfigChange): Promise<void>;

  /** Round trips to the backend since start (benchmarks count them). */
  roundTrips(): number;

  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** a voicebox message waiting to be mailed (see mail-outbox.ts) */
export interface MailJob {
  /** "<workplaceId>/<messageId>" */
  id: string;
  workplaceId: string;
  messageId: string;
  /** failed attempts so far */
  attempts: number;
  lastError?: string;
  /** the sender holding the job, and until when (epoch ms) */
  claimedBy?: string;
  claimedUntilMs?: number;
}

export interface MailOutboxRepo {
  /** jobs due at `nowMs` that nobody holds, oldest first */
  due(nowMs: number, limit: number): Promise<MailJob[]>;
  /** takes the job until `untilMs`; undefined when another sender took or finished it first */
  claim(job: MailJob, holder: string, untilMs: number): Promise<MailJob | undefined>;
  /** a failed attempt: due again at `dueMs` */
  retry(job: MailJob, dueMs: number, error: string): Promise<MailJob>;
  /** sent, or nothing to send: the job is gone */
  finish(job: MailJob): Promise<void>;
  /** how many jobs wait (for metrics and tests) */
  pending(): Promise<number>;
}
