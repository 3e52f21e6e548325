/**
 * A call's trace outliving its process (src/calls/reporting/call-records.ts, call-events.ts): the
 * snapshot the live-call registry entry carries, restored by another process's bus, gives the
 * records and call.ended events the first process would have written; a call taken over
 * without one gets a record rebuilt from what Asterisk tells, marked as such. Pure: two buses
 * in one process stand for the dead controller and the one that took its calls over.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createCallEvents,
  type CallFact,
  type TracedSession,
} from '../../../src/calls/reporting/call-events.js';
import {
  buildRecords,
  restorableSnapshot,
  traceFromAsterisk,
  traceOfSnapshot,
  type FoundCall,
} from '../../../src/calls/reporting/call-records.js';
import type { CallTraceSnapshot } from '../../../src/domain/model.js';
import { callRecordSchema, type CallRecord, type NewEvent } from '../../../src/events/model.js';
import { canonicalJson } from '../../../src/store/kv.js';
import { portal as portalFixture, workplace as workplaceFixture } from '../../store/fixtures.js';

const logger = pino({ level: 'silent' });
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const company = 'c1';
const desk = workplaceFixture(company, { number: '+4930100001', extension: '11' });
const colleague = workplaceFixture(company, { number: '+4930100002', extension: '12' });
const employee = workplaceFixture(company, { number: '+4930100003', extension: '13' });
const portal = portalFixture(company, { number: '+4930100900' });
const deskLeg = { kind: 'device', endpoint: 'PJSIP/d1', deviceId: 'dev-1' } as const;
const mobileLeg = { kind: 'external', endpoint: 'PJSIP/+491701', number: '+491701', confirm: false } as const;

/** a bus as a controller process has it; what it writes is kept */
function bus() {
  const records: CallRecord[] = [];
  const events: NewEvent[] = [];
  const setups: number[] = [];
  const b = createCallEvents({
    publish: (e) => events.push(e),
    records: (r) => records.push(...r),
    metrics: { setupSeconds: (s) => setups.push(s) },
    logger,
  });
  return { b, records, events, setups, ended: () => events.filter((e) => e.type === 'call.ended') };
}

/** the registry entry's trip through Redis: canonical JSON and back */
const throughRedis = (s: CallTraceSnapshot | undefined): CallTraceSnapshot =>
  JSON.parse(canonicalJson(s)) as CallTraceSnapshot;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

interface Case {
  name: string;
  kind: 'inbound' | 'internal';
  session: TracedSession;
  /** what the flows report, each at its second after the start */
  facts: Array<[number, CallFact]>;
}

const remote: TracedSession = {
  channelId: 'ch-remote',
  callerNumber: '+4989111222',
  calledExten: desk.number,
};
const cases: Case[] = [
  {
    name: 'inbound, answered on the desk phone',
    kind: 'inbound',
    session: remote,
    facts: [
      [0, { type: 'target', workplace: desk, callerNumber: '+4989111222' }],
      [0, { type: 'ringing', legs: [deskLeg] }],
      [4, { type: 'answered', leg: deskLeg }],
    ],
  },
  {
    name: 'internal by extension, answered on the parallel number (two records)',
    kind: 'internal',
    session: { channelId: 'ch-internal', callerNumber: '12', calledExten: '11' },
    facts: [
      [0, { type: 'caller', workplace: colleague }],
      [0, { type: 'target', workplace: desk, callerNumber: colleague.number }],
      [0, { type: 'ringing', legs: [deskLeg, mobileLeg] }],
      [7, { type: 'answered', leg: mobileLeg }],
    ],
  },
  {
    name: "a portal call-through to a workplace (the called side's record carries the employee's call)",
    kind: 'inbound',
    session: { channelId: 'ch-portal', callerNumber: '+491709', calledExten: portal.number },
    facts: [
      [0, { type: 'portal', portal }],
      [6, { type: 'portal.entered', workplace: employee }],
      [9, { type: 'call-through', to: desk.number }],
      [9, { type: 'target', workplace: desk, callerNumber: employee.number }],
      [9, { type: 'ringing', legs: [deskLeg] }],
      [12, { type: 'answered', leg: deskLeg }],
    ],
  },
];

