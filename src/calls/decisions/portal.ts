/**
 * The Anywhere portal's admission decision: who the caller is (SPEC portal 1/2). A desk device
 * of the company is its own proof when the portal's level / area includes its workplace; else
 * the caller number (E.164) among the parallel-ringing numbers in the portal's scope, with the
 * PIN when the portal asks for it or when several workplaces list the number. The portal flow
 * talks to the caller along it; routing explain renders it.
 */
import type { AnywherePortal, Workplace } from '../../domain/model.js';
import { normaliseNumber } from '../../domain/numbers.js';
import { inPortalScope, isPinLocked, matchCaller, type CallerMatch } from '../../domain/portal-auth.js';
import type { CallLookups } from './lookups.js';

export interface PortalCallerFacts {
  /** the workplace of the calling desk device (internal call); undefined for trunk calls */
  deviceWorkplace?: Workplace | undefined;
  /** the caller number as presented ('' = anonymous) */
  presented: string;
}

export type PortalAuthDecision = (
  | { auth: 'device' }
  | { auth: 'caller-number'; callerE164: string | undefined; match: CallerMatch<Workplace>['kind'] }
) &
  (
    | { result: 'admitted'; workplace: Workplace }
    /** the PIN decides among the candidates (one, or several sharing the caller number) */
    | { result: 'pin'; candidates: Workplace[] }
    | {
        result: 'refused';
        reason: 'out-of-scope' | Extract<CallerMatch, { kind: 'refused' }>['reason'];
      }
  );

export async function planPortalAuth(
  portal: AnywherePortal,
  caller: PortalCallerFacts,
  lookups: Pick<CallLookups, 'byParallelNumber'>,
  countryCode: string,
): Promise<PortalAuthDecision> {
  const device = caller.deviceWorkplace;
  if (device) {
    return inPortalScope(portal, device)
      ? { auth: 'device', result: 'admitted', workplace: device }
      : { auth: 'device', result: 'refused', reason: 'out-of-scope' };
  }
  const callerE164 = normaliseNumber(caller.presented, { countryCode });
  const listed = callerE164 ? await lookups.byParallelNumber(callerE164) : [];
  const match = matchCaller(portal, callerE164, listed);
  const auth = { auth: 'caller-number', callerE164, match: match.kind } as const;
  switch (match.kind) {
    case 'refused':
      return { ...auth, result: 'refused', reason: match.reason };
    case 'single':
      return portal.pinRequired
        ? { ...auth, result: 'pin', candidates: [match.workplace] }
        : { ...auth, result: 'admitted', workplace: match.workplace };
    case 'ambiguous':
      return { ...auth, result: 'pin', candidates: match.workplaces };
  }
}

/** The workplaces among `candidates` whose PIN is locked now (wrong entries counted so far). */
export async function pinLockedAmong(
  candidates: readonly Workplace[],
  pinFailures: { get(workplaceId: string): Promise<number> },
): Promise<string[]> {
  const failures = await Promise.all(candidates.map((w) => pinFailures.get(w.id)));
  return candidates.filter((_, i) => isPinLocked(failures[i] ?? 0)).map((w) => w.id);
}
