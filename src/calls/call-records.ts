/**
 * A call's trace (what the flows reported, kept in memory while it runs) → its call-list
 * records: one per workplace it touched (the called one, and the calling one of an internal
 * or outgoing call), or one company-wide record of a refused portal call; a portal call that
 * got in and pulled a call or called through is a record of the employee's workplace. Pure.
 */
import type { AnywherePortal, Workplace } from '../domain/model.js';
import type { AnsweredBy, CallDirection, CallOutcome, CallRecord } from '../events/model.js';

export interface CallTrace {
  callId: string;
  kind: 'inbound' | 'internal';
  startedMs: number;
  /** performance.now() at the start (set-up latency) */
  t0: number;
  setupObserved: boolean;
  fromDialled: string;
  toDialled: string;
  /** normalised when known */
  from: string;
  to: string;
  caller?: Workplace;
  target?: Workplace;
  portal?: AnywherePortal;
  answeredAt?: string;
  answeredBy?: AnsweredBy;
  forwardedTo?: string;
  forwardConnected?: boolean;
  voicebox?: boolean;
  busy?: boolean;
  blocked?: boolean;
  refused?: boolean;
  pulledTo?: string;
  /** a pull of this call (by the channel with this id) is under way: its record waits for it */
  pullPendingBy?: string;
  /** this call is pulling the call with this caller channel id: its record waits for it */
  pulling?: string;
  /** the workplace whose employee the portal let in */
  portalWorkplace?: Workplace;
  /** this (portal) call pulled a call of its workplace; `with`: that call's other party */
  portalPull?: { workplaceId: string; with?: string };
  /** this (portal) call called through to this number (the last one when several) */
  callThroughTo?: string;
  /** a device dialled out through the trunk */
  outboundCall?: boolean;
}

/** One outcome per call, the most telling first. */
export function outcomeOf(t: CallTrace): CallOutcome {
  if (t.refused) return 'refused';
  if (t.blocked) return 'blocked';
  if (t.pulledTo !== undefined) return 'pulled';
  if (t.voicebox) return 'voicebox';
  if (t.forwardConnected) return 'forwarded';
  if (t.answeredAt) return 'answered';
  if (t.busy) return 'busy';
  return 'missed';
}

export function buildRecords(t: CallTrace, endedMs: number, cause: number | undefined): CallRecord[] {
  const outcome = outcomeOf(t);
  const endedAt = new Date(endedMs).toISOString();
  const durationSeconds = t.answeredAt
    ? Math.max(0, Math.round((endedMs - Date.parse(t.answeredAt)) / 1000))
    : 0;
  const common = {
    id: t.callId,
    from: t.from,
    fromDialled: t.fromDialled,
    to: t.to,
    toDialled: t.toDialled,
    startedAt: new Date(t.startedMs).toISOString(),
    ...(t.answeredAt ? { answeredAt: t.answeredAt } : {}),
    endedAt,
    durationSeconds,
    outcome,
    ...(t.forwardedTo !== undefined && outcome === 'forwarded' ? { forwardedTo: t.forwardedTo } : {}),
    ...(t.pulledTo !== undefined ? { pulledTo: t.pulledTo } : {}),
    ...(t.answeredBy ? { answeredBy: t.answeredBy } : {}),
    ...(cause !== undefined ? { cause } : {}),
  };
  const records: CallRecord[] = [];
  const side = (workplace: Workplace, direction: CallDirection): CallRecord => ({
    ...common,
    companyId: workplace.companyId,
    workplaceId: workplace.id,
    direction,
  });
  if (t.target) records.push(side(t.target, t.caller ? 'internal' : 'inbound'));
  if (t.caller && t.caller.id !== t.target?.id && (t.target || t.outboundCall))
    records.push(side(t.caller, t.target ? 'internal' : 'outbound'));
  if (records.length === 0 && t.portal && t.refused) {
    records.push({ ...common, companyId: t.portal.companyId, portalId: t.portal.id, direction: 'inbound' });
  }
  const employee = t.portalWorkplace;
  // got in and did something: a call-list line for the employee (a call-through to its own
  // workplace already has one, as the called side)
  if (
    employee &&
    (t.portalPull !== undefined || t.callThroughTo !== undefined) &&
    !records.some((r) => r.workplaceId === employee.id)
  ) {
    const pulled = t.portalPull !== undefined;
    records.push({
      ...common,
      companyId: employee.companyId,
      workplaceId: employee.id,
      ...(t.portal ? { portalId: t.portal.id } : {}),
      // a call-through leaves with the office number: the destination sees the workplace call
      direction: pulled ? 'inbound' : t.target ? 'internal' : 'outbound',
      from: pulled ? t.fromDialled : employee.number,
      to: pulled ? (t.portalPull?.with ?? t.toDialled) : t.callThroughTo!,
      outcome: pulled ? 'pulled' : 'call-through',
    });
  }
  return records;
}
