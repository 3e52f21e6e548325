import { describe, expect, it } from 'vitest';
import {
  hashPin,
  PIN_ATTEMPTS_PER_CALL,
  PIN_LOCK_AFTER,
  validatePinStrength,
  verifyPin,
  verifyPinAsync,
  hashPinAsync,
  previousPinProblem,
} from '../../src/domain/pin.js';

describe('PIN constants', () => {
  it('match SPEC', () => {
    expect(PIN_LOCK_AFTER).toBe(5);
    expect(PIN_ATTEMPTS_PER_CALL).toBe(3);
  });
});

describe('validatePinStrength', () => {
  const ctx = { extension: '3456', number: '+4930123456' };

  it.each(['4711', '0815', '9012', '8901', '13579', '24681357', '1231', '90210', '1201203'])(
    '%s is acceptable',
    (pin) => {
      expect(validatePinStrength(pin, ctx)).toEqual([]);
    },
  );

  it('works without any context', () => {
    expect(validatePinStrength('4711')).toEqual([]);
  });

  it.each([
    ['', /required/],
    ['47a1', /only digits/],
    [' 4711', /only digits/],
    ['471', /4 to 8 digits/],
    ['471147114', /4 to 8 digits/],
    ['1111', /single digit/],
    ['00000000', /single digit/],
    ['1234', /run/],
    ['4321', /run/],
    ['3456789', /run/],
    ['98765432', /run/],
    ['0123', /run/],
    ['1212', /group/],
    ['234234', /group/],
    ['123123', /group/],
    ['45454545', /group/],
    ['12341234', /group/],
  ])('%j is rejected (%s)', (pin, pattern) => {
    const problems = validatePinStrength(pin, {});
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('; ')).toMatch(pattern);
  });

  it.each([
    ['3456', /run|extension/],
    ['934561', /extension/],
    ['6543', /extension/], // the extension reversed
    ['165430', /extension/],
    ['3456', /end of the phone number/],
    ['23456', /end of the phone number/],
    ['0123456', /end of the phone number/],
  ])('%s is rejected with extension 3456 / number +4930123456 (%s)', (pin, pattern) => {
    expect(validatePinStrength(pin, ctx).join('; ')).toMatch(pattern);
  });

  it('end-of-number rule uses exactly the last pin.length digits', () => {
    expect(validatePinStrength('2345', { number: '+4930123458' })).not.toEqual([]); // run anyway
    expect(validatePinStrength('3458', { number: '+4930123458' })).toEqual([
      'must not be the end of the phone number',
    ]);
    expect(validatePinStrength('3459', { number: '+4930123458' })).toEqual([]);
    // a number shorter than the PIN cannot end with it
    expect(validatePinStrength('47114711', { number: '4711' })).not.toContain(
      'must not be the end of the phone number',
    );
  });

  it('reports every failing rule', () => {
    // 3456 is a run, the extension, and the end of the number
    expect(validatePinStrength('3456', ctx)).toHaveLength(3);
  });

  it('rejects the previous PIN and its reverse', () => {
    const previousPinHashes = [hashPin('4711')];
    expect(validatePinStrength('4711', { previousPinHashes })).toEqual([
      'must not be a previous PIN or a previous PIN reversed',
    ]);
    expect(validatePinStrength('1174', { previousPinHashes })).toEqual([
      'must not be a previous PIN or a previous PIN reversed',
    ]);
    expect(validatePinStrength('0815', { previousPinHashes })).toEqual([]);
  });
});

describe('hashPin / verifyPin', () => {
  it('round-trips and rejects other PINs', () => {
    const hash = hashPin('4711');
    expect(hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(verifyPin('4711', hash)).toBe(true);
    expect(verifyPin('4712', hash)).toBe(false);
    expect(verifyPin('', hash)).toBe(false);
  });

  it('salts every hash differently and never contains the PIN', () => {
    const a = hashPin('4711');
    const b = hashPin('4711');
    expect(a).not.toBe(b);
    expect(verifyPin('4711', b)).toBe(true);
    expect(a).not.toContain('4711');
  });

  it.each([
    '',
    '4711',
    'bcrypt$00$00',
    'scrypt$zz$zz',
    'scrypt$00',
    `scrypt$${'00'.repeat(16)}$${'00'.repeat(16)}`, // key of the wrong length
    `scrypt$${'00'.repeat(16)}$${'00'.repeat(32)}$extra`,
  ])('a malformed hash %j verifies nothing and does not throw', async (hash) => {
    expect(verifyPin('4711', hash)).toBe(false);
    expect(await verifyPinAsync('4711', hash)).toBe(false);
  });

  it('hashPinAsync produces hashes both verifiers accept; previousPinProblem finds a PIN and its reverse', async () => {
    const hash = await hashPinAsync('4711');
    expect(hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(verifyPin('4711', hash)).toBe(true);
    expect(await verifyPinAsync('4711', hash)).toBe(true);
    expect(await previousPinProblem('4711', [hash])).toBe(
      'must not be a previous PIN or a previous PIN reversed',
    );
    expect(await previousPinProblem('1174', [hashPin('9999'), hash])).toBeDefined();
    expect(await previousPinProblem('5820', [hash])).toBeUndefined();
    expect(await previousPinProblem('5820', [])).toBeUndefined();
  });

  it('verifyPinAsync (off the event loop) agrees with verifyPin', async () => {
    const hash = hashPin('4711');
    expect(await verifyPinAsync('4711', hash)).toBe(true);
    expect(await verifyPinAsync('4712', hash)).toBe(false);
    expect(await verifyPinAsync('', hash)).toBe(false);
    const last = hash.at(-1) === '0' ? '1' : '0';
    expect(await verifyPinAsync('4711', hash.slice(0, -1) + last)).toBe(false);
  });

  it('detects a tampered hash', () => {
    const hash = hashPin('4711');
    const last = hash.at(-1) === '0' ? '1' : '0';
    expect(verifyPin('4711', hash.slice(0, -1) + last)).toBe(false);
  });
});
