/**
 * Schedules: weekly opening hours, public holidays and a company's own closed days, and the one
 * question the call path asks of them — is it open at this instant? Pure: the instant and the
 * time zone come in, no clock is read.
 *
 * Opening hours are wall-clock times in the schedule's time zone (or the zone of the group,
 * workplace or portal it is applied to). Comparing wall-clock times is what people mean by
 * "Mo–Fr 08:00–17:00": on the night clocks go forward, 02:30 never happens; on the night they
 * go back, 02:30 happens twice and is inside "00:00–06:00" both times.
 *
 * Public holidays come from `date-holidays` (maintained per federal state: Fronleichnam in
 * Bavaria, Frauentag in Berlin, Reformationstag in the north …); only days of type "public"
 * close. A holiday or closed day closes the whole local day, including the part of an
 * overnight interval that began the evening before.
 */
import Holidays from 'date-holidays';
import { isValidTimezone } from './timezones.js';
import type { FieldIssue } from './validation.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** "08:00"–"17:30"; `to` may be "24:00"; `to` before `from` runs past midnight into the next day */
export interface OpeningInterval {
  from: string;
  to: string;
}

/** a company's own closed day(s): `from`–`to` inclusive, local dates ("2026-12-24") */
export interface ClosedDays {
  from: string;
  to?: string;
  name: string;
}

export interface Schedule {
  id: string;
  companyId: string;
  name: string;
  /** IANA zone; unset: the zone of the group, workplace or portal the schedule is applied to */
  timezone?: string;
  /** opening hours per weekday; a day without intervals is closed */
  week: Partial<Record<Weekday, OpeningInterval[]>>;
  /** the public holidays of a German federal state (ISO 3166-2 code without "DE-": "BY") close */
  holidays?: { country: 'DE'; state?: string };
  closedDays: ClosedDays[];
  createdAt: string;
  updatedAt: string;
}

export type ScheduleState =
  | { open: true; reason: 'opening-hours'; day: Weekday; interval: OpeningInterval }
  | { open: false; reason: 'holiday'; name: string; date: string }
  | { open: false; reason: 'closed-day'; name: string; date: string }
  | { open: false; reason: 'outside-hours'; day: Weekday; localTime: string };

/** The wall clock of an instant in a time zone. */
export interface LocalTime {
  /** YYYY-MM-DD */
  date: string;
  day: Weekday;
  /** minutes since local midnight */
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timezone, f);
  }
  return f;
}

const WEEKDAY_OF: Record<string, Weekday> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

export function localTimeAt(instantMs: number, timezone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timezone).formatToParts(new Date(instantMs))) parts[p.type] = p.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    day: WEEKDAY_OF[parts.weekday!]!,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]!;
}

/** public holidays per (state, year): date → name; date-holidays computes a year at a time */
const holidayCache = new Map<string, Map<string, string>>();
const MAX_CACHED_YEARS = 200;

function publicHolidays(country: string, state: string | undefined, year: number): Map<string, string> {
  const key = `${country}-${state ?? ''}-${year}`;
  let days = holidayCache.get(key);
  if (!days) {
    days = new Map();
    const hd = state ? new Holidays(country, state) : new Holidays(country);
    for (const h of hd.getHolidays(year) || []) {
      if (h.type === 'public' && !days.has(h.date.slice(0, 10))) days.set(h.date.slice(0, 10), h.name);
    }
    if (holidayCache.size >= MAX_CACHED_YEARS) holidayCache.clear();
    holidayCache.set(key, days);
  }
  return days;
}

/** The public holiday on a local date, if any. */
export function holidayOn(holidays: Schedule['holidays'], date: string): string | undefined {
  if (!holidays) return undefined;
  return publicHolidays(holidays.country, holidays.state, Number(date.slice(0, 4))).get(date);
}

function closedDayOn(closed: readonly ClosedDays[], date: string): ClosedDays | undefined {
  return closed.find((c) => c.from <= date && date <= (c.to ?? c.from));
}

/**
 * Whether `schedule` is open at `instantMs`, and why. `fallbackTimezone`: the zone of whatever the
 * schedule is applied to, used when the schedule names none.
 */
