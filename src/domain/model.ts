/**
 * The provisioned world, as stored. Pure data: no I/O, no behaviour.
 * Numbers are always E.164 with a leading "+" once they are stored.
 * Timestamps are ISO-8601 strings (UTC).
 */

import type { CallThroughPolicySettings } from './fraud.js';
export type { Schedule } from './schedules.js';

export type Language = 'de' | 'en';

export interface Company {
  id: string;
  name: string;
  /** Blocking profile applied when neither the workplace nor its group names one. */
  defaultBlockingProfileId?: string;
  /** Mobile integration makes two-digit extensions and extensions starting with 0 invalid. */
  mobileIntegration: boolean;
  /** the call-through fraud guard's settings (unset fields: DEFAULT_CALL_THROUGH_POLICY) */
  callThroughPolicy?: CallThroughPolicySettings;
  /**
   * The company's main number (E.164): presented on emergency calls by a workplace without a
   * number of its own (src/domain/emergency.ts emergencyCallerNumber).
   */
  mainNumber?: string;
  createdAt: string;
  updatedAt: string;
}

export interface NumberRange {
  /** inclusive, E.164 */
  first: string;
  /** inclusive, E.164, same length as `first` */
  last: string;
}

export interface Group {
  id: string;
  companyId: string;
  name: string;
  timezone: string;
  numberRanges: NumberRange[];
  blockingProfileId?: string;
  /** The company's default group receives workplaces created without a groupId. */
  isDefault: boolean;
  /** the location's postal address: what an emergency call's record names as where the caller is */
  address?: PostalAddress;
  /**
   * The location's network ranges (CIDR, e.g. "203.0.113.0/24"): where devices of workplaces
   * restricted to the location may register and call from.
   */
  networks?: string[];
  createdAt: string;
  updatedAt: string;
}

export interface PostalAddress {
  street: string;
  postalCode: string;
  city: string;
  /** ISO 3166-1 alpha-2, e.g. "DE" */
  country: string;
}

/**
 * Seed "Nomadische Nutzung": allowed (devices work from anywhere) or restricted to the
 * location's connection (the group's networks), so an emergency call always comes from the
 * address on record.
 */
export type NomadicUse = 'allowed' | 'restricted';

