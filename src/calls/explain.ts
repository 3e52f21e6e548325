/**
 * Routing explain ("what happens if someone calls?"): the decision trace the controller would
 * follow for a call, step by step with the rule behind each step. Produced by the very
 * functions the controller calls — classifyDialled / resolveDialled / routeCall (router),
 * planInbound / afterRingFailure / afterForwardFailure (workplace calls), inPortalScope /
 * matchCaller / parseDestination / callThroughTarget / checkCallThrough (portal), isBlocked
 * (outgoing) — over the same config cache lookups. Nothing is dialled and nothing is counted.
 *
 * What cannot be known before the call is shown as branches: the ring plan says what follows
 * when nobody answers (busy / no answer / unreachable) and when a forward target fails.
 */
import type { Availability } from '../domain/availability.js';
import { emergencyNumber } from '../domain/emergency.js';
import { blockingPrefix, isBlocked, type BlockingResolution } from '../domain/blocking.js';
import {
  classifyDestination,
  effectiveCallThroughPolicy,
  limitReached,
  type CallThroughUsage,
  type DestinationClass,
  type RefusalReason,
} from '../domain/fraud.js';
import type { AnywherePortal, BlockingProfile, Workplace } from '../domain/model.js';
import { normaliseNumber } from '../domain/numbers.js';
import {
  callThroughCallerId,
  callThroughTarget,
  checkCallThrough,
  inPortalScope,
  isPinLocked,
  matchCaller,
  parseDestination,
} from '../domain/portal-auth.js';
import {
  afterForwardFailure,
  afterRingFailure,
  planInbound,
  type CallStep,
  type DialTemplates,
  type PlanInput,
  type RingFailure,
} from '../domain/ring-plan.js';
import { classifyDialled, routeCall, voiceboxAccessOwner, type CallKind } from '../domain/routing.js';
import type { Store } from '../store/store.js';
import type { ConfigCache } from './config-cache.js';
import { resolveDialled } from './router.js';
import { workplacePlanInput } from './plan-input.js';
import { VOICEBOX_MAX_SECONDS } from './voicebox.js';

export interface ExplainConfig {
  COUNTRY_CODE: string;
  DIAL_DEVICE: string;
  DIAL_EXTERNAL: string;
  VOICEBOX_ACCESS_NUMBER?: string | undefined;
}

export interface ExplainDeps {
  cache: Pick<
    ConfigCache,
    | 'resolveNumber'
    | 'resolveExtension'
    | 'blockingResolutionFor'
    | 'blockingProfile'
    | 'company'
    | 'schedule'
  >;
  store: Pick<Store, 'workplaces' | 'pinFailures' | 'callThroughs' | 'liveCalls'>;
  config: ExplainConfig;
}

export interface ExplainRequest {
  companyId: string;
  /** a caller number (any form; '' = anonymous) or the extension of a workplace (its desk device) */
  from: string;
  /** the dialled number or extension; with `via`: what the caller dials at the portal's menu */
  to: string;
  /** the Anywhere portal's number or extension: explain a call-through to `to` */
  via?: string | undefined;
  at: Date;
}

export interface ExplainStep {
  step: string;
  /** the rule that decided (SPEC / seed wording) */
  rule: string;
  /** what it decided, in words */
  outcome: string;
  detail?: Record<string, unknown>;
}

export interface PlanTree {
  workplaceId: string;
  callerNumber: string;
  first: CallStep;
  /** after ringing (or a forward-always target blocked …): what each combined outcome leads to */
  ifNobodyAnswers?: Record<RingFailure, CallStep>;
  /** a forward target that does not take the call */
  ifForwardFails?: Record<RingFailure, CallStep>;
}

export type ExplainedRoute =
  'workplace' | 'own-voicebox' | 'portal' | 'outbound' | 'unallocated' | 'voicebox-access' | 'pull';

