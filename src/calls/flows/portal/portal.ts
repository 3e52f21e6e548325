/**
 * The Anywhere portal, as the seed tells it: an employee calls the portal from a number listed
 * under parallel ringing, proves it with the voicebox PIN (when the portal asks for it), and
 * then either pulls the running desk call to the mobile with `*11` ("Anruf heranholen") or
 * dials a number followed by `#` to call out with the office number. In silent mode
 * ("Leisemodus") there are no announcements at all and `*11` is the only thing to do.
 *
 * Decisions are the planners of decisions/portal.ts and decisions/call-through.ts (routing
 * explain renders the same values); this module does the talking.
 * Every decision is logged on the call's child logger (call id + portal id) — never the PIN.
 */
import type { Logger } from 'pino';
import type { AnywherePortal, Language, Workplace } from '../../../domain/model.js';
import { PIN_ATTEMPTS_PER_CALL, verifyPinAsync } from '../../../domain/pin.js';
import { checkPin, menuProgress, type MenuProgress } from '../../../domain/portal-auth.js';
import { CAUSE, externalDialString } from '../../../domain/ring-plan.js';
import { callThroughLeg, callThroughVariables, holdUntilCut } from './call-through.js';
import type { CallContext, PortalCaller, PortalFlow } from '../context.js';
import {
  GUARD_REFUSED_PROMPT,
  planCallThrough,
  type CallThroughDecision,
} from '../../decisions/call-through.js';
import { planPortalAuth } from '../../decisions/portal.js';
import { callVariables } from '../../connected/live-calls.js';
import { OUTBOUND_RING_SECONDS, presentedWorkplace } from '../outbound.js';
import { promptMedia, type PromptId } from '../../engine/prompts.js';
import { pullCall } from '../pull.js';
import { callWorkplace } from '../workplace.js';
import type { CallSession } from '../../engine/session.js';
import { pinEntry } from '../../engine/timing.js';

/** Prompts before we know who is calling (the portal itself has no language). */
const PORTAL_LANGUAGE: Language = 'de';
/** "No input for 10 s repeats the menu once, then hangs up": silent rounds before goodbye. */
const SILENT_MENU_ROUNDS = 2;
/** Bounds a caller who keeps keying invalid input (or blocked numbers) in one call. */
const MAX_MENU_ROUNDS = 10;

const PIN_PROMPT: PromptId[] = ['enter-pin'];
const RETRY_PROMPT: PromptId[] = ['pin-wrong', 'enter-pin'];

/** One portal call: who it is for and how to talk to the caller. */
interface PortalCall {
  session: CallSession;
  portal: AnywherePortal;
  ctx: CallContext;
  log: Logger;
}

/** Plays a prompt unless the portal is silent; returns the digit that stopped it (type-ahead). */
async function say(call: PortalCall, id: PromptId, lang: Language): Promise<string | undefined> {
  if (call.portal.silentMode) return undefined;
  await call.session.answer();
  return call.session.play([promptMedia(id)], { lang });
}

export const portalFlow: PortalFlow = async (session, portal, ctx, caller = {}) => {
  const call: PortalCall = { session, portal, ctx, log: session.log.child({ portalId: portal.id }) };
  ctx.events?.emit(session, { type: 'portal', portal });
  call.log.info(
    { silentMode: portal.silentMode, pinRequired: portal.pinRequired, level: portal.level },
    'portal call',
  );
  const workplace = await identify(call, caller);
  if (!workplace) {
    call.log.info('portal: access refused');
    ctx.events?.emit(session, { type: 'refused', portal, reason: 'caller not authorised' });
    await say(call, 'access-denied', PORTAL_LANGUAGE);
    await session.hangup(portal.silentMode ? CAUSE.rejected : CAUSE.normal);
    return;
  }
  ctx.events?.emit(session, { type: 'portal.entered', workplace });
  await session.answer();
  if (portal.silentMode) return silentMode(call, workplace);
  return menu(call, workplace);
};

/**
 * Who is calling: a desk device of the company (an internal call; SIP credentials are the
 * proof), else the caller number among the parallel-ringing numbers in the portal's scope,
 * then the PIN when the portal asks for it (it also picks the workplace when several list
 * the number). Undefined: refused — the caller is never told why.
 */
