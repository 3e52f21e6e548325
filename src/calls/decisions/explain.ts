/**
 * Routing explain ("what happens if someone calls?"): renders the decision values the call
 * path carries out, step by step with the rule behind each step. It runs the planners of
 * decisions/ — planEntry (router), planWorkplaceCall (workplace calls), planOutbound (a device
 * calling out), planPortalAuth and planCallThrough (portal) — over the same kind of lookups,
 * and has no sequence of checks of its own: what it shows is what the flows do. Nothing is
 * dialled and nothing is counted.
 *
 * It answers as the explaining company sees the platform (companyView): another company's
 * number is a number that is not ours, alike a free one, so an explanation never shows another
 * company's configuration nor tells its numbers from free ones.
 *
 * What cannot be known before the call is shown as branches: the ring plan says what follows
 * when nobody answers (busy / no answer / unreachable) and when a forward target fails.
 */
import type { Availability } from '../../domain/availability.js';
import { blockingPrefix, type BlockingResolution } from '../../domain/blocking.js';
import type { AnywherePortal, BlockingProfile, Workplace } from '../../domain/model.js';
import {
  afterForwardFailure,
  afterRingFailure,
  type CallStep,
  type RingFailure,
} from '../../domain/ring-plan.js';
import type { CallKind } from '../../domain/routing.js';
import type { Store } from '../../store/store.js';
import { GUARD_REFUSED_PROMPT, planCallThrough, previewGuard, type GuardPreview } from './call-through.js';
import { planEntry, type EntryDecision } from './entry.js';
import { companyView, type CallLookups, type CallThroughUsageView } from './lookups.js';
import { planOutbound } from './outbound.js';
import { pinLockedAmong, planPortalAuth } from './portal.js';
import { dialTemplates, planWorkplaceCall, VOICEBOX_MAX_SECONDS, type RingDecision } from './ring.js';
import { PROMPTS, type PromptId } from '../engine/prompts.js';

export interface ExplainConfig {
  COUNTRY_CODE: string;
  DIAL_DEVICE: string;
  DIAL_EXTERNAL: string;
  VOICEBOX_ACCESS_NUMBER?: string | undefined;
}

export interface ExplainDeps {
  /** the configuration as the call path sees it (explain narrows it to the company) */
  lookups: CallLookups;
  pinFailures: Pick<Store['pinFailures'], 'get'>;
  /** the call-through counters as the controller's next admission sees them */
  usage: CallThroughUsageView;
  /** the live-call registry: whether the workplace is on a call (numbers that must not ring then) */
  liveCalls: Pick<Store['liveCalls'], 'get'>;
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
    /** what the caller hears when it does not go through (back to the menu) */
    prompt?: PromptId;
    /** the fraud guard's verdict now (external destinations only) */
    guard?: GuardPreview;
  };
  outbound?: { e164: string; blocked: boolean; profileId?: string; prefix?: string; prompt?: PromptId };
  steps: ExplainStep[];
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

/** What the caller hears, as the prompt catalogue words it. */
const heard = (prompt: PromptId): string => `"${PROMPTS[prompt].en}"`;

