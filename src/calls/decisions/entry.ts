/**
 * The entry decision: where a new call goes (SPEC call routing). The router carries it out,
 * routing explain renders it; neither decides anything of its own.
 *
 *   voicebox access number → retrieval (by device, own number or a single parallel-ringing
 *   number);  internal `*11` → pull the own call to this device;  workplace → own number from
 *   own device: retrieval, else the workplace call;  portal → the portal flow;  a device
 *   dialling a number that is not its company's → out via the trunk (outgoing blocking
 *   applies);  unknown → released with cause 1 (unallocated).
 */
import type { Workplace } from '../../domain/model.js';
import { normaliseNumber } from '../../domain/numbers.js';
import {
  classifyDialled,
  routeCall,
  voiceboxAccessOwner,
  type CallKind,
  type Dialled,
  type Route,
  type RoutingTarget,
} from '../../domain/routing.js';
import { ownTarget, type CallLookups } from './lookups.js';

export interface EntryCall {
  kind: CallKind;
  /** what the caller dialled */
  exten: string;
  /** the caller number as presented ('' = anonymous) */
  presented: string;
  /** the workplace of the calling desk device (internal calls from a known device) */
  callerWorkplace: Workplace | undefined;
}

export interface EntrySettings {
  countryCode: string;
  voiceboxAccessNumber?: string | undefined;
}

export type EntryRoute =
  | Route
  /** the voicebox access number; workplace undefined: an unknown caller ("access denied") */
  | { kind: 'voicebox-access'; workplace: Workplace | undefined }
  | { kind: 'pull'; workplace: Workplace }
  | { kind: 'unallocated'; reason: 'pull-without-device' };

export interface EntryDecision {
  /** the caller as the call shows it: a device's workplace number, else the number normalised */
  callerNumber: string;
  dialled: Dialled;
  /** what the dialled number / extension resolved to (as the caller's company may see it) */
  target?: RoutingTarget;
  route: EntryRoute;
}

/** The caller as a call shows it: a device's workplace number, else the number normalised. */
export function callerNumberOf(
  presented: string,
  callerWorkplace: Pick<Workplace, 'number'> | undefined,
  countryCode: string,
): string {
  return callerWorkplace
    ? callerWorkplace.number
    : (normaliseNumber(presented, { countryCode }) ?? presented);
}

export async function planEntry(
  call: EntryCall,
  lookups: Pick<CallLookups, 'resolveNumber' | 'resolveExtension' | 'byParallelNumber'>,
  settings: EntrySettings,
): Promise<EntryDecision> {
  const { callerWorkplace } = call;
  const callerNumber = callerNumberOf(call.presented, callerWorkplace, settings.countryCode);
  const dialled = classifyDialled({
    kind: call.kind,
    exten: call.exten,
    fromDevice: callerWorkplace !== undefined,
    countryCode: settings.countryCode,
    voiceboxAccessNumber: settings.voiceboxAccessNumber,
  });
  if (dialled.kind === 'voicebox-access') {
    let workplace = callerWorkplace;
    if (!workplace && callerNumber.startsWith('+')) {
      const own = await lookups.resolveNumber(callerNumber);
      const byParallel = own?.kind === 'workplace' ? [] : await lookups.byParallelNumber(callerNumber);
      workplace = voiceboxAccessOwner(undefined, own, byParallel);
    }
    return { callerNumber, dialled, route: { kind: 'voicebox-access', workplace } };
  }
  if (dialled.kind === 'pull') {
    const route: EntryRoute = callerWorkplace
      ? { kind: 'pull', workplace: callerWorkplace }
      : { kind: 'unallocated', reason: 'pull-without-device' };
    return { callerNumber, dialled, route };
  }
  let target: RoutingTarget;
  if (dialled.kind === 'number') {
    // a special number (77 prefix) is the carrier's: never one of ours
    target = dialled.dial === undefined ? await lookups.resolveNumber(dialled.e164) : undefined;
    // a company's devices see the platform as their company does: another company's number is
    // an ordinary external number (its blocking applies; nothing of the other company is used)
    if (callerWorkplace) target = ownTarget(target, callerWorkplace.companyId);
  } else if (dialled.kind === 'extension' && callerWorkplace) {
    target = await lookups.resolveExtension(callerWorkplace.companyId, dialled.extension);
  }
  return { callerNumber, dialled, target, route: routeCall(dialled, target, callerWorkplace) };
}