async function identify(call: PortalCall, caller: PortalCaller): Promise<Workplace | undefined> {
  const { session, portal, ctx, log } = call;
  const decision = await session.guard(
    planPortalAuth(
      portal,
      { deviceWorkplace: caller.deviceWorkplace, presented: session.callerNumber },
      ctx.cache,
      ctx.config.COUNTRY_CODE,
    ),
  );
  if (decision.auth === 'device') {
    const allowed = decision.result === 'admitted';
    log.info({ workplaceId: caller.deviceWorkplace?.id, allowed }, 'portal: call from a desk device');
  }
  switch (decision.result) {
    case 'refused':
      if (decision.auth === 'caller-number')
        log.info({ from: session.callerNumber, reason: decision.reason }, 'portal: caller not authorised');
      return undefined;
    case 'admitted':
      if (decision.auth === 'caller-number')
        log.info({ workplaceId: decision.workplace.id }, 'portal: caller number matches a workplace');
      return decision.workplace;
    case 'pin':
      if (decision.candidates.length === 1)
        log.info({ workplaceId: decision.candidates[0]!.id }, 'portal: caller number matches a workplace');
      else
        log.info(
          { workplaceIds: decision.candidates.map((w) => w.id) },
          'portal: caller number listed on several workplaces; the PIN decides',
        );
      return enterPin(call, decision.candidates);
  }
}

/**
 * The voicebox PIN, `#` ends the entry, PIN_ATTEMPTS_PER_CALL attempts. Wrong entries count
 * across calls (store.pinFailures); a locked PIN is never accepted; success resets the count.
 */
async function enterPin(call: PortalCall, candidates: Workplace[]): Promise<Workplace | undefined> {
  const { session, ctx, log } = call;
  const { timing } = ctx;
  const lang = candidates.length === 1 ? candidates[0]!.language : PORTAL_LANGUAGE;
  await session.answer();
  const failures = new Map<string, number>();
  for (let attempt = 1; attempt <= PIN_ATTEMPTS_PER_CALL; attempt++) {
    const pin = await session.collectDigits({
      ...pinEntry(timing),
      // "wrong" and "enter the PIN" as one prompt: a digit typed during either starts the entry
      ...(call.portal.silentMode
        ? {}
        : { prompt: { media: (attempt === 1 ? PIN_PROMPT : RETRY_PROMPT).map(promptMedia), lang } }),
    });
    let verified = new Set<string>();
    if (pin !== '') {
      // every guess takes its slot in the failure counter BEFORE it is checked (one atomic
      // INCR per candidate): however many calls guess in parallel, no more than PIN_LOCK_AFTER
      // guesses are ever verified, and a PIN locked meanwhile is not accepted here
      const withPin = candidates.filter((w) => w.voicebox.pinHash !== undefined);
      const after = await session.guard(
        Promise.all(withPin.map((w) => ctx.store.pinFailures.increment(w.id))),
      );
      withPin.forEach((w, i) => failures.set(w.id, (after[i] ?? 1) - 1));
      // scrypt in the thread pool, not on the event loop every other call needs
      const matches = await session.guard(
        Promise.all(withPin.map((w) => verifyPinAsync(pin, w.voicebox.pinHash!))),
      );
      verified = new Set(withPin.filter((_, i) => matches[i]).map((w) => w.voicebox.pinHash!));
    }
    const outcome = checkPin(
      pin,
      candidates.map((workplace) => ({ workplace, failures: failures.get(workplace.id) ?? 0 })),
      (_pin, hash) => verified.has(hash),
    );
    if (outcome.kind === 'accepted') {
      // the other candidates sharing the number keep this entry counted: it was wrong for them
      await session.guard(ctx.store.pinFailures.reset(outcome.workplace.id));
      log.info({ workplaceId: outcome.workplace.id, attempt }, 'portal: PIN accepted');
      return outcome.workplace;
    }
    for (const id of outcome.countFailureFor) failures.set(id, (failures.get(id) ?? 0) + 1);
    for (const id of outcome.countFailureFor)
      ctx.events?.emit(session, {
        type: 'pin.wrong',
        companyId: call.portal.companyId,
        workplaceId: id,
        failures: failures.get(id) ?? 0,
        where: 'portal',
      });
    log.info(
      {
        attempt,
        reason: outcome.reason,
        failures: Object.fromEntries(outcome.countFailureFor.map((id) => [id, failures.get(id)])),
      },
      'portal: PIN refused',
    );
  }
  return undefined;
}

