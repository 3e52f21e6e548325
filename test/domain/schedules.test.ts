import { describe, expect, it } from 'vitest';
import {
  localTimeAt,
  scheduleStateAt,
  validateSchedule,
  type Schedule,
  type ScheduleInput,
} from '../../src/domain/schedules.js';

type Rules = Pick<Schedule, 'timezone' | 'week' | 'holidays' | 'closedDays'>;

const officeHours: Rules = {
  week: {
    mon: [
      { from: '08:00', to: '12:00' },
      { from: '13:00', to: '17:00' },
    ],
    tue: [{ from: '08:00', to: '17:00' }],
    wed: [{ from: '08:00', to: '17:00' }],
    thu: [{ from: '08:00', to: '17:00' }],
    fri: [{ from: '08:00', to: '14:00' }],
  },
  holidays: { country: 'DE', state: 'BY' },
  closedDays: [{ from: '2026-12-24', to: '2026-12-31', name: 'Betriebsferien' }],
};

const at = (iso: string) => Date.parse(iso);

describe('a schedule is open by the wall clock of its time zone', () => {
  it.each([
    // [instant (UTC), expected open, reason]
    ['2026-12-07T07:00:00Z', true, 'opening-hours'], // Monday 08:00 in Berlin (CET, UTC+1)
    ['2026-12-07T06:59:00Z', false, 'outside-hours'], // Monday 07:59
    ['2026-12-07T11:30:00Z', false, 'outside-hours'], // Monday 12:30, lunch
    ['2026-12-07T15:59:00Z', true, 'opening-hours'], // Monday 16:59
    ['2026-12-07T16:00:00Z', false, 'outside-hours'], // Monday 17:00: "to" is exclusive
    ['2026-12-11T12:59:00Z', true, 'opening-hours'], // Friday 13:59
    ['2026-12-11T13:00:00Z', false, 'outside-hours'], // Friday 14:00
    ['2026-12-12T10:00:00Z', false, 'outside-hours'], // Saturday
    ['2026-07-06T06:00:00Z', true, 'opening-hours'], // Monday 08:00 in summer (CEST, UTC+2)
    ['2026-07-06T05:59:00Z', false, 'outside-hours'], // Monday 07:59 CEST
  ] as const)('%s → open %s (%s)', (iso, open, reason) => {
    const state = scheduleStateAt(officeHours, at(iso), 'Europe/Berlin');
    expect(state).toMatchObject({ open, reason });
  });

  it('the same instant is another local day elsewhere: the schedule zone beats the fallback', () => {
    // Monday 2026-12-07 23:30 UTC is Tuesday 08:30 in Tokyo and Tuesday 00:30 in Berlin
    const tokyo = { ...officeHours, timezone: 'Asia/Tokyo' };
    expect(scheduleStateAt(tokyo, at('2026-12-07T23:30:00Z'), 'Europe/Berlin')).toMatchObject({
      open: true,
      day: 'tue',
    });
    expect(scheduleStateAt(officeHours, at('2026-12-07T23:30:00Z'), 'Europe/Berlin')).toMatchObject({
      open: false,
      day: 'tue',
      localTime: '00:30',
    });
  });
});