describe('a trace carried over a restart', () => {
  it.each(cases)(
    '$name: the same records and call.ended events, from the original start and answer',
    ({ kind, session, facts }) => {
      const dead = bus();
      const next = bus();
      dead.b.started(session, kind);
      for (const [s, fact] of facts) {
        vi.setSystemTime(T0 + s * 1000);
        dead.b.emit(session, fact);
      }
      const saved = throughRedis(dead.b.snapshot(session));
      // the call survives the process; both would end it at the same moment
      vi.setSystemTime(T0 + 60_000);
      next.b.resume(session, saved);
      expect(next.b.size).toBe(1);
      next.b.ended(session, 16);
      dead.b.ended(session, 16);

      expect(next.records.length).toBeGreaterThan(0);
      expect(next.records).toEqual(dead.records.map((r) => ({ ...r, adopted: 'trace' })));
      for (const r of next.records) callRecordSchema.parse(r);
      expect(next.records[0]).toMatchObject({ startedAt: at(0), endedAt: at(60) });
      expect(next.ended()).toEqual(dead.ended());
      // no set-up is counted for the call taken over
      expect(next.setups).toEqual([]);
    },
  );

  it('the snapshot is plain JSON: workplaces and portals by id, company and number only', () => {
    const { b } = bus();
    const { session, kind, facts } = cases[2]!;
    b.started(session, kind);
    for (const [, fact] of facts) b.emit(session, fact);
    const saved = b.snapshot(session)!;
    expect(throughRedis(saved)).toEqual(saved);
    expect(saved).toMatchObject({
      v: 1,
      callId: session.channelId,
      target: { id: desk.id, companyId: company, number: desk.number },
      portal: { id: portal.id, companyId: company },
      portalWorkplace: { id: employee.id, companyId: company, number: employee.number },
    });
    expect(Object.keys(saved.target!).sort()).toEqual(['companyId', 'id', 'number']);
    expect(Object.keys(saved.portal!).sort()).toEqual(['companyId', 'id']);
    // nothing of the running process: set-up clock, pull bookkeeping
    for (const key of ['t0', 'setupObserved', 'pullPendingBy', 'pulling'])
      expect(saved).not.toHaveProperty(key);
    expect(b.snapshot({ ...session, channelId: 'unknown' })).toBeUndefined();
  });

  it('saved while a pull moves the call: recorded as pulled to the pulling caller', () => {
    const dead = bus();
    const next = bus();
    const puller: TracedSession = { channelId: 'ch-puller', callerNumber: '13', calledExten: '*11' };
    dead.b.started(remote, 'inbound');
    dead.b.emit(remote, { type: 'target', workplace: desk, callerNumber: remote.callerNumber });
    dead.b.emit(remote, { type: 'answered', leg: deskLeg });
    dead.b.started(puller, 'internal');
    const pull = { workplaceId: desk.id, remoteChannelId: remote.channelId };
    dead.b.emit(puller, { type: 'pull.started', ...pull });
    // the registry entry of the moved call is written before 'pulled' is told (live-calls.ts moveTo)
    const saved = throughRedis(dead.b.snapshot(remote, { pulledBy: puller.channelId }));
    expect(saved.pulledTo).toBe('13');

    next.b.resume(remote, saved);
    next.b.ended(remote, 16);
    expect(next.records).toMatchObject([{ outcome: 'pulled', pulledTo: '13', adopted: 'trace' }]);
  });

  it('a re-adopted call pulled with *11 is recorded as pulled, once', () => {
    const dead = bus();
    const next = bus();
    dead.b.started(remote, 'inbound');
    dead.b.emit(remote, { type: 'target', workplace: desk, callerNumber: remote.callerNumber });
    vi.setSystemTime(T0 + 3000);
    dead.b.emit(remote, { type: 'answered', leg: deskLeg });
    next.b.resume(remote, throughRedis(dead.b.snapshot(remote)));

    const puller: TracedSession = { channelId: 'ch-puller', callerNumber: '13', calledExten: '*11' };
    vi.setSystemTime(T0 + 30_000);
    next.b.started(puller, 'internal');
    next.b.emit(puller, { type: 'caller', workplace: desk });
    const pull = { workplaceId: desk.id, remoteChannelId: remote.channelId };
    next.b.emit(puller, { type: 'pull.started', ...pull });
    // the remote party hangs up while it is moved: its record waits for the move's outcome
    vi.setSystemTime(T0 + 40_000);
    next.b.ended(remote, 16);
    expect(next.records).toEqual([]);
    next.b.emit(puller, { type: 'pulled', ...pull });
    next.b.ended(puller, 16);
    expect(next.records).toMatchObject([
      { id: remote.channelId, outcome: 'pulled', pulledTo: '13', answeredAt: at(3), adopted: 'trace' },
    ]);
    expect(next.ended().map((e) => e.callId)).toEqual([remote.channelId]);
  });

  it("never replaces the trace the process holds (the event socket came back); a trace's own adoption is kept", () => {
    const { b, records } = bus();
    b.started(remote, 'inbound');
    b.emit(remote, { type: 'target', workplace: desk, callerNumber: remote.callerNumber });
    const other = { ...b.snapshot(remote)!, to: '+4930999999' };
    b.resume(remote, other);
    b.ended(remote, undefined);
    expect(records).toMatchObject([{ to: desk.number, outcome: 'missed' }]);
    expect(records[0]).not.toHaveProperty('adopted');

    const rebuilt = { ...other, adopted: 'asterisk' as const };
    expect(traceOfSnapshot(rebuilt, 0).adopted).toBe('asterisk');
    expect(traceOfSnapshot(other, 0)).toMatchObject({ adopted: 'trace', setupObserved: true });
  });
});

