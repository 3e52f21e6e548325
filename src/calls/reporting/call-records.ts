/**
 * A call's trace (what the flows reported, kept in memory while it runs) → its call-list
 * records: one per workplace it touched (the called one, and the calling one of an internal
 * or outgoing call), or one company-wide record of a refused portal call; a portal call that
 * got in and pulled a call or called through is a record of the employee's workplace. Pure.
 *
 * A trace outlives its process as a snapshot in the call's live-call registry entry (written
 * with the entry, no request of its own): a controller that re-adopts the call after a restart
 * carries on with it, or rebuilds one from Asterisk when there is none (traceFromAsterisk).
 */
import type { CallTraceFields, CallTraceSnapshot, PortalRef, WorkplaceRef } from '../../domain/model.js';
import type { CallDirection, CallOutcome, CallRecord } from '../../events/model.js';

/**
 * A running call's trace. What outlives the process (CallTraceFields) is saved with the call's
 * live-call registry entry once it is connected, so a controller that re-adopts the call after
 * a restart writes its record as this one would have (snapshotOf / traceOfSnapshot); the rest
 * belongs to this process only.
 */
export interface CallTrace extends CallTraceFields {
  /** performance.now() at the start (set-up latency) */
  t0: number;
  setupObserved: boolean;
  /** a pull of this call (by the channel with this id) is under way: its record waits for it */
  pullPendingBy?: string;
  /** this call is pulling the call with this caller channel id: its record waits for it */
  pulling?: string;
}

/** Workplaces and portals are kept as the records need them, never whole (see snapshotOf). */
export const workplaceRef = (w: WorkplaceRef): WorkplaceRef => ({
  id: w.id,
  companyId: w.companyId,
  number: w.number,
});
export const portalRef = (p: PortalRef): PortalRef => ({ id: p.id, companyId: p.companyId });

/** The trace as the call's registry entry carries it: plain JSON, nothing of this process. */
export function snapshotOf(t: CallTrace): CallTraceSnapshot {
  const { t0: _t0, setupObserved: _setup, pullPendingBy: _pull, pulling: _pulling, ...fields } = t;
  return { v: 1, ...fields };
}

/**
 * The trace of a call taken over with its snapshot. Its set-up was over long before (never
 * counted again); `adopted` tells the record it survived a restart.
 */
export function traceOfSnapshot(s: CallTraceSnapshot, t0: number): CallTrace {
  const { v: _v, ...fields } = s;
  return { ...fields, t0, setupObserved: true, adopted: s.adopted ?? 'trace' };
}

/**
 * A registry entry's snapshot, when this process can carry on with it: the form it knows, of
 * the call being taken over (an entry may be newer or older than the call, or damaged).
 */
export function restorableSnapshot(
  s: CallTraceSnapshot | undefined,
  callId: string,
): CallTraceSnapshot | undefined {
  if (!s || typeof s !== 'object' || s.v !== 1 || s.callId !== callId) return undefined;
  if (s.kind !== 'inbound' && s.kind !== 'internal') return undefined;
  if (!Number.isFinite(s.startedMs) || typeof s.from !== 'string' || typeof s.to !== 'string')
    return undefined;
  return s;
}

/**
 * What Asterisk (and the configuration) tell of an answered call taken over without a trace:
 * the remote party's channel, the workplace its call variable names, what the dialled number
 * routes to now.
 */
export interface FoundCall {
  callId: string;
  kind: 'inbound' | 'internal';
  /** the channel's caller number as presented */
  fromDialled: string;
  /** the channel's dialplan extension: what was dialled */
  toDialled: string;
  /** the caller: the calling device's workplace number, else the normalised caller number */
  from: string;
  /** when Asterisk created the channel */
  startedMs: number;
  /** the calling device's workplace (an internal call) */
  caller?: WorkplaceRef;
  /** the called workplace: the call's own (its call variable), else the one the number reaches */
  target?: WorkplaceRef;
  /** the portal the number reaches (the call called through it) */
  portal?: PortalRef;
  /** a device's call out through the trunk: the destination (E.164) */
  outboundTo?: string;
  /** a call-through: the employee's workplace (its leg's PBX_CT, see call-through.ts) */
  portalWorkplace?: WorkplaceRef;
  /** a call-through: the destination (E.164; its leg's PBX_CT) */
  callThroughTo?: string;
  /**
   * not known: the best there is — when the call was registered as connected (its registry
   * entry), else the takeover itself (the talk time then starts there)
   */
  answeredAt: string;
}