describe('daylight-saving nights', () => {
  const sundayNight: Rules = {
    week: { sun: [{ from: '02:00', to: '03:00' }] },
    closedDays: [],
  };

  it('the night clocks go forward (2026-03-29, Berlin): 02:00–03:00 never happens', () => {
    expect(localTimeAt(at('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toMatchObject({ minutes: 1 * 60 + 59 });
    expect(localTimeAt(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toMatchObject({ minutes: 3 * 60 });
    expect(scheduleStateAt(sundayNight, at('2026-03-29T00:59:00Z'), 'Europe/Berlin').open).toBe(false);
    expect(scheduleStateAt(sundayNight, at('2026-03-29T01:00:00Z'), 'Europe/Berlin').open).toBe(false);
  });

  it('the night clocks go back (2026-10-25, Berlin): 02:30 happens twice, open both times', () => {
    const first = at('2026-10-25T00:30:00Z'); // 02:30 CEST
    const second = at('2026-10-25T01:30:00Z'); // 02:30 CET
    for (const instant of [first, second]) {
      expect(localTimeAt(instant, 'Europe/Berlin')).toMatchObject({ date: '2026-10-25', minutes: 150 });
      expect(scheduleStateAt(sundayNight, instant, 'Europe/Berlin').open).toBe(true);
    }
    expect(scheduleStateAt(sundayNight, at('2026-10-25T02:00:00Z'), 'Europe/Berlin').open).toBe(false);
  });

  it('an overnight interval ("22:00–06:00") runs into the next day, across the DST switch too', () => {
    const nights: Rules = { week: { sat: [{ from: '22:00', to: '06:00' }] }, closedDays: [] };
    // Saturday 2026-03-28 22:00 CET … Sunday 06:00 CEST
    expect(scheduleStateAt(nights, at('2026-03-28T21:00:00Z'), 'Europe/Berlin')).toMatchObject({
      open: true,
      day: 'sat',
    });
    expect(scheduleStateAt(nights, at('2026-03-29T03:59:00Z'), 'Europe/Berlin')).toMatchObject({
      open: true,
      day: 'sat',
    });
    expect(scheduleStateAt(nights, at('2026-03-29T04:00:00Z'), 'Europe/Berlin').open).toBe(false);
    expect(scheduleStateAt(nights, at('2026-03-28T20:59:00Z'), 'Europe/Berlin').open).toBe(false);
  });

  it('"24:00" closes at midnight', () => {
    const late: Rules = { week: { fri: [{ from: '18:00', to: '24:00' }] }, closedDays: [] };
    expect(scheduleStateAt(late, at('2026-12-11T22:59:00Z'), 'Europe/Berlin').open).toBe(true);
    expect(scheduleStateAt(late, at('2026-12-11T23:00:00Z'), 'Europe/Berlin').open).toBe(false);
  });
});

describe('holidays per federal state and closed days', () => {
  const weekdays: Rules = {
    week: Object.fromEntries(
      (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((d) => [d, [{ from: '00:00', to: '24:00' }]]),
    ),
    closedDays: [],
  };
  const inState = (state: string): Rules => ({ ...weekdays, holidays: { country: 'DE', state } });

  it.each([
    // [local date at noon, state, closed by a holiday?, its name]
    ['2026-06-04', 'BY', true, 'Fronleichnam'],
    ['2026-06-04', 'BE', false, undefined],
    ['2027-03-08', 'BE', true, 'Internationaler Frauentag'],
    ['2027-03-08', 'BY', false, undefined],
    ['2026-11-18', 'SN', true, 'Buß- und Bettag'],
    ['2026-11-18', 'NW', false, undefined],
    ['2026-10-03', 'HH', true, 'Tag der Deutschen Einheit'], // Saturday: closed anyway, named as holiday
    ['2026-04-03', 'NW', true, 'Karfreitag'],
    ['2026-12-25', 'BE', true, '1. Weihnachtstag'],
  ] as const)('%s in %s: holiday %s', (date, state, holiday, name) => {
    const state_ = scheduleStateAt(inState(state), at(`${date}T11:00:00Z`), 'Europe/Berlin');
    if (holiday) expect(state_).toEqual({ open: false, reason: 'holiday', name, date });
    else expect(state_.reason).not.toBe('holiday');
  });

  it('a holiday is a local date: 23:30 UTC on Christmas Eve is Christmas Day in Berlin', () => {
    const rules = inState('BE');
    expect(scheduleStateAt(rules, at('2026-12-24T23:30:00Z'), 'Europe/Berlin')).toMatchObject({
      reason: 'holiday',
      date: '2026-12-25',
    });
    expect(
      scheduleStateAt({ ...rules, timezone: 'UTC' }, at('2026-12-24T23:30:00Z'), 'Europe/Berlin'),
    ).toMatchObject({ open: true });
  });

  it('a company closed day beats opening hours and holidays; a range is inclusive', () => {
    expect(scheduleStateAt(officeHours, at('2026-12-28T09:00:00Z'), 'Europe/Berlin')).toEqual({
      open: false,
      reason: 'closed-day',
      name: 'Betriebsferien',
      date: '2026-12-28',
    });
    expect(scheduleStateAt(officeHours, at('2026-12-31T15:00:00Z'), 'Europe/Berlin')).toMatchObject({
      reason: 'closed-day',
    });
    // Christmas Day lies in the range: the company's name for it wins
    expect(scheduleStateAt(officeHours, at('2026-12-25T09:00:00Z'), 'Europe/Berlin')).toMatchObject({
      reason: 'closed-day',
    });
    expect(scheduleStateAt(officeHours, at('2027-01-04T09:00:00Z'), 'Europe/Berlin')).toMatchObject({
      open: true,
    });
  });

  it('a holiday closes the tail of an overnight interval that began the evening before', () => {
    const nights: Rules = {
      week: { wed: [{ from: '20:00', to: '04:00' }] },
      holidays: { country: 'DE', state: 'BY' },
      closedDays: [],
    };
    // Wednesday 2026-06-03 20:00 … Thursday 04:00; Thursday is Fronleichnam in Bavaria
    expect(scheduleStateAt(nights, at('2026-06-03T23:00:00Z'), 'Europe/Berlin')).toMatchObject({
      reason: 'holiday', // Thursday 01:00
    });
    expect(scheduleStateAt(nights, at('2026-06-03T19:00:00Z'), 'Europe/Berlin').open).toBe(true);
  });
});

describe('validation names every bad field', () => {
  const base: ScheduleInput = { name: 'Büro', week: {}, closedDays: [] };

  it('accepts a plain office week', () => {
    expect(validateSchedule({ ...base, ...officeHours })).toEqual([]);
  });

  it('refuses bad times, empty and overlapping intervals, unknown states and zones, bad dates', () => {
    const issues = validateSchedule({
      name: ' ',
      timezone: 'Mars/Olympus',
      week: {
        mon: [
          { from: '08:00', to: '12:00' },
          { from: '11:30', to: '13:00' },
        ],
        tue: [{ from: '8:00', to: '25:00' }],
        wed: [{ from: '09:00', to: '09:00' }],
        thu: [{ from: '24:00', to: '02:00' }],
      },
      holidays: { country: 'DE', state: 'XX' },
      closedDays: [
        { from: '2026-12-31', to: '2026-12-24', name: 'x' },
        { from: '24.12.2026', name: '' },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual([
      'name',
      'timezone',
      'week.mon.1',
      'week.tue.0.from',
      'week.tue.0.to',
      'week.wed.0.to',
      'week.thu.0.from',
      'holidays.state',
      'closedDays.0.to',
      'closedDays.1.from',
      'closedDays.1.name',
    ]);
    expect(issues.find((i) => i.path === 'week.mon.1')?.message).toBe('overlaps 08:00–12:00');
  });
});
