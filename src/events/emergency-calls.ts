/**
 * Emergency calls made visible. Asterisk dials 110/112 by itself, before and without the
 * controller (asterisk/extensions.conf [emergency]), so the controller learns of them from
 * Asterisk's own record: when such a call ends the dialplan writes one astdb entry in the family
 * pbx_emergency whose key is the record ("<start epoch>-<channel id>|number|dialled|presented|
 * workplace id|endpoint|end epoch|DIALSTATUS|ANSWEREDTIME"): ARI can list keys (DB_KEYS) but
 * not read values — Asterisk refuses the "dangerous" DB and DB_DELETE to external interfaces.
 *
 * This watcher lists those entries through ARI at every (re)connect — which covers calls made while the controller was down — and
 * whenever an emergency call's channel ends while it runs. Asterisk evaluates functions only on a channel (GET
 * /asterisk/variable reads plain global variables, a function there reads as ""), so each scan
 * creates a Local channel that is never dialled (POST /channels/create, into this controller's
 * application with the argument `records`, which the router ignores), reads through it (GET
 * /channels/{id}/variable) and hangs it up. A handled entry is deleted by the dialplan: an
 * originated Local/delete@pbx-records with the key in PBX_RECORD_KEY. Each becomes an
 * `emergency.call` event, a call-list line (outcome emergency), a metric and a `warn` log line.
 * An entry is deleted only after it was handled, so a crash in between repeats it rather than
 * loses it. Not on any call's path: nothing here can delay an emergency call.
 */
import type { Logger } from 'pino';
import type { AriRestApi } from '../ari/generated/operations.js';
import type { Group, Workplace } from '../domain/model.js';
import { formatAddress } from '../domain/location.js';
import type { CallRecord, NewEvent } from './model.js';

export const EMERGENCY_DB_FAMILY = 'pbx_emergency';

/**
 * A safety net only: a running controller scans when an emergency call's channel ends (its
 * ChannelDestroyed reaches the controller through its subscription to the PJSIP endpoints) and at
 * every (re)connect; this catches an event it missed.
 */
export const EMERGENCY_POLL_MS = 5 * 60_000;

/** After a failed scan, the next try. */
const RETRY_MS = 5000;

/** The never-dialled channel a scan reads through (asterisk/extensions.conf [pbx-records]). */
export const READER_ENDPOINT = 'Local/s@pbx-records';
/** The dialplan that deletes a handled record (PBX_RECORD_KEY). */
export const DELETE_ENDPOINT = 'Local/delete@pbx-records';

/** A call reported later than this after its end was made while the controller could not see it. */
const LATE_MS = 60_000;

export interface EmergencyEntry {
  /** the astdb key (the whole record) */
  key: string;
  callId: string;
  number: '110' | '112';
  dialled: string;
  presented: string;
  workplaceId: string;
  device: string;
  startedAt: Date;
  endedAt: Date;
  dialStatus: string;
  answeredSeconds: number;
}

/** One astdb key as the dialplan writes it; undefined when it is not one (logged, kept). */
export function parseEmergencyEntry(key: string): EmergencyEntry | undefined {
  const parts = key.split('|');
  if (parts.length < 9) return undefined;
  const [id, number, dialled, presented, workplaceId, device, end, dialStatus, answered] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (number !== '110' && number !== '112') return undefined;
  const dash = id.indexOf('-');
  const startS = Number(dash >= 0 ? id.slice(0, dash) : NaN);
  const endS = Number(end);
  if (!Number.isFinite(startS) || !Number.isFinite(endS) || startS <= 0) return undefined;
  return {
    key,
    callId: id.slice(dash + 1),
    number,
    dialled: dialled || number,
    presented,
    workplaceId,
    device,
    startedAt: new Date(startS * 1000),
    endedAt: new Date(Math.max(endS, startS) * 1000),
    dialStatus: dialStatus || 'UNKNOWN',
    answeredSeconds: Number(answered) > 0 ? Math.round(Number(answered)) : 0,
  };
}

/** The event and the call-list line of an entry (pure, for tests). */
export function emergencyOutputs(
  entry: EmergencyEntry,
  workplace: Pick<Workplace, 'id' | 'companyId'>,
  group: Pick<Group, 'address'> | undefined,
  now: Date,
): { event: NewEvent; record: CallRecord } {
  const answered = entry.dialStatus === 'ANSWER';
  const location = group?.address ? formatAddress(group.address) : undefined;
  const answeredAt = answered
    ? new Date(entry.endedAt.getTime() - entry.answeredSeconds * 1000).toISOString()
    : undefined;
  const event: NewEvent = {
    type: 'emergency.call',
    companyId: workplace.companyId,
    workplaceId: workplace.id,
    callId: entry.callId,
    device: entry.device,
    dialled: entry.dialled,
    number: entry.number,
    presented: entry.presented,
    ...(location ? { location } : {}),
    startedAt: entry.startedAt.toISOString(),
    endedAt: entry.endedAt.toISOString(),
    answered,
    dialStatus: entry.dialStatus,
    late: now.getTime() - entry.endedAt.getTime() > LATE_MS,
  };
  const record: CallRecord = {
    id: entry.callId,
    companyId: workplace.companyId,
    workplaceId: workplace.id,
    direction: 'outbound',
    from: entry.presented,
    fromDialled: entry.presented,
    to: entry.number,
    toDialled: entry.dialled,
    startedAt: entry.startedAt.toISOString(),
    ...(answeredAt ? { answeredAt } : {}),
    endedAt: entry.endedAt.toISOString(),
    durationSeconds: answered ? entry.answeredSeconds : 0,
    outcome: 'emergency',
  };
  return { event, record };
}