/** The ring plan tree of a call to a workplace, with its steps. */
export function explainRingPlan(decision: RingDecision, steps: ExplainStep[]): PlanTree {
  const { input, resolution, first } = decision;
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

async function workplacePlan(
  deps: ExplainDeps,
  lookups: CallLookups,
  workplace: Workplace,
  callerNumber: string,
  steps: ExplainStep[],
  atMs: number,
): Promise<PlanTree> {
  const decision = await planWorkplaceCall(
    workplace,
    callerNumber,
    lookups,
    dialTemplates(deps.config),
    atMs,
    (id) => deps.liveCalls.get(id),
  );
  return explainRingPlan(decision, steps);
}

/** The caller of an explained call: a workplace's extension means its desk device. */
async function callerWorkplaceOf(lookups: CallLookups, req: ExplainRequest): Promise<Workplace | undefined> {
  if (!/^[0-9]{2,8}$/.test(req.from)) return undefined;
  const own = await lookups.resolveExtension(req.companyId, req.from);
  return own?.kind === 'workplace' ? own.workplace : undefined;
}

/** The decision trace of one call. Throws ExplainInputError. */
export async function explainCall(deps: ExplainDeps, req: ExplainRequest): Promise<Explanation> {
  const lookups = companyView(deps.lookups, req.companyId);
  const fromWorkplace = await callerWorkplaceOf(lookups, req);
  const decision = await planEntry(
    {
      kind: fromWorkplace ? 'internal' : 'inbound',
      exten: req.via ?? req.to,
      presented: req.from,
      callerWorkplace: fromWorkplace,
    },
    lookups,
    { countryCode: deps.config.COUNTRY_CODE, voiceboxAccessNumber: deps.config.VOICEBOX_ACCESS_NUMBER },
  );
  return explainEntry({ ...deps, lookups }, req, decision, fromWorkplace);
}

/**
 * Renders an entry decision (and the decisions the flow it leads to takes, asked of the same
 * planners): the router carries out the very same value (carryOutEntry).
 */
export async function explainEntry(
  deps: ExplainDeps,
  req: ExplainRequest,
  decision: EntryDecision,
  fromWorkplace: Workplace | undefined,
): Promise<Explanation> {
  const { lookups } = deps;
  const { callerNumber, dialled, target, route } = decision;
  const kind: CallKind = fromWorkplace ? 'internal' : 'inbound';
  const steps: ExplainStep[] = [];
  steps.push({
    step: 'caller',
    rule: 'Device calls enter as internal calls and show their workplace number; trunk calls show the caller number normalised to E.164.',
    outcome: fromWorkplace
      ? `a desk device of workplace ${fromWorkplace.id} (${fromWorkplace.number})`
      : `from the trunk, caller ${callerNumber || '(anonymous)'}`,
    detail: { kind, callerNumber, ...(fromWorkplace ? { workplaceId: fromWorkplace.id } : {}) },
  });
  const dialledString = req.via ?? req.to;
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

  if (dialled.kind === 'voicebox-access' || dialled.kind === 'pull') {
    if (req.via !== undefined)
      throw new ExplainInputError('via', 'via must be the number or extension of an Anywhere portal');
  }
  if (route.kind === 'pull' || (route.kind === 'unallocated' && route.reason === 'pull-without-device')) {
    explanation.route = route.kind;
    steps.push({
      step: 'route',
      rule: RULES.pull,
      outcome: route.kind === 'pull' ? 'pull the running call' : 'released (cause 1)',
    });
    return explanation;
  }
  if (route.kind === 'voicebox-access') {
    // the owner is found by the caller number among all companies' parallel-ringing numbers;
    // another company's workplace is never named
    const owner = route.workplace?.companyId === req.companyId ? route.workplace : undefined;
    explanation.route = 'voicebox-access';
    if (owner) explanation.workplaceId = owner.id;
    steps.push({
      step: 'route',
      rule: RULES.voiceboxAccess,
      outcome: owner
        ? `voicebox retrieval of workplace ${owner.id} (PIN asked)`
        : `unknown caller: ${heard('access-denied')}, hang up`,
    });
    return explanation;
  }

  const found = target
    ? `${target.kind} ${target.kind === 'workplace' ? target.workplace.id : target.portal.id}`
    : undefined;
  steps.push({
    step: 'number',
    rule: RULES.number,
    outcome:
      dialled.kind === 'number'
        ? `${dialledString} is ${dialled.e164}: ${found ?? 'not ours'}`
        : dialled.kind === 'extension'
          ? `extension ${dialled.extension}: ${found ?? 'no such extension'}`
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
      const outbound = await planOutbound(route.from, route.e164, lookups);
      const { resolution, blockedBy, prompt } = outbound;
      explanation.workplaceId = route.from.id;
      explanation.outbound = {
        e164: route.e164,
        blocked: blockedBy !== undefined,
        ...(resolution.profile ? { profileId: resolution.profile.id } : {}),
        ...(blockedBy ? { prefix: blockedBy } : {}),
        ...(prompt ? { prompt } : {}),
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
        outcome: prompt
          ? `${route.e164} is blocked by prefix ${blockedBy}: ${heard(prompt)}, hang up`
          : `${route.e164} is dialled through the trunk showing ${outbound.callerId ?? 'no number'}`,
        detail: explanation.outbound,
      });
      return explanation;
    }
    case 'workplace':
      explanation.workplaceId = route.workplace.id;
      explanation.plan = await workplacePlan(
        deps,
        lookups,
        route.workplace,
        callerNumber,
        steps,
        req.at.getTime(),
      );
      return explanation;
    case 'portal':
      explanation.portalId = route.portal.id;
      await explainPortal(deps, req, route.portal, fromWorkplace, explanation);
      return explanation;
  }
}

