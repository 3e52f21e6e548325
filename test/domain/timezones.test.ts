import { describe, expect, it } from 'vitest';
import { isValidTimezone, validateTimezone } from '../../src/domain/timezones.js';

describe('isValidTimezone', () => {
  it.each([
    'Europe/Berlin',
    'UTC',
    'Etc/UTC',
    'America/New_York',
    'Asia/Kolkata',
    'Asia/Calcutta',
    'Europe/Kyiv',
    'Europe/Kiev',
    'Europe/Vienna',
  ])('%s is valid', (tz) => {
    expect(isValidTimezone(tz)).toBe(true);
    expect(validateTimezone(tz)).toEqual([]);
  });
  it.each([
    '',
    'Berlin',
    'europe/berlin',
    'Europe/Atlantis',
    'GMT+1',
    ' Europe/Berlin',
    'Europe/Berlin ',
    'Etc/GMT+99',
    'Mars/Olympus_Mons',
    '+01:00',
  ])('%j is invalid', (tz) => {
    expect(isValidTimezone(tz)).toBe(false);
    expect(validateTimezone(tz)).toHaveLength(1);
  });
});