export interface EmergencyWatchDeps {
  ari: {
    app: string;
    channels: Pick<AriRestApi['channels'], 'create' | 'getChannelVar' | 'hangup' | 'originate'>;
    events: {
      onConnected(listener: () => void): () => void;
      on(type: string, listener: (event: unknown) => void): () => void;
    };
  };
  workplace(id: string): Promise<Workplace | undefined>;
  group(companyId: string, id: string): Promise<Group | undefined>;
  publish(event: NewEvent): void;
  records(records: CallRecord[]): void;
  metrics: { emergencyCall(number: string, answered: boolean): void };
  logger: Logger;
  pollMs?: number;
  now?: () => Date;
}

/** Starts watching; returns a stop function. */
export function watchEmergencyCalls(deps: EmergencyWatchDeps): () => void {
  const log = deps.logger.child({ component: 'emergency-calls' });
  const now = deps.now ?? (() => new Date());
  let running: Promise<void> | undefined;
  let stopped = false;

  /** keys seen unreadable, so each is logged once per process, not every scan */
  const unreadable = new Set<string>();

  /**
   * Keys this process has handled: the dialplan deletes a record a moment after the originate
   * returns, so a scan right after must not report it again.
   */
  const handled = new Set<string>();

  async function handle(key: string): Promise<void> {
    if (handled.has(key)) return;
    const entry = parseEmergencyEntry(key);
    const callLog = log.child({ callId: entry?.callId ?? key });
    if (!entry) {
      if (!unreadable.has(key))
        callLog.error({ key }, 'emergency call record unreadable (kept in astdb for an operator)');
      unreadable.add(key);
      return;
    }
    const workplace = entry.workplaceId ? await deps.workplace(entry.workplaceId) : undefined;
    const group = workplace ? await deps.group(workplace.companyId, workplace.groupId) : undefined;
    const answered = entry.dialStatus === 'ANSWER';
    deps.metrics.emergencyCall(entry.number, answered);
    if (workplace) {
      const { event, record } = emergencyOutputs(entry, workplace, group, now());
      deps.publish(event);
      deps.records([record]);
      callLog.warn(
        {
          workplaceId: workplace.id,
          companyId: workplace.companyId,
          device: entry.device,
          dialled: entry.dialled,
          number: entry.number,
          presented: entry.presented,
          location: event.type === 'emergency.call' ? event.location : undefined,
          dialStatus: entry.dialStatus,
          startedAt: entry.startedAt.toISOString(),
          late: event.type === 'emergency.call' ? event.late : undefined,
        },
        'emergency call',
      );
    } else {
      // a device of no (longer existing) workplace: still logged, with what Asterisk knew
      callLog.warn(
        {
          device: entry.device,
          accountcode: entry.workplaceId,
          number: entry.number,
          presented: entry.presented,
        },
        'emergency call from a device of no known workplace',
      );
    }
    handled.add(key);
    await deps.ari.channels.originate({
      endpoint: DELETE_ENDPOINT,
      app: deps.ari.app,
      appArgs: 'records',
      variables: { PBX_RECORD_KEY: key },
    });
  }

  async function scan(): Promise<void> {
    const channel = await deps.ari.channels.create({
      endpoint: READER_ENDPOINT,
      app: deps.ari.app,
      appArgs: 'records',
    });
    const read = async (expression: string): Promise<string> =>
      (await deps.ari.channels.getChannelVar({ channelId: channel.id, variable: expression })).value ?? '';
    try {
      const keys = (await read(`DB_KEYS(${EMERGENCY_DB_FAMILY})`)).split(',').filter((k) => k !== '');
      // forget what Asterisk has deleted meanwhile (the set stays as small as the backlog)
      for (const k of handled) if (!keys.includes(k)) handled.delete(k);
      for (const key of keys) {
        if (stopped) return;
        try {
          await handle(key);
        } catch (err) {
          log.warn({ err, key }, 'emergency call record not handled yet (retried)');
        }
      }
    } finally {
      await deps.ari.channels.hangup({ channelId: channel.id }).catch(() => {});
    }
  }

  let retry: NodeJS.Timeout | undefined;
  /** a scan was asked for while one ran: run once more after it (a record may be newer) */
  let again = false;
  function tick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = scan()
      .catch((err: unknown) => {
        // e.g. Asterisk away, or the reader channel released by a reconcile that ran at the same
        // connect: try again soon rather than at the next emergency call or the safety net
        log.debug({ err }, 'emergency call records not readable now');
        if (!stopped && !retry) {
          retry = setTimeout(() => {
            retry = undefined;
            tick();
          }, RETRY_MS);
          retry.unref();
        }
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  }

  const stopConnected = deps.ari.events.onConnected(tick);
  // a device channel that ends in [emergency] has just written its record (the h extension runs
  // before the channel is destroyed)
  const stopDestroyed = deps.ari.events.on('ChannelDestroyed', (event) => {
    const context = (event as { channel?: { dialplan?: { context?: string } } }).channel?.dialplan?.context;
    if (context === 'emergency') tick();
  });
  const timer = setInterval(tick, deps.pollMs ?? EMERGENCY_POLL_MS);
  timer.unref();
  tick();
  return () => {
    stopped = true;
    clearInterval(timer);
    if (retry) clearTimeout(retry);
    stopConnected();
    stopDestroyed();
  };
}