async function explainPortal(
  deps: ExplainDeps,
  req: ExplainRequest,
  portal: AnywherePortal,
  fromWorkplace: Workplace | undefined,
  explanation: Explanation,
): Promise<void> {
  const { steps } = explanation;
  const decision = await planPortalAuth(
    portal,
    { deviceWorkplace: fromWorkplace, presented: req.from },
    deps.lookups,
    deps.config.COUNTRY_CODE,
  );
  const candidates =
    decision.result === 'admitted'
      ? [decision.workplace]
      : decision.result === 'pin'
        ? decision.candidates
        : [];
  // the PIN step is where a locked PIN refuses even the right PIN (checkPin)
  const locked = decision.auth === 'device' ? [] : await pinLockedAmong(candidates, deps.pinFailures);
  explanation.portal = {
    auth: decision.auth,
    result: decision.result,
    ...(decision.result === 'refused' ? { reason: decision.reason } : {}),
    workplaceIds: candidates.map((w) => w.id),
    pinLockedFor: locked,
    silentMode: portal.silentMode,
  };
  if (decision.auth === 'device') {
    steps.push({
      step: 'portal-auth',
      rule: RULES.portalDevice,
      outcome:
        decision.result === 'admitted'
          ? `admitted as workplace ${decision.workplace.id} (no PIN)`
          : `refused: the portal's ${portal.level} level / area does not include the workplace`,
    });
  } else {
    steps.push({
      step: 'portal-auth',
      rule: RULES.portalCaller,
      outcome:
        decision.result === 'refused'
          ? `refused (${decision.reason}): ${portal.silentMode ? 'hang up without a word (cause 21)' : `${heard('access-denied')}, hang up`}`
          : candidates.length === 1
            ? `caller number matches workplace ${candidates[0]!.id}`
            : `caller number is listed on ${candidates.length} workplaces; the PIN decides`,
      detail: { callerNumber: decision.callerE164, match: decision.match },
    });
    if (decision.result === 'pin') {
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
  }
  if (decision.result === 'refused') {
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
  // who the caller will be once admitted: the one workplace, or (several sharing the number)
  // the one whose PIN is entered — explained as the first that is not locked
  const admitted =
    decision.result === 'admitted'
      ? decision.workplace
      : decision.candidates.length === 1
        ? decision.candidates[0]
        : decision.candidates.find((w) => !locked.includes(w.id));
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
  const { lookups, config } = deps;
  const { steps } = explanation;
  const decision = await planCallThrough(portal, workplace, digits, lookups, config.COUNTRY_CODE);
  if (decision.kind === 'emergency') {
    steps.push({
      step: 'call-through-destination',
      rule: 'Emergency calls are never placed through the business line (it would show the office)',
      outcome: `${digits} is an emergency number: ${heard(decision.prompt)}, back to the menu`,
    });
    explanation.callThrough = {
      dialled: digits,
      result: 'invalid',
      reason: 'emergency number',
      prompt: decision.prompt,
    };
    return;
  }
  steps.push({
    step: 'call-through-destination',
    rule: RULES.callThroughDestination,
    outcome:
      decision.kind === 'invalid'
        ? `invalid (${decision.reason}): ${heard(decision.prompt)}, back to the menu`
        : decision.kind === 'internal'
          ? `${decision.e164} is workplace ${decision.workplace.id}: it rings like an internal call`
          : `${decision.e164} goes out through the trunk`,
  });
  if (decision.kind === 'invalid') {
    explanation.callThrough = {
      dialled: digits,
      result: 'invalid',
      reason: decision.reason,
      prompt: decision.prompt,
    };
    return;
  }
  const { e164, blocking } = decision;
  const verdict = (p: BlockingProfile | undefined) => ({
    profileId: p?.id,
    prefix: p ? blockingPrefix(e164, p.outgoing) : undefined,
  });
  steps.push({
    step: 'call-through-blocking',
    rule: RULES.callThroughBlocking,
    outcome:
      decision.kind === 'blocked'
        ? `blocked by ${blocking.check.profile?.name}: ${heard(decision.prompt)}, back to the menu`
        : 'not blocked by the portal’s nor the workplace’s profile',
    detail: {
      portal: verdict(blocking.portalProfile),
      workplace: { ...verdict(blocking.workplace.profile), level: blocking.workplace.level },
      stricterWins: { blocked: blocking.check.blocked, profileId: blocking.check.profile?.id },
    },
  });
  if (decision.kind === 'blocked') {
    explanation.callThrough = { dialled: digits, result: 'blocked', e164, prompt: decision.prompt };
    return;
  }
  const { callerId } = decision;
  if (decision.kind === 'internal') {
    explanation.callThrough = {
      dialled: digits,
      result: 'internal',
      e164,
      ...(callerId ? { callerId } : {}),
    };
    explanation.plan = await workplacePlan(
      deps,
      lookups,
      decision.workplace,
      callerId ?? '',
      steps,
      at.getTime(),
    );
    return;
  }
  // the fraud guard: the admission's own rules, over the usage view its next admission sees
  const { policy } = decision;
  const status = policy.enabled
    ? await deps.usage.usage(workplace.companyId, workplace.id, at.getTime())
    : undefined;
  const guard = previewGuard(policy, e164, status, config.COUNTRY_CODE);
  steps.push({
    step: 'fraud-guard',
    rule: RULES.fraudGuard,
    outcome: !guard.enabled
      ? 'the company switched the call-through guard off'
      : guard.refusal
        ? `refused (${guard.refusal}): ${heard(GUARD_REFUSED_PROMPT)}, back to the menu`
        : `admitted now (${guard.destinationClass}, country ${guard.country}); counted against the limits`,
    detail: { ...guard, limits: { perWorkplace: policy.perWorkplace, perCompany: policy.perCompany } },
  });
  explanation.callThrough = {
    dialled: digits,
    result: guard.refusal ? 'refused-by-guard' : 'external',
    e164,
    ...(callerId ? { callerId } : {}),
    ...(guard.refusal ? { reason: guard.refusal, prompt: GUARD_REFUSED_PROMPT } : {}),
    guard,
  };
  if (guard.refusal) return;
  steps.push({
    step: 'call-through-dial',
    rule: 'Call-through: the destination is dialled with the workplace number as caller ID; busy / no answer returns to the menu.',
    outcome: `dial ${e164} showing ${callerId ?? 'no number'}`,
  });
}