/** Silent mode: no prompts; `*11` pulls, anything else (or nothing in time) ends the call. */
async function silentMode(call: PortalCall, workplace: Workplace): Promise<void> {
  const { session, log } = call;
  const entry = await readEntry(call, undefined);
  if (entry.kind !== 'pull') {
    log.info({ workplaceId: workplace.id, entry: entry.kind }, 'portal (silent): no *11; call ended');
    return session.hangup();
  }
  if (await pull(call, workplace)) return;
  return session.hangup();
}

type Entry = MenuProgress | { kind: 'silence' };

/**
 * What the caller keys in at the menu: `first` is the digit that stopped the prompt (it counts);
 * no first digit within the menu timeout is silence; later digits within the inter-digit timeout.
 */
async function readEntry(call: PortalCall, first: string | undefined): Promise<Entry> {
  const { session, ctx } = call;
  const start = first ?? (await session.nextDigit(ctx.timing.menuTimeoutMs));
  if (start === undefined) return { kind: 'silence' };
  let entry = start;
  for (;;) {
    const progress = menuProgress(entry, false);
    if (progress.kind !== 'more') return progress;
    const next = await session.nextDigit(ctx.timing.interDigitTimeoutMs);
    if (next === undefined) return menuProgress(entry, true);
    entry += next;
  }
}

/**
 * The menu: `*11` pulls; digits + `#` call out. Silence repeats the menu once, then goodbye.
 * A prompt stopped by a digit hands that digit on to the next entry (type-ahead).
 */
async function menu(call: PortalCall, workplace: Workplace): Promise<void> {
  const { session, log } = call;
  const lang = workplace.language;
  let silentRounds = 0;
  let typedAhead: string | undefined;
  for (let round = 0; round < MAX_MENU_ROUNDS; round++) {
    const first = typedAhead ?? (await say(call, 'portal-welcome', lang));
    typedAhead = undefined;
    const entry = await readEntry(call, first);
    if (entry.kind === 'silence') {
      silentRounds += 1;
      log.info({ silentRounds }, 'portal: no input');
      if (silentRounds >= SILENT_MENU_ROUNDS) break;
      continue;
    }
    silentRounds = 0;
    switch (entry.kind) {
      case 'pull':
        if (await pull(call, workplace)) return;
        typedAhead = await say(call, 'no-running-call', lang);
        break;
      case 'dial': {
        const outcome = await callThrough(call, workplace, entry.digits);
        if (outcome.kind === 'done') return;
        typedAhead = outcome.typedAhead;
        break;
      }
      case 'invalid':
      case 'more':
        log.info('portal: invalid menu input');
        typedAhead = await say(call, 'invalid-input', lang);
        break;
    }
  }
  await say(call, 'goodbye', lang);
  await session.hangup();
}

/**
 * `*11`: moves the workplace's running call to this caller (see pullCall: the remote party is
 * never dropped, the old leg is released, the call stays registered with this channel as the
 * workplace's leg). True when pulled; the flow then holds the call until it ends.
 */
async function pull(call: PortalCall, workplace: Workplace): Promise<boolean> {
  const { session, ctx, log } = call;
  const result = await pullCall(session, ctx, workplace.id);
  log.info({ workplaceId: workplace.id, result }, 'portal: *11');
  if (result !== 'pulled') return false;
  await session.untilEnded();
  return true;
}

type CallThroughOutcome = { kind: 'done' } | { kind: 'back-to-menu'; typedAhead: string | undefined };

/**
 * Calling out through the portal with the office number: a number of ours (or an internal
 * extension) rings that workplace as an internal call does; any other number goes to the
 * trunk. The portal's blocking profile and the workplace's both apply (the stricter wins);
 * a blocked destination is announced and never dialled.
 */