export interface Explanation {
  call: {
    kind: CallKind;
    from: string;
    /** what the controller sees as the caller number (E.164, the device's workplace number, or as given) */
    callerNumber: string;
    fromWorkplaceId?: string;
    to: string;
    via?: string;
    at: string;
  };
  route: ExplainedRoute;
  workplaceId?: string;
  portalId?: string;
  plan?: PlanTree;
  portal?: {
    auth: 'device' | 'caller-number';
    /** admitted at once, after the PIN, or refused */
    result: 'admitted' | 'pin' | 'refused';
    reason?: string;
    workplaceIds: string[];
    pinLockedFor: string[];
    silentMode: boolean;
  };
  callThrough?: {
    dialled: string;
    result:
      | 'invalid'
      | 'blocked'
      | 'refused-by-guard'
      | 'internal'
      | 'external'
      | 'not-in-silent-mode'
      | 'not-admitted';
    e164?: string;
    reason?: string;
    callerId?: string;
    /** the fraud guard's verdict now (external destinations only) */
    guard?: {
      enabled: boolean;
      destinationClass?: DestinationClass;
      country?: string;
      locked?: boolean;
      /** why it would refuse now (lock, class, or the limit the counters have reached) */
      refusal?: RefusalReason;
      usage?: CallThroughUsage;
    };
  };
  outbound?: { e164: string; blocked: boolean; profileId?: string; prefix?: string };
  steps: ExplainStep[];
}

/** The explained call concerns another company (its number or portal): answer 404. */
export class ForeignTargetError extends Error {
  constructor(readonly field: 'to' | 'via') {
    super(`${field} is not a number of this company`);
    this.name = 'ForeignTargetError';
  }
}

/** The request cannot be explained as asked (e.g. `via` is not a portal): answer 400. */
export class ExplainInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExplainInputError';
  }
}

const RULES = {
  availability:
    "Opening hours (the workplace's schedule, in its time zone: weekly hours, public holidays of the federal state, closed days) and do-not-disturb decide before the ring plan.",
  selective:
    'Selective forwarding: the first enabled rule naming the caller (a number, a prefix, or anonymous callers) sends the call to its target.',
  closed: 'Outside the opening hours the call goes to the closed-hours target: the voicebox or a number.',
  doNotDisturb:
    'Do-not-disturb: callers go to the voicebox, or hear busy when it is off (forward always still forwards).',
  number:
    'The called number is normalised to E.164 (COUNTRY_CODE) and looked up in the number index; from a device, 2–8 digits are an internal extension of the company.',
  voiceboxAccess:
    'The voicebox access number reaches voicebox retrieval (by device, own number or a single parallel-ringing number).',
  pull: '*11 from a desk device pulls the running call of its workplace back to it.',
  ownVoicebox: 'The own number dialled from an own device reaches the voicebox retrieval (PIN).',
  unallocated: 'A number that is not ours: released with cause 1 (unallocated); only devices call out.',
  blockingLevel:
    'Blocking profile: the workplace’s own → its group’s → the company default (a deleted profile falls through).',
  incoming: 'SPEC call behaviour 1: an incoming-blocked caller is rejected (cause 21).',
  always:
    'SPEC call behaviour 2: forward always dials the target showing the original caller; forwarded-blocking applies.',
  ring: 'SPEC call behaviour 3: every device and every parallel-ringing number rings at once; the first answer wins.',
  pending:
    'A workplace that is not active has nothing registered in Asterisk: nothing can ring (unreachable).',
  branch:
    'SPEC call behaviour 4: no answer → forward on no answer, else voicebox, else release; all busy → forward on busy / voicebox / busy; nothing reachable → forward when unreachable / voicebox.',
  forwardFailed: 'A forwarded call whose target fails ends like a plain call to that target.',
  forwardBlocked: 'A forwarding target blocked by the profile’s forwarded list is never dialled.',
  voicebox: 'SPEC call behaviour 5: greeting, beep, record until # or silence or the maximum length.',
  portalDevice:
    'A desk device of the company is its own proof; the portal’s level / area must include its workplace.',
  portalCaller:
    'SPEC portal 1: the caller number (E.164) must be a parallel-ringing number of a workplace in the portal’s scope; unknown, withheld, or ambiguous without PIN → refused.',
  portalPin:
    'SPEC portal 2: the voicebox PIN, # ends the entry, 3 attempts per call; 5 wrong in a row lock it until reset.',
  portalMenu: 'SPEC portal 3/4: silent mode → *11 only; else the menu: *11 pulls, digits + # call through.',
  callThroughDestination:
    'Call-through: national / international numbers go out, short digit strings are extensions of the company; a portal is not a destination.',
  callThroughBlocking:
    'Call-through blocking: the portal’s profile and the workplace’s effective profile both apply to outgoing — the stricter wins.',
  fraudGuard:
    'Call-through fraud guard: premium-rate refused, abroad only to allowed countries, per-workplace and per-company limits (per hour, at once, minutes per day), a locked workplace refused until an admin lifts the lock.',
  outgoing:
    'A device calling out: the workplace’s effective profile blocks outgoing prefixes (the caller hears “number blocked”).',
} as const;