export function scheduleStateAt(
  schedule: Pick<Schedule, 'timezone' | 'week' | 'holidays' | 'closedDays'>,
  instantMs: number,
  fallbackTimezone: string,
): ScheduleState {
  const local = localTimeAt(instantMs, schedule.timezone ?? fallbackTimezone);
  const closed = closedDayOn(schedule.closedDays, local.date);
  if (closed) return { open: false, reason: 'closed-day', name: closed.name, date: local.date };
  const holiday = holidayOn(schedule.holidays, local.date);
  if (holiday) return { open: false, reason: 'holiday', name: holiday, date: local.date };
  for (const interval of schedule.week[local.day] ?? []) {
    const from = minutesOf(interval.from);
    const to = minutesOf(interval.to);
    const within = to > from ? from <= local.minutes && local.minutes < to : local.minutes >= from;
    if (within) return { open: true, reason: 'opening-hours', day: local.day, interval };
  }
  // the tail of yesterday's overnight interval ("22:00–06:00")
  const yesterday = previousDay(local.day);
  for (const interval of schedule.week[yesterday] ?? []) {
    const from = minutesOf(interval.from);
    const to = minutesOf(interval.to);
    if (to < from && local.minutes < to)
      return { open: true, reason: 'opening-hours', day: yesterday, interval };
  }
  return { open: false, reason: 'outside-hours', day: local.day, localTime: hhmm(local.minutes) };
}

let germanStates: ReadonlySet<string> | undefined;
/** the federal states date-holidays knows for Germany ("BY", "BE", …) */
export function germanStateCodes(): ReadonlySet<string> {
  germanStates ??= new Set(Object.keys(new Holidays().getStates('DE') ?? {}));
  return germanStates;
}

export type ScheduleInput = Pick<Schedule, 'name' | 'timezone' | 'week' | 'holidays' | 'closedDays'>;

/** Every problem of a schedule, each at its field. */
export function validateSchedule(s: ScheduleInput): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (s.name.trim() === '') issues.push({ path: 'name', message: 'is required' });
  if (s.timezone !== undefined && !isValidTimezone(s.timezone))
    issues.push({
      path: 'timezone',
      message: `unknown time zone ${JSON.stringify(s.timezone)}; use an IANA name like Europe/Berlin`,
    });
  for (const day of WEEKDAYS) {
    const intervals = s.week[day] ?? [];
    const spans: Array<[number, number, number]> = [];
    intervals.forEach((interval, i) => {
      const at = `week.${day}.${i}`;
      let ok = true;
      for (const end of ['from', 'to'] as const) {
        if (!TIME.test(interval[end]) || (end === 'from' && interval.from === '24:00')) {
          issues.push({ path: `${at}.${end}`, message: 'must be a time HH:MM (00:00–24:00)' });
          ok = false;
        }
      }
      if (!ok) return;
      const from = minutesOf(interval.from);
      const to = minutesOf(interval.to);
      if (from === to) {
        issues.push({ path: `${at}.to`, message: 'must differ from "from"' });
        return;
      }
      spans.push([from, to > from ? to : 24 * 60, i]);
    });
    spans.sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < spans.length; k++) {
      if (spans[k]![0] < spans[k - 1]![1])
        issues.push({
          path: `week.${day}.${spans[k]![2]}`,
          message: `overlaps ${s.week[day]![spans[k - 1]![2]]!.from}–${s.week[day]![spans[k - 1]![2]]!.to}`,
        });
    }
  }
  if (s.holidays?.state !== undefined && !germanStateCodes().has(s.holidays.state))
    issues.push({
      path: 'holidays.state',
      message: `unknown federal state; one of ${[...germanStateCodes()].join(', ')}`,
    });
  s.closedDays.forEach((c, i) => {
    if (!DATE.test(c.from))
      issues.push({ path: `closedDays.${i}.from`, message: 'must be a date YYYY-MM-DD' });
    if (c.to !== undefined && !DATE.test(c.to))
      issues.push({ path: `closedDays.${i}.to`, message: 'must be a date YYYY-MM-DD' });
    else if (c.to !== undefined && DATE.test(c.from) && c.to < c.from)
      issues.push({ path: `closedDays.${i}.to`, message: 'must not be before "from"' });
    if (c.name.trim() === '') issues.push({ path: `closedDays.${i}.name`, message: 'is required' });
  });
  return issues;
}
