import { describe, expect, it } from 'vitest';
import {
  csvField,
  generateSipPassword,
  nextSipUsername,
  toCsv,
  validateChosenSipPassword,
} from '../../src/api/credentials.js';
import type { Device } from '../../src/domain/model.js';

const device = (sipUsername: string): Device => ({
  id: sipUsername,
  type: 'desktop',
  sipUsername,
  sipPassword: 'x',
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('SIP credentials', () => {
  it('generated passwords are long, random and start with a letter or digit', () => {
    const a = generateSipPassword();
    const b = generateSipPassword();
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(24);
    for (let i = 0; i < 200; i++) {
      const p = generateSipPassword();
      expect(p).toMatch(/^[A-Za-z0-9]/);
    }
  });

  it.each([
    ['Str0ng!Passw0rd', []],
    ['short1A!', ['12 to 64']],
    ['erika.mustermann-X1', ['username']],
    ['-Str0ng!Passw0rd', ['formula']],
    ['=Str0ng!Passw0rd', ['formula']],
  ])('validateChosenSipPassword(%j)', (password, fragments) => {
    const problems = validateChosenSipPassword(password, 'erika.mustermann');
    expect(problems).toHaveLength(fragments.length);
    fragments.forEach((f, i) => expect(problems[i]).toContain(f));
  });

  it.each([
    [[], 'erika-1'],
    [['erika-1'], 'erika-2'],
    [['erika-1', 'erika-5'], 'erika-6'],
    [['erika-3'], 'erika-4'],
  ])('nextSipUsername after %j is %s', (existing, expected) => {
    expect(nextSipUsername('erika', existing.map(device))).toBe(expected);
  });

  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
  ])('csvField(%j) = %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('toCsv writes a header and CRLF rows', () => {
    expect(toCsv(['a', 'b'], [['1', '2']])).toBe('a,b\r\n1,2\r\n');
  });
});