function describeStep(step: CallStep): string {
  switch (step.action) {
    case 'reject':
      return `reject with cause ${step.cause} (${step.reason})`;
    case 'ring':
      return `ring ${step.legs.length} leg(s) at once for ${step.ringSeconds} s`;
    case 'forward':
      return `forward (${step.reason}) to ${step.leg.number} for ${step.ringSeconds} s`;
    case 'voicebox':
      return `voicebox (${step.reason})`;
    case 'release':
      return `release with cause ${step.cause} (${step.reason})`;
  }
}

function describeAvailability(a: Availability): string {
  switch (a.kind) {
    case 'do-not-disturb':
      return 'do-not-disturb is on';
    case 'closed': {
      const st = a.schedule.state;
      const why =
        st.reason === 'holiday'
          ? `public holiday "${st.name}" (${st.date})`
          : st.reason === 'closed-day'
            ? `closed day "${st.name}" (${st.date})`
            : `outside the opening hours (${st.day} ${st.localTime})`;
      return `"${a.schedule.name}" is closed: ${why}`;
    }
    case 'available': {
      const st = a.schedule?.state;
      return a.schedule && st?.open
        ? `"${a.schedule.name}" is open (${st.day} ${st.interval.from}–${st.interval.to})`
        : 'reachable';
    }
  }
}

function profileView(resolution: Pick<BlockingResolution, 'profile' | 'level' | 'dangling'>) {
  return {
    profileId: resolution.profile?.id,
    profileName: resolution.profile?.name,
    level: resolution.level,
    ...(resolution.dangling.length > 0 ? { skippedDeleted: resolution.dangling } : {}),
  };
}

