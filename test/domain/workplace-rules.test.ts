import { describe, expect, it } from 'vitest';
import {
  defaultExtension,
  MAX_DEVICES,
  MAX_PARALLEL_NUMBERS,
  RING_SECONDS,
  validateDeviceCount,
  validateEmail,
  validateExtension,
  validateFirstName,
  validateLastName,
  validateRingSeconds,
  validateSipPassword,
  validateUsername,
} from '../../src/domain/workplace-rules.js';

describe('constants from the seeds', () => {
  it('match the seed and SPEC figures', () => {
    expect(MAX_DEVICES).toBe(6);
    expect(MAX_PARALLEL_NUMBERS).toBe(5);
    expect(RING_SECONDS).toEqual({ min: 5, max: 120, default: 20 });
  });
});

describe('validateUsername', () => {
  it.each([
    'erika',
    'erika.mustermann',
    'e_mustermann',
    'max-muster',
    'a1.b2-c3_d4',
    '12345',
    'x'.repeat(64),
  ])('%s is valid', (u) => {
    expect(validateUsername(u)).toEqual([]);
  });

  it.each([
    ['', /required/],
    ['erik', /at least 5/],
    ['x'.repeat(65), /at most 64/],
    ['Erika.Muster', /lowercase/],
    ['jürgen', /umlaut/],
    ['strauß', /umlaut/],
    ['erika muster', /only lowercase letters/],
    ['erika@muster', /only lowercase letters/],
    ['.erika', /start and end/],
    ['erika_', /start and end/],
    ['-erika', /start and end/],
    ['erika..muster', /both sides/],
    ['erika._muster', /both sides/],
    ['erika-.muster', /both sides/],
  ])('%j is invalid (%s)', (u, pattern) => {
    const problems = validateUsername(u);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('; ')).toMatch(pattern);
  });

  it('reports every problem at once', () => {
    // too short, uppercase, starts with a special character
    expect(validateUsername('_Ab')).toHaveLength(3);
  });
});

describe('validateFirstName / validateLastName', () => {
  it.each([
    ['Erika', 'Mustermann'],
    ['A'.repeat(23), 'B'.repeat(30)],
    ['Zoë', 'Müller-Lüdenscheidt'],
    ['Ééééééééééééééééééééééé', 'Ö'.repeat(30)], // counted as characters, not UTF-16 units or bytes
  ])('%s %s is valid', (first, last) => {
    expect(validateFirstName(first)).toEqual([]);
    expect(validateLastName(last)).toEqual([]);
  });

  it.each([
    ['', /required/],
    ['   ', /required/],
    ['A'.repeat(24), /at most 23/],
    ['Erika\nMalory', /control characters/],
  ])('first name %j is invalid (%s)', (s, pattern) => {
    expect(validateFirstName(s).join('; ')).toMatch(pattern);
  });

  it.each([
    ['', /required/],
    ['B'.repeat(31), /at most 30/],
    ['Muster\tmann', /control characters/],
  ])('last name %j is invalid (%s)', (s, pattern) => {
    expect(validateLastName(s).join('; ')).toMatch(pattern);
  });

  it('accepts 30 characters for a last name but not for a first name', () => {
    expect(validateLastName('C'.repeat(30))).toEqual([]);
    expect(validateFirstName('C'.repeat(30))).not.toEqual([]);
  });
});

describe('validateEmail', () => {
  it.each(['erika@example.com', 'e.muster+pbx@mail.example.de'])('%s is valid', (s) => {
    expect(validateEmail(s)).toEqual([]);
  });
  it.each([
    '',
    'erika',
    'erika@',
    '@example.com',
    'erika@example',
    'er ika@example.com',
    `${'a'.repeat(250)}@x.de`,
  ])('%j is invalid', (s) => {
    expect(validateEmail(s)).not.toEqual([]);
  });
});

describe('defaultExtension', () => {
  it.each([
    ['+4930123456', '3456'],
    ['+4930120007', '0007'],
    ['+49 30 1234-5678', '5678'],
  ])('%s → %s', (n, expected) => {
    expect(defaultExtension(n)).toBe(expected);
  });
});

describe('validateExtension', () => {
  const plain = { mobileIntegration: false };
  const mobile = { mobileIntegration: true };

  it.each([
    ['3456', plain],
    ['3456', mobile],
    ['12', plain], // two digits only restricted with mobile integration
    ['0123', plain], // leading 0 only restricted with mobile integration
    ['123456', plain],
    ['1180', plain], // 118 rule is for five digits only
    ['118333', plain],
    ['1183', mobile],
    ['9110', plain], // only exactly 911
    ['700', plain],
    ['111', plain],
    ['11', plain],
  ] as const)('%s %j is valid', (ext, opts) => {
    expect(validateExtension(ext, opts)).toEqual([]);
  });

  it.each([
    ['', plain, /required/],
    ['12a4', plain, /only digits/],
    ['+3456', plain, /only digits/],
    ['1', plain, /2 to 6 digits/],
    ['1234567', plain, /2 to 6 digits/],
    ['77', plain, /77 or 78/],
    ['7711833', plain, /77 or 78/],
    ['7800', plain, /77 or 78/],
    ['110', plain, /110 or 112/],
    ['1123', plain, /110 or 112/],
    ['11012', plain, /110 or 112/],
    ['11833', plain, /118/],
    ['11800', mobile, /118/],
    ['911', plain, /911/],
    ['911', mobile, /911/],
    ['12', mobile, /two digits/],
    ['0123', mobile, /start with 0/],
    ['01', mobile, /two digits.*start with 0/],
  ] as const)('%j %j is invalid (%s)', (ext, opts, pattern) => {
    const problems = validateExtension(ext, opts);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('; ')).toMatch(pattern);
  });

  it('a default extension is checked like any other', () => {
    // +49301237711 → 7711 starts with 77: the admin must choose another extension
    expect(validateExtension(defaultExtension('+49301237711'), plain)).not.toEqual([]);
  });
});

describe('validateRingSeconds', () => {
  it.each([5, 20, 120])('%d is valid', (n) => {
    expect(validateRingSeconds(n)).toEqual([]);
  });
  it.each([4, 121, 0, -5, 20.5, Number.NaN])('%d is invalid', (n) => {
    expect(validateRingSeconds(n)).not.toEqual([]);
  });
});

describe('validateDeviceCount', () => {
  it.each([0, 1, 6])('%d devices are fine', (n) => {
    expect(validateDeviceCount(n)).toEqual([]);
  });
  it('7 devices are too many', () => {
    expect(validateDeviceCount(7)).toEqual(['at most 6 devices per workplace (got 7)']);
  });
});

describe('validateSipPassword', () => {
  it.each(['Xk3-vq9!Lm2p', 'a1'.repeat(32), 'correct1horse2battery'])('%s is valid', (pw) => {
    expect(validateSipPassword(pw)).toEqual([]);
  });
  it.each([
    ['', /required/],
    ['Short1pw', /12 to 64/],
    ['a1'.repeat(33), /12 to 64/],
    ['with space 1234', /printable ASCII/],
    ['pässwort12345', /printable ASCII/],
    ['semi;colon1234', /quotes/],
    ['quote"d12345678', /quotes/],
    ['onlyletterspassword', /letter and one digit/],
    ['123456789012', /letter and one digit/],
  ])('%j is invalid (%s)', (pw, pattern) => {
    expect(validateSipPassword(pw).join('; ')).toMatch(pattern);
  });
});