async function callThrough(
  call: PortalCall,
  workplace: Workplace,
  digits: string,
): Promise<CallThroughOutcome> {
  const { session, portal, ctx, log } = call;
  const lang = workplace.language;
  const decision = await session.guard(
    planCallThrough(portal, workplace, digits, ctx.cache, ctx.config.COUNTRY_CODE),
  );
  switch (decision.kind) {
    case 'emergency':
      // never through the business line: the emergency centre would see the office, not the caller
      log.warn({ dialled: digits }, 'portal: emergency number refused (dialled directly from the mobile)');
      return { kind: 'back-to-menu', typedAhead: await say(call, decision.prompt, lang) };
    case 'invalid':
      log.info({ dialled: digits, reason: decision.reason }, 'portal: call-through destination invalid');
      return { kind: 'back-to-menu', typedAhead: await say(call, decision.prompt, lang) };
    case 'blocked':
      log.info(
        { destination: decision.e164, profile: decision.blocking.check.profile?.id },
        'portal: call-through blocked',
      );
      return { kind: 'back-to-menu', typedAhead: await say(call, decision.prompt, lang) };
    case 'internal': {
      log.info(
        { destination: decision.e164, targetWorkplaceId: decision.workplace.id },
        'portal: call-through to a workplace',
      );
      ctx.events?.emit(session, { type: 'call-through', to: decision.e164 });
      const present = presentedWorkplace(workplace);
      await callWorkplace(session, ctx, decision.workplace, present.number ?? '', present);
      return { kind: 'done' };
    }
    case 'external':
      return callOutThrough(call, workplace, decision);
  }
}

/** A call-through to the trunk: the fraud guard's admission, then the call, cut at the day's minutes. */
async function callOutThrough(
  call: PortalCall,
  workplace: Workplace,
  decision: Extract<CallThroughDecision, { kind: 'external' }>,
): Promise<CallThroughOutcome> {
  const { session, ctx, log } = call;
  const lang = workplace.language;
  const { e164 } = decision;
  const present = presentedWorkplace(workplace);
  // the fraud guard: the destination's class, then the counters (one round trip)
  const guard = ctx.callThroughGuard;
  const admission = guard
    ? await session.guard(
        guard.admit({ callId: session.channelId, workplace, e164, policy: decision.policy, log }),
      )
    : ({ kind: 'unguarded' } as const);
  if (admission.kind === 'refused') {
    // its own prompt: the number is not blocked, the guard may let it through later
    return { kind: 'back-to-menu', typedAhead: await say(call, GUARD_REFUSED_PROMPT, lang) };
  }
  const ticket = admission.kind === 'admitted' ? admission.ticket : undefined;
  // the leg carries the ticket: a controller that takes the call over after a restart keeps
  // the cut and settles it (call-through.ts)
  const leg = callThroughLeg(workplace, e164, admission);
  let answeredAt: number | undefined;
  try {
    log.info({ destination: e164, workplaceId: workplace.id }, 'portal: call-through');
    ctx.events?.emit(session, { type: 'call-through', to: e164 });
    await session.ringback();
    const result = await session.dialLegs(
      [{ endpoint: externalDialString({ device: '', external: ctx.config.DIAL_EXTERNAL }, e164) }],
      {
        timeoutSeconds: OUTBOUND_RING_SECONDS,
        present,
        variables: { ...callVariables(session), ...callThroughVariables(leg) },
      },
    );
    if (result.kind !== 'answered') {
      log.info({ destination: e164, outcome: result.kind }, 'portal: call-through not answered');
      return { kind: 'back-to-menu', typedAhead: undefined };
    }
    answeredAt = Date.now();
    ctx.events?.emit(session, {
      type: 'answered',
      leg: { kind: 'external', endpoint: '', number: e164, confirm: false },
    });
    // the day's call-through minutes are a hard limit: the call is cut when they are used up
    const secondsLeft = admission.kind === 'admitted' ? admission.secondsLeft : undefined;
    const cut =
      secondsLeft === undefined
        ? undefined
        : { atMs: answeredAt + secondsLeft * 1000, log, fields: { workplaceId: workplace.id, secondsLeft } };
    await holdUntilCut(session, cut, () => ctx.live.connect(session, result.leg, {}));
    return { kind: 'done' };
  } finally {
    // frees the concurrency slot and counts the talk time (settled with the next admission)
    if (ticket) guard?.end(ticket, answeredAt === undefined ? 0 : (Date.now() - answeredAt) / 1000);
  }
}