/** The ring plan tree of a call to a workplace, with its steps. */
export function explainRingPlan(
  input: PlanInput,
  resolution: Pick<BlockingResolution, 'profile' | 'level' | 'dangling'>,
  steps: ExplainStep[],
): PlanTree {
  const { workplace, callerNumber, blocking } = input;
  steps.push({
    step: 'blocking-profile',
    rule: RULES.blockingLevel,
    outcome: blocking
      ? `profile "${blocking.name}" from the ${resolution.level} level`
      : 'no blocking profile at any level',
    detail: profileView(resolution),
  });
  const incomingPrefix = blocking ? blockingPrefix(callerNumber, blocking.incoming) : undefined;
  steps.push({
    step: 'incoming-blocking',
    rule: RULES.incoming,
    outcome: incomingPrefix
      ? `caller ${callerNumber} is blocked by prefix ${incomingPrefix}`
      : `caller ${callerNumber || '(anonymous)'} is not blocked`,
    detail: { blocked: incomingPrefix !== undefined, prefix: incomingPrefix, callerNumber },
  });
  const availability = input.availability;
  if (availability && (availability.kind !== 'available' || availability.schedule)) {
    steps.push({
      step: 'availability',
      rule: RULES.availability,
      outcome: describeAvailability(availability),
      detail: { ...availability },
    });
  }
  const first = planInbound(input);
  const tree: PlanTree = { workplaceId: workplace.id, callerNumber, first };
  const reason = 'reason' in first ? first.reason : undefined;
  steps.push({
    step: 'ring-plan',
    rule:
      first.action === 'reject'
        ? RULES.incoming
        : reason === 'selective'
          ? RULES.selective
          : reason === 'closed'
            ? RULES.closed
            : reason === 'do-not-disturb'
              ? RULES.doNotDisturb
              : workplace.forwarding.always.enabled
                ? RULES.always
                : first.action === 'ring'
                  ? RULES.ring
                  : workplace.status !== 'active'
                    ? RULES.pending
                    : RULES.branch,
    outcome: describeStep(first),
    detail: {
      action: first.action,
      ...(first.action === 'ring'
        ? {
            legs: first.legs,
            ringSeconds: first.ringSeconds,
            answerConfirmation: workplace.parallelRinging.answerConfirmation,
          }
        : first.action === 'forward'
          ? { target: first.leg.number, endpoint: first.leg.endpoint, ringSeconds: first.ringSeconds }
          : { reason: first.reason }),
      ...(first.action !== 'reject' && workplace.status !== 'active'
        ? { workplaceStatus: workplace.status }
        : {}),
    },
  });
  if (
    first.action === 'forward' ||
    (first.action === 'voicebox' && first.reason === 'forward-target-blocked')
  ) {
    const target = workplace.forwarding.always.target;
    if (first.action !== 'forward' && target && target !== 'voicebox') {
      steps.push({
        step: 'forward-blocked',
        rule: RULES.forwardBlocked,
        outcome: `forward target ${target.number} is blocked by prefix ${blockingPrefix(target.number, blocking?.forwarded ?? [])}`,
      });
    }
  }
  const forwards: CallStep[] = first.action === 'forward' ? [first] : [];
  if (first.action === 'ring') {
    const failures: RingFailure[] = ['busy', 'noanswer', 'unreachable'];
    const branches = Object.fromEntries(failures.map((f) => [f, afterRingFailure(f, input)])) as Record<
      RingFailure,
      CallStep
    >;
    tree.ifNobodyAnswers = branches;
    const rules = workplace.forwarding;
    for (const f of failures) {
      const rule = f === 'busy' ? rules.busy : f === 'noanswer' ? rules.noAnswer : rules.unreachable;
      const next = branches[f];
      if (next.action === 'forward') forwards.push(next);
      steps.push({
        step: `if-${f}`,
        rule:
          next.action === 'forward' ||
          !(next.action === 'voicebox' && next.reason === 'forward-target-blocked')
            ? RULES.branch
            : RULES.forwardBlocked,
        outcome: describeStep(next),
        detail: {
          forwardingRule: {
            enabled: rule.enabled,
            target:
              rule.target === undefined
                ? undefined
                : rule.target === 'voicebox'
                  ? 'voicebox'
                  : rule.target.number,
          },
          action: next.action,
          ...(next.action === 'forward' ? { target: next.leg.number, endpoint: next.leg.endpoint } : {}),
        },
      });
    }
  }
  if (forwards.length > 0) {
    const failures: RingFailure[] = ['busy', 'noanswer', 'unreachable'];
    tree.ifForwardFails = Object.fromEntries(failures.map((f) => [f, afterForwardFailure(f)])) as Record<
      RingFailure,
      CallStep
    >;
    steps.push({
      step: 'if-forward-fails',
      rule: RULES.forwardFailed,
      outcome: failures.map((f) => `${f} → ${describeStep(tree.ifForwardFails![f])}`).join('; '),
    });
  }
  const all = [first, ...Object.values(tree.ifNobodyAnswers ?? {})];
  if (all.some((s) => s.action === 'voicebox')) {
    steps.push({
      step: 'voicebox',
      rule: RULES.voicebox,
      outcome: `${workplace.voicebox.greetingRecording ? 'custom' : 'default'} greeting, then a message of up to ${VOICEBOX_MAX_SECONDS} s`,
      detail: { greeting: workplace.voicebox.greetingRecording ? 'custom' : 'default' },
    });
  }
  return tree;
}

function templatesOf(config: ExplainConfig): DialTemplates {
  return { device: config.DIAL_DEVICE, external: config.DIAL_EXTERNAL };
}