export interface Area {
  id: string;
  companyId: string;
  groupId: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface BlockingProfile {
  id: string;
  companyId: string;
  name: string;
  /** E.164 prefixes (e.g. "+49900"); a number matching any prefix is blocked. */
  incoming: string[];
  outgoing: string[];
  forwarded: string[];
  createdAt: string;
  updatedAt: string;
}

export type DeviceType = 'deskphone' | 'desktop' | 'mobile' | 'tablet' | 'universal';

export interface Device {
  id: string;
  type: DeviceType;
  /** Desk phone model, e.g. "Yealink T54W". */
  model?: string;
  /** SIP username = PJSIP endpoint/auth/aor id; what DIAL_DEVICE's {endpoint} becomes. */
  sipUsername: string;
  /** Stored in clear because Asterisk needs it for digest auth; never logged. */
  sipPassword: string;
  createdAt: string;
}

/** Where a forwarding rule sends the call. */
export type ForwardTarget = 'voicebox' | { number: string };

export interface ForwardRule {
  enabled: boolean;
  /** required when enabled */
  target?: ForwardTarget;
}

export interface Forwarding {
  always: ForwardRule;
  busy: ForwardRule;
  noAnswer: ForwardRule & { ringSeconds: number };
  unreachable: ForwardRule;
}

export interface ParallelRinging {
  enabled: boolean;
  /** 1..5 E.164 numbers when enabled */
  numbers: string[];
  /** external legs must press 1 before they get the call */
  answerConfirmation: boolean;
  /** per number (E.164, one of `numbers`): ring it only after a delay, or not while the workplace is on a call */
  options?: Record<string, ParallelNumberOptions>;
}

export interface ParallelNumberOptions {
  /** the number rings this many seconds after the desk (within the same ring time) */
  delaySeconds?: number;
  /** not rung while the workplace is on a call (an answered call in the live-call registry) */
  notWhileOnCall?: boolean;
}

export interface VoiceboxSettings {
  enabled: boolean;
  /** scrypt hash of the PIN ("scrypt$salt$hash"); the PIN itself is never stored. */
  pinHash?: string;
  /** hash of the previous PIN, for the "not the previous PIN or its reverse" rule */
  previousPinHashes?: string[];
  /** stored recording name of a custom greeting; absent → generated default greeting */
  greetingRecording?: string;
  /** each new message is mailed to the workplace's e-mail address (absent: on, as the seeds say) */
  mail?: boolean;
}

export type CallerIdPresentation = 'number' | 'anonymous';

export type WorkplaceStatus = 'pending' | 'active' | 'failed';

/** A selective forwarding rule (its matching and validation: selective.ts). */
export interface SelectiveForwardRule {
  enabled: boolean;
  /** E.164 numbers, or E.164 prefixes ending in "*" ("+4930*") */
  callers: string[];
  /** also callers who withhold their number */
  anonymous: boolean;
  target: ForwardTarget;
}

export interface Workplace {
  id: string;
  companyId: string;
  groupId: string;
  areaId?: string;
  templateId?: string;
  firstName: string;
  lastName: string;
  email: string;
  username: string;
  number: string;
  extension: string;
  language: Language;
  timezone: string;
  status: WorkplaceStatus;
  statusReason?: string;
  blockingProfileId?: string;
  callerIdPresentation: CallerIdPresentation;
  /** absent: allowed (workplaces stored before the setting existed) */
  nomadicUse?: NomadicUse;
  devices: Device[];
  parallelRinging: ParallelRinging;
  forwarding: Forwarding;
  voicebox: VoiceboxSettings;
  /** do-not-disturb: callers go to the voicebox, or hear busy when it is off */
  doNotDisturb?: boolean;
  /** the schedule whose opening hours apply (in the workplace's time zone unless it names one) */
  scheduleId?: string;
  /** where calls go while the schedule is closed (required with scheduleId) */
  closedTarget?: ForwardTarget;
  /** rules by caller that send those callers elsewhere (first match wins) */
  selectiveForwarding?: SelectiveForwardRule[];
  createdAt: string;
  updatedAt: string;
}

export interface Template {
  id: string;
  companyId: string;
  name: string;
  groupId?: string;
  areaId?: string;
  blockingProfileId?: string;
  language?: Language;
  timezone?: string;
  devices: Array<{ type: DeviceType; model?: string }>;
  parallelRinging?: ParallelRinging;
  forwarding?: Forwarding;
  voiceboxEnabled?: boolean;
  createdAt: string;
  updatedAt: string;
}

export type PortalLevel = 'company' | 'group';

export interface AnywherePortal {
  id: string;
  companyId: string;
  groupId: string;
  areaId?: string;
  displayFirstName: string;
  displayLastName: string;
  number: string;
  extension: string;
  timezone: string;
  level: PortalLevel;
  silentMode: boolean;
  pinRequired: boolean;
  blockingProfileId?: string;
  createdAt: string;
  updatedAt: string;
}

/** 'metrics': METRICS_TOKEN, which reads /metrics and nothing else */
export type TokenRole = 'platform' | 'admin' | 'employee' | 'metrics';

/** Who is calling the API. The platform admin has no companyId. */
export interface Principal {
  role: TokenRole;
  companyId?: string;
  workplaceId?: string;
  tokenId?: string;
  /** set when the caller signed in to the web app (a session cookie, not a bearer token) */
  accountId?: string;
}

/** A person who signs in to the web app: a company admin or an employee of one workplace. */
export interface UserAccount {
  id: string;
  companyId: string;
  role: 'admin' | 'employee';
  /** employees only: the workplace whose settings they manage */
  workplaceId?: string;
  /** sign-in name (lowercase, unique across the platform) */
  username: string;
  /** optional second sign-in name and where invitations / resets are sent (lowercase, unique) */
  email?: string;
  /**
   * false: the address is another company's account's sign-in name, kept here for mail only
   * (inviting must not reveal who uses an address elsewhere); never shown in the API
   */
  emailSignIn?: false;
  /** scrypt hash; absent until the invitation is accepted */
  passwordHash?: string;
  /**
   * Set when the password was (re)set: tokens this account minted from a web session before
   * this instant no longer authenticate (ISO time, compared as text).
   */
  credentialsSince?: string;
  createdAt: string;
  updatedAt: string;
}

/** A signed-in browser. Only the sha256 of the cookie value is stored. */
export interface WebSession {
  hash: string;
  accountId: string;
  companyId: string;
  /** the CSRF token the page sends back in X-CSRF-Token on every state-changing request */
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

/** A one-time link: an invitation (set a first password) or a password reset. */
export interface AccountLink {
  hash: string;
  accountId: string;
  companyId: string;
  purpose: 'invite' | 'reset';
  expiresAt: string;
}

export interface ApiToken {
  id: string;
  companyId: string;
  role: 'admin' | 'employee';
  workplaceId?: string;
  /** sha256 of the token; the token is shown once at creation */
  hash: string;
  createdAt: string;
  /**
   * The web app account that minted it from its session: the token dies with that account
   * and with a reset of its password (absent: minted with another token, lives until deleted).
   */
  accountId?: string;
}

export interface VoiceboxMessage {
  id: string;
  companyId: string;
  workplaceId: string;
  callerNumber: string;
  receivedAt: string;
  durationSeconds: number;
  /** ARI stored recording name; the audio is GET /recordings/stored/{name}/file */
  recordingName: string;
  status: 'new' | 'heard' | 'saved';
}

/**
 * A running call of a workplace, registered so that `*11` can find it.
 * remoteChannelId is the party to keep; deviceChannelId the leg to release when pulled.
 */
export interface LiveCall {
  workplaceId: string;
  bridgeId: string;
  remoteChannelId: string;
  deviceChannelId: string;
  /** controller instance that owns the call (for cleanup after a restart) */
  controllerId: string;
  startedAt: string;
  /**
   * The call's trace when it was connected (or moved), for its call-list record: a controller
   * that re-adopts the call after a restart carries on with it. Absent in entries written
   * before it existed (the record is then rebuilt from what Asterisk tells).
   */
  trace?: CallTraceSnapshot;
}

/** A workplace as a call's record needs it (never the whole workplace: the entry stays small). */
export type WorkplaceRef = Pick<Workplace, 'id' | 'companyId' | 'number'>;
export type PortalRef = Pick<AnywherePortal, 'id' | 'companyId'>;

/**
 * What the flows reported of a call so far, as far as its call-list records need it: the
 * part of src/calls/reporting/call-records.ts CallTrace that outlives the process (plain JSON).
 */
export interface CallTraceFields {
  callId: string;
  kind: 'inbound' | 'internal';
  startedMs: number;
  fromDialled: string;
  toDialled: string;
  /** normalised when known */
  from: string;
  to: string;
  caller?: WorkplaceRef;
  target?: WorkplaceRef;
  portal?: PortalRef;
  answeredAt?: string;
  answeredBy?: { kind: 'device' | 'number'; id: string };
  forwardedTo?: string;
  forwardConnected?: boolean;
  voicebox?: boolean;
  busy?: boolean;
  blocked?: boolean;
  refused?: boolean;
  pulledTo?: string;
  /** the workplace whose employee the portal let in */
  portalWorkplace?: WorkplaceRef;
  /** this (portal) call pulled a call of its workplace; `with`: that call's other party */
  portalPull?: { workplaceId: string; with?: string };
  /** this (portal) call called through to this number (the last one when several) */
  callThroughTo?: string;
  /** a device dialled out through the trunk */
  outboundCall?: boolean;
  /**
   * set once a restarted controller took the call over: 'trace' — it carried on with this
   * trace; 'asterisk' — there was none, this one was rebuilt from Asterisk (see CallRecord.adopted)
   */
  adopted?: 'trace' | 'asterisk';
}

/**
 * A call's trace as its live-call registry entry carries it. The record of the call is built
 * from it exactly as from the trace it came from.
 */
export interface CallTraceSnapshot extends CallTraceFields {
  /** the form of the snapshot; another one is not restored (the record is rebuilt instead) */
  v: 1;
}

/** A number routes to exactly one place. */
export type NumberTarget = { kind: 'workplace'; id: string } | { kind: 'portal'; id: string };