/**
 * The trace of an answered call taken over without one (an entry written before traces were
 * saved, none at all, a call of no workplace: a forward, a call out, a call-through). Who
 * answered and where a forward went are not known and left out — but a call-through whose leg
 * tells the employee and the destination is whole: the destination answered it; the record says
 * it was rebuilt (`adopted: 'asterisk'`).
 */
export function traceFromAsterisk(f: FoundCall): CallTraceSnapshot {
  const routed = f.target !== undefined || f.outboundTo !== undefined;
  return {
    v: 1,
    callId: f.callId,
    kind: f.kind,
    startedMs: f.startedMs,
    fromDialled: f.fromDialled,
    toDialled: f.toDialled,
    // as the flows tell it: the caller normalised once the call reached a workplace or the trunk
    from: routed ? f.from : f.fromDialled,
    to: f.target?.number ?? f.outboundTo ?? f.toDialled,
    ...(f.caller ? { caller: f.caller } : {}),
    ...(f.target ? { target: f.target } : {}),
    ...(f.portal ? { portal: f.portal } : {}),
    ...(f.outboundTo !== undefined ? { outboundCall: true } : {}),
    ...(f.portalWorkplace ? { portalWorkplace: f.portalWorkplace } : {}),
    ...(f.callThroughTo !== undefined
      ? { callThroughTo: f.callThroughTo, answeredBy: { kind: 'number' as const, id: f.callThroughTo } }
      : {}),
    answeredAt: f.answeredAt,
    adopted: 'asterisk',
  };
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
    ...(t.adopted ? { adopted: t.adopted } : {}),
  };
  const records: CallRecord[] = [];
  const side = (workplace: WorkplaceRef, direction: CallDirection): CallRecord => ({
    ...common,
    companyId: workplace.companyId,
    workplaceId: workplace.id,
    direction,
  });
  if (t.target) records.push(side(t.target, t.caller ? 'internal' : 'inbound'));
  if (t.caller && t.caller.id !== t.target?.id && (t.target || t.outboundCall))
    records.push(t.target ? callersView(side(t.caller, 'internal')) : side(t.caller, 'outbound'));
  if (records.length === 0 && t.portal && t.refused) {
    records.push({ ...common, companyId: t.portal.companyId, portalId: t.portal.id, direction: 'inbound' });
  }
  const employee = t.portalWorkplace;
  // a call-through taken over without its trace whose leg did not name the employee (a leg of
  // an earlier version, a workplace deleted meanwhile): the company's list keeps the line (the
  // destination blank unless the leg named it)
  if (records.length === 0 && !employee && t.portal && t.adopted === 'asterisk' && t.answeredAt) {
    records.push({
      ...common,
      companyId: t.portal.companyId,
      portalId: t.portal.id,
      direction: 'outbound',
      to: t.callThroughTo ?? '',
      outcome: 'call-through',
    });
  }
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
    // a call-through to a colleague is the employee calling that colleague
    if (!pulled && t.target) records[records.length - 1] = callersView(records[records.length - 1]!);
  }
  return records;
}

/**
 * The calling side's line of a call to a workplace (a colleague, or another company's number
 * routed internally): it says whom they called, never where that person's call went — not the
 * parallel mobile or device that answered, not the forward target, not the mobile it was pulled
 * to. Those are the called person's private numbers; their own line keeps them.
 */
function callersView(record: CallRecord): CallRecord {
  const { answeredBy: _answeredBy, forwardedTo: _forwardedTo, pulledTo: _pulledTo, ...rest } = record;
  return rest;
}