async function workplacePlan(
  deps: ExplainDeps,
  workplace: Workplace,
  callerNumber: string,
  steps: ExplainStep[],
  atMs: number,
): Promise<PlanTree> {
  const { input, resolution } = await workplacePlanInput(
    deps.cache,
    templatesOf(deps.config),
    workplace,
    callerNumber,
    atMs,
    (id) => deps.store.liveCalls.get(id),
  );
  return explainRingPlan(input, resolution, steps);
}

/** The decision trace of one call. Throws ForeignTargetError / ExplainInputError. */
export async function explainCall(deps: ExplainDeps, req: ExplainRequest): Promise<Explanation> {
  const { cache, config } = deps;
  const countryCode = config.COUNTRY_CODE;
  const steps: ExplainStep[] = [];

  // the caller: a workplace's extension means its desk device (an internal call), else the trunk
  let fromWorkplace: Workplace | undefined;
  if (/^[0-9]{2,8}$/.test(req.from)) {
    const own = await cache.resolveExtension(req.companyId, req.from);
    if (own?.kind === 'workplace') fromWorkplace = own.workplace;
  }
  const kind: CallKind = fromWorkplace ? 'internal' : 'inbound';
  const callerNumber = fromWorkplace
    ? fromWorkplace.number
    : (normaliseNumber(req.from, { countryCode }) ?? req.from);
  steps.push({
    step: 'caller',
    rule: 'Device calls enter as internal calls and show their workplace number; trunk calls show the caller number normalised to E.164.',
    outcome: fromWorkplace
      ? `a desk device of workplace ${fromWorkplace.id} (${fromWorkplace.number})`
      : `from the trunk, caller ${callerNumber || '(anonymous)'}`,
    detail: { kind, callerNumber, ...(fromWorkplace ? { workplaceId: fromWorkplace.id } : {}) },
  });

  const dialledString = req.via ?? req.to;
  const dialledField = req.via !== undefined ? 'via' : 'to';
  const explanation: Explanation = {
    call: {
      kind,
      from: req.from,
      callerNumber,
      ...(fromWorkplace ? { fromWorkplaceId: fromWorkplace.id } : {}),
      to: req.to,
      ...(req.via !== undefined ? { via: req.via } : {}),
      at: req.at.toISOString(),
    },
    route: 'unallocated',
    steps,
  };

  const dialled = classifyDialled({
    kind,
    exten: dialledString,
    fromDevice: fromWorkplace !== undefined,
    countryCode,
    voiceboxAccessNumber: config.VOICEBOX_ACCESS_NUMBER,
  });
  if (dialled.kind === 'voicebox-access' || dialled.kind === 'pull') {
    if (req.via !== undefined)
      throw new ExplainInputError('via', 'via must be the number or extension of an Anywhere portal');
    if (dialled.kind === 'pull') {
      explanation.route = fromWorkplace ? 'pull' : 'unallocated';
      steps.push({
        step: 'route',
        rule: RULES.pull,
        outcome: fromWorkplace ? 'pull the running call' : 'released (cause 1)',
      });
      return explanation;
    }
    let owner = fromWorkplace;
    if (!owner && callerNumber.startsWith('+')) {
      const own = await cache.resolveNumber(callerNumber);
      const byParallel =
        own?.kind === 'workplace' ? [] : await deps.store.workplaces.byParallelNumber(callerNumber);
      owner = voiceboxAccessOwner(undefined, own, byParallel);
    }
    if (owner && owner.companyId !== req.companyId) owner = undefined;
    explanation.route = 'voicebox-access';
    if (owner) explanation.workplaceId = owner.id;
    steps.push({
      step: 'route',
      rule: RULES.voiceboxAccess,
      outcome: owner
        ? `voicebox retrieval of workplace ${owner.id} (PIN asked)`
        : 'unknown caller: "access denied", hang up',
    });
    return explanation;
  }

  const target = await resolveDialled(cache, dialled, fromWorkplace);
  const targetCompany = target?.kind === 'workplace' ? target.workplace.companyId : target?.portal.companyId;
  if (target && targetCompany !== req.companyId) throw new ForeignTargetError(dialledField);
  const route = routeCall(dialled, target, fromWorkplace);
  steps.push({
    step: 'number',
    rule: RULES.number,
    outcome:
      dialled.kind === 'number'
        ? `${dialledString} is ${dialled.e164}: ${target ? `${target.kind} ${target.kind === 'workplace' ? target.workplace.id : target.portal.id}` : 'not ours'}`
        : dialled.kind === 'extension'
          ? `extension ${dialled.extension}: ${target ? `${target.kind} ${target.kind === 'workplace' ? target.workplace.id : target.portal.id}` : 'no such extension'}`
          : `${dialledString} is neither a phone number nor (from this caller) an extension`,
    detail: { dialled, route: route.kind },
  });
  if (req.via !== undefined && route.kind !== 'portal') {
    throw new ExplainInputError(
      'via',
      'via must be the number or extension of an Anywhere portal of the company',
    );
  }
  explanation.route = route.kind;

  switch (route.kind) {
    case 'unallocated':
      steps.push({ step: 'route', rule: RULES.unallocated, outcome: 'released with cause 1 (unallocated)' });
      return explanation;
    case 'own-voicebox':
      explanation.workplaceId = route.workplace.id;
      steps.push({ step: 'route', rule: RULES.ownVoicebox, outcome: 'voicebox retrieval (PIN asked)' });
      return explanation;
    case 'outbound': {
      const resolution = await cache.blockingResolutionFor(route.from);
      const blocked = isBlocked(resolution.profile, 'outgoing', route.e164);
      const prefix = resolution.profile ? blockingPrefix(route.e164, resolution.profile.outgoing) : undefined;
      explanation.workplaceId = route.from.id;
      explanation.outbound = {
        e164: route.e164,
        blocked,
        ...(resolution.profile ? { profileId: resolution.profile.id } : {}),
        ...(prefix ? { prefix } : {}),
      };
      steps.push({
        step: 'blocking-profile',
        rule: RULES.blockingLevel,
        outcome: resolution.profile
          ? `profile "${resolution.profile.name}" from the ${resolution.level} level`
          : 'no blocking profile at any level',
        detail: profileView(resolution),
      });
      steps.push({
        step: 'outgoing-blocking',
        rule: RULES.outgoing,
        outcome: blocked
          ? `${route.e164} is blocked by prefix ${prefix}: "number blocked", hang up`
          : `${route.e164} is dialled through the trunk showing ${route.from.callerIdPresentation === 'anonymous' ? 'no number' : route.from.number}`,
        detail: explanation.outbound,
      });
      return explanation;
    }
    case 'workplace':
      explanation.workplaceId = route.workplace.id;
      explanation.plan = await workplacePlan(deps, route.workplace, callerNumber, steps, req.at.getTime());
      return explanation;
    case 'portal':
      explanation.portalId = route.portal.id;
      await explainPortal(deps, req, route.portal, fromWorkplace, callerNumber, explanation);
      return explanation;
  }
}