describe('restorableSnapshot: only a snapshot of this form, of this call', () => {
  const good = traceFromAsterisk({
    callId: 'ch-1',
    kind: 'inbound',
    fromDialled: '+4989',
    toDialled: desk.number,
    from: '+4989',
    startedMs: T0,
    target: desk,
    answeredAt: at(1),
  });
  const rows: Array<[string, unknown, CallTraceSnapshot | undefined]> = [
    ['none (an entry written before traces were saved)', undefined, undefined],
    ['another call of the workplace', { ...good, callId: 'ch-2' }, undefined],
    ['another form', { ...good, v: 2 }, undefined],
    ['a damaged one', { ...good, startedMs: 'yesterday' }, undefined],
    ['an unknown kind', { ...good, kind: 'outbound' }, undefined],
    ['this call', good, good],
  ];
  it.each(rows)('%s', (_name, snapshot, expected) => {
    expect(restorableSnapshot(snapshot as CallTraceSnapshot, 'ch-1')).toEqual(expected);
  });
});

describe('a call taken over without a trace: its record from what Asterisk tells', () => {
  const base: FoundCall = {
    callId: 'ch-1',
    kind: 'inbound',
    fromDialled: '089111222',
    toDialled: desk.number,
    from: '+4989111222',
    startedMs: T0,
    answeredAt: at(5),
  };
  /** a call-through: the portal call, and what its leg's PBX_CT names */
  const calledThrough: FoundCall = {
    ...base,
    fromDialled: '+491709',
    from: '+491709',
    toDialled: portal.number,
    portal,
    portalWorkplace: employee,
    callThroughTo: '+4940777',
  };
  const { portalWorkplace: _gone, ...employeeGone } = calledThrough;
  const { callThroughTo: _lost, ...earlierLeg } = employeeGone;
  const rows: Array<{ name: string; found: FoundCall; records: Array<Partial<CallRecord>> }> = [
    {
      name: 'a workplace call (its call variable names the workplace; or a forward, whose target is not known)',
      found: { ...base, target: desk },
      records: [{ workplaceId: desk.id, direction: 'inbound', from: '+4989111222', to: desk.number }],
    },
    {
      name: 'an internal call: a record for each side',
      found: {
        ...base,
        kind: 'internal',
        fromDialled: '12',
        toDialled: '11',
        from: colleague.number,
        caller: colleague,
        target: desk,
      },
      records: [
        { workplaceId: desk.id, direction: 'internal', from: colleague.number, to: desk.number },
        { workplaceId: colleague.id, direction: 'internal', from: colleague.number, to: desk.number },
      ],
    },
    {
      name: 'a call out from a device',
      found: {
        ...base,
        kind: 'internal',
        fromDialled: '11',
        toDialled: '004940777',
        from: desk.number,
        caller: desk,
        outboundTo: '+4940777',
      },
      records: [{ workplaceId: desk.id, direction: 'outbound', from: desk.number, to: '+4940777' }],
    },
    {
      name: "a call-through whose leg names the employee and the destination: the employee's line",
      found: calledThrough,
      records: [
        {
          workplaceId: employee.id,
          portalId: portal.id,
          direction: 'outbound',
          outcome: 'call-through',
          from: employee.number,
          to: '+4940777',
          toDialled: portal.number,
        },
      ],
    },
    {
      name: "a call-through whose employee's workplace is gone: the company's list keeps it, with the destination",
      found: employeeGone,
      records: [
        {
          portalId: portal.id,
          direction: 'outbound',
          outcome: 'call-through',
          from: '+491709',
          to: '+4940777',
          toDialled: portal.number,
        },
      ],
    },
    {
      name: "a call-through of an earlier version's leg: the employee and the destination are lost, the company's list keeps it",
      found: earlierLeg,
      records: [
        {
          portalId: portal.id,
          direction: 'outbound',
          outcome: 'call-through',
          from: '+491709',
          to: '',
          toDialled: portal.number,
        },
      ],
    },
  ];
  it.each(rows)('$name', ({ found, records }) => {
    const trace = traceOfSnapshot(traceFromAsterisk(found), 0);
    const built = buildRecords(trace, T0 + 65_000, 16);
    expect(built).toMatchObject(
      records.map((r) => ({
        id: 'ch-1',
        companyId: company,
        fromDialled: found.fromDialled,
        toDialled: found.toDialled,
        startedAt: at(0),
        // not known: the best there is, and the record says it was rebuilt
        answeredAt: at(5),
        durationSeconds: 60,
        outcome: 'answered',
        cause: 16,
        adopted: 'asterisk',
        ...r,
      })),
    );
    for (const r of built) {
      callRecordSchema.parse(r);
      if (found.callThroughTo === undefined) expect(r).not.toHaveProperty('answeredBy');
      else expect(r.answeredBy).toEqual({ kind: 'number', id: found.callThroughTo });
      expect(r).not.toHaveProperty('forwardedTo');
    }
    if (!found.portal || found.portalWorkplace)
      expect(built.every((r) => r.workplaceId !== undefined)).toBe(true);
    else expect(built[0]!.workplaceId).toBeUndefined();
  });

  it('a call-through rebuilt from its leg leaves the line the portal would have written', () => {
    const session: TracedSession = { channelId: 'ch-1', callerNumber: '+491709', calledExten: portal.number };
    const live = bus();
    live.b.started(session, 'inbound');
    live.b.emit(session, { type: 'portal', portal });
    live.b.emit(session, { type: 'portal.entered', workplace: employee });
    live.b.emit(session, { type: 'call-through', to: '+4940777' });
    vi.setSystemTime(T0 + 5_000);
    live.b.emit(session, {
      type: 'answered',
      leg: { kind: 'external', endpoint: '', number: '+4940777', confirm: false },
    });
    vi.setSystemTime(T0 + 65_000);
    live.b.ended(session, 16);
    const rebuilt = traceFromAsterisk(calledThrough);
    const records = buildRecords(traceOfSnapshot(rebuilt, 0), T0 + 65_000, 16);
    // the same line, but for the mark (and the answer time, which a successor can only bound)
    expect(live.records).toHaveLength(1);
    expect(records).toEqual([{ ...live.records[0], adopted: 'asterisk' }]);
  });
});