async function explainPortal(
  deps: ExplainDeps,
  req: ExplainRequest,
  portal: AnywherePortal,
  fromWorkplace: Workplace | undefined,
  callerNumber: string,
  explanation: Explanation,
): Promise<void> {
  const { steps } = explanation;
  const { config } = deps;
  let admitted: Workplace | undefined;
  let candidates: Workplace[];
  if (fromWorkplace) {
    const allowed = inPortalScope(portal, fromWorkplace);
    candidates = allowed ? [fromWorkplace] : [];
    admitted = allowed ? fromWorkplace : undefined;
    explanation.portal = {
      auth: 'device',
      result: allowed ? 'admitted' : 'refused',
      ...(allowed ? {} : { reason: 'out-of-scope' }),
      workplaceIds: candidates.map((w) => w.id),
      pinLockedFor: [],
      silentMode: portal.silentMode,
    };
    steps.push({
      step: 'portal-auth',
      rule: RULES.portalDevice,
      outcome: allowed
        ? `admitted as workplace ${fromWorkplace.id} (no PIN)`
        : `refused: the portal's ${portal.level} level / area does not include the workplace`,
    });
  } else {
    const callerE164 = normaliseNumber(callerNumber, { countryCode: config.COUNTRY_CODE });
    const listed = callerE164 ? await deps.store.workplaces.byParallelNumber(callerE164) : [];
    const match = matchCaller(portal, callerE164, listed);
    candidates =
      match.kind === 'single' ? [match.workplace] : match.kind === 'ambiguous' ? match.workplaces : [];
    const failures = await Promise.all(candidates.map((w) => deps.store.pinFailures.get(w.id)));
    const locked = candidates.filter((_, i) => isPinLocked(failures[i] ?? 0)).map((w) => w.id);
    const pinAsked = match.kind === 'ambiguous' || (match.kind === 'single' && portal.pinRequired);
    explanation.portal = {
      auth: 'caller-number',
      result: match.kind === 'refused' ? 'refused' : pinAsked ? 'pin' : 'admitted',
      ...(match.kind === 'refused' ? { reason: match.reason } : {}),
      workplaceIds: candidates.map((w) => w.id),
      pinLockedFor: locked,
      silentMode: portal.silentMode,
    };
    steps.push({
      step: 'portal-auth',
      rule: RULES.portalCaller,
      outcome:
        match.kind === 'refused'
          ? `refused (${match.reason}): ${portal.silentMode ? 'hang up without a word (cause 21)' : '"access denied", hang up'}`
          : match.kind === 'single'
            ? `caller number matches workplace ${match.workplace.id}`
            : `caller number is listed on ${match.workplaces.length} workplaces; the PIN decides`,
      detail: { callerNumber: callerE164, match: match.kind },
    });
    if (pinAsked) {
      steps.push({
        step: 'portal-pin',
        rule: RULES.portalPin,
        outcome:
          locked.length === candidates.length
            ? 'PIN asked, but it is locked: even the right PIN is refused until an admin unlocks it'
            : `PIN asked${portal.silentMode ? ' (without a prompt)' : ''}${locked.length > 0 ? `; locked for ${locked.join(', ')}` : ''}`,
        detail: { locked },
      });
    }
    if (match.kind === 'single') admitted = match.workplace;
    else if (match.kind === 'ambiguous') admitted = match.workplaces.find((w) => !locked.includes(w.id));
  }
  if (explanation.portal.result === 'refused') {
    if (req.via !== undefined) explanation.callThrough = { dialled: req.to, result: 'not-admitted' };
    return;
  }
  steps.push({
    step: 'portal-menu',
    rule: RULES.portalMenu,
    outcome: portal.silentMode
      ? 'silent mode: no prompts, *11 pulls, anything else ends the call'
      : 'menu: *11 pulls the running call, or dial a number + #',
  });
  if (req.via === undefined || !admitted) return;
  if (portal.silentMode) {
    explanation.callThrough = { dialled: req.to, result: 'not-in-silent-mode' };
    steps.push({
      step: 'call-through',
      rule: RULES.portalMenu,
      outcome: 'silent mode has no call-through: the call ends',
    });
    return;
  }
  await explainCallThrough(deps, portal, admitted, req.to, req.at, explanation);
}

async function explainCallThrough(
  deps: ExplainDeps,
  portal: AnywherePortal,
  workplace: Workplace,
  digits: string,
  at: Date,
  explanation: Explanation,
): Promise<void> {
  const { cache, config } = deps;
  const { steps } = explanation;
  if (emergencyNumber(digits)) {
    steps.push({
      step: 'call-through-destination',
      rule: 'Emergency calls are never placed through the business line (it would show the office)',
      outcome: `${digits} is an emergency number: "please dial emergency calls directly from your mobile", back to the menu`,
    });
    explanation.callThrough = { dialled: digits, result: 'invalid', reason: 'emergency number' };
    return;
  }
  const destination = parseDestination(digits, config.COUNTRY_CODE);
  const ours =
    destination.kind === 'invalid'
      ? undefined
      : await (destination.kind === 'extension'
          ? cache.resolveExtension(workplace.companyId, destination.extension)
          : cache.resolveNumber(destination.e164));
  const target = callThroughTarget(destination, ours);
  steps.push({
    step: 'call-through-destination',
    rule: RULES.callThroughDestination,
    outcome:
      target.kind === 'invalid'
        ? `invalid (${target.reason}): "invalid input", back to the menu`
        : target.kind === 'internal'
          ? `${target.e164} is workplace ${target.workplace.id}: it rings like an internal call`
          : `${target.e164} goes out through the trunk`,
  });
  if (target.kind === 'invalid') {
    explanation.callThrough = { dialled: digits, result: 'invalid', reason: target.reason };
    return;
  }
  const [portalProfile, workplaceResolution] = await Promise.all([
    cache.blockingProfile(portal.companyId, portal.blockingProfileId),
    cache.blockingResolutionFor(workplace),
  ]);
  const check = checkCallThrough(target.e164, portalProfile, workplaceResolution.profile);
  const verdict = (p: BlockingProfile | undefined) => ({
    profileId: p?.id,
    prefix: p ? blockingPrefix(target.e164, p.outgoing) : undefined,
  });
  steps.push({
    step: 'call-through-blocking',
    rule: RULES.callThroughBlocking,
    outcome: check.blocked
      ? `blocked by ${check.profile?.name}: "number blocked", back to the menu`
      : 'not blocked by the portal’s nor the workplace’s profile',
    detail: {
      portal: verdict(portalProfile),
      workplace: { ...verdict(workplaceResolution.profile), level: workplaceResolution.level },
      stricterWins: { blocked: check.blocked, profileId: check.profile?.id },
    },
  });
  if (check.blocked) {
    explanation.callThrough = { dialled: digits, result: 'blocked', e164: target.e164 };
    return;
  }
  const callerId = callThroughCallerId(workplace);
  if (target.kind === 'internal') {
    explanation.callThrough = {
      dialled: digits,
      result: 'internal',
      e164: target.e164,
      ...(callerId ? { callerId } : {}),
    };
    explanation.plan = await workplacePlan(deps, target.workplace, callerId ?? '', steps, at.getTime());
    return;
  }
  // the fraud guard: the same pure rules, over the counters as they are at `at` (read only)
  const company = await cache.company(workplace.companyId);
  const policy = effectiveCallThroughPolicy(company?.callThroughPolicy);
  let guard: NonNullable<Explanation['callThrough']>['guard'] = { enabled: false };
  if (policy.enabled) {
    const destination = classifyDestination(target.e164, policy, config.COUNTRY_CODE);
    const status = await deps.store.callThroughs.usage(workplace.companyId, workplace.id, at.getTime());
    const refusal: RefusalReason | undefined = status.lock
      ? 'locked'
      : (destination.refusal ?? limitReached(policy, status.usage));
    guard = {
      enabled: true,
      destinationClass: destination.destinationClass,
      country: destination.country,
      locked: status.lock !== undefined,
      ...(refusal ? { refusal } : {}),
      usage: status.usage,
    };
  }
  steps.push({
    step: 'fraud-guard',
    rule: RULES.fraudGuard,
    outcome: !guard.enabled
      ? 'the company switched the call-through guard off'
      : guard.refusal
        ? `refused (${guard.refusal}): "number blocked", back to the menu`
        : `admitted now (${guard.destinationClass}, country ${guard.country}); counted against the limits`,
    detail: { ...guard, limits: { perWorkplace: policy.perWorkplace, perCompany: policy.perCompany } },
  });
  explanation.callThrough = {
    dialled: digits,
    result: guard.refusal ? 'refused-by-guard' : 'external',
    e164: target.e164,
    ...(callerId ? { callerId } : {}),
    ...(guard.refusal ? { reason: guard.refusal } : {}),
    guard,
  };
  if (guard.refusal) return;
  steps.push({
    step: 'call-through-dial',
    rule: 'Call-through: the destination is dialled with the workplace number as caller ID; busy / no answer returns to the menu.',
    outcome: `dial ${target.e164} showing ${callerId ?? 'no number'}`,
  });
}
