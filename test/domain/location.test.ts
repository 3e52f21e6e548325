import { describe, expect, it } from 'vitest';
import { formatAddress, normaliseCidr, validateCidr } from '../../src/domain/location.js';

describe('location networks (CIDR)', () => {
  it.each([
    '203.0.113.0/24',
    '10.0.0.0/8',
    '192.0.2.7',
    '192.0.2.7/32',
    '2001:db8::/48',
    '2001:db8::1',
    '::ffff:192.0.2.0/120',
  ])('%s is valid', (cidr) => expect(validateCidr(cidr)).toEqual([]));

  it.each([
    ['', 'is required'],
    ['203.0.113.0/33', 'the prefix length must be 0 to 32 for an IPv4 network'],
    ['2001:db8::/129', 'the prefix length must be 0 to 128 for an IPv6 network'],
    ['203.0.113.7/24', 'has host bits set below /24 (did you mean the network address?)'],
    ['2001:db8::1/48', 'has host bits set below /48 (did you mean the network address?)'],
    ['0.0.0.0/0', 'must not be the whole internet (/0)'],
    ['berlin-office', 'must be an IPv4 or IPv6 network in CIDR notation, e.g. 203.0.113.0/24'],
    ['300.1.1.1/8', 'must be an IPv4 or IPv6 network in CIDR notation, e.g. 203.0.113.0/24'],
    ['10.0.0.0/8/9', 'must be an IPv4 or IPv6 network in CIDR notation, e.g. 203.0.113.0/24'],
    ['10.0.0.0/x', 'the prefix length must be 0 to 32 for an IPv4 network'],
  ])('%s: %s', (cidr, message) => expect(validateCidr(cidr)).toEqual([message]));

  it('a single address becomes a /32 or /128', () => {
    expect(normaliseCidr(' 192.0.2.7 ')).toBe('192.0.2.7/32');
    expect(normaliseCidr('2001:db8::1')).toBe('2001:db8::1/128');
    expect(normaliseCidr('203.0.113.0/24')).toBe('203.0.113.0/24');
  });

  it('an address in one line', () => {
    expect(
      formatAddress({ street: 'Alexanderplatz 1', postalCode: '10178', city: 'Berlin', country: 'DE' }),
    ).toBe('Alexanderplatz 1, 10178 Berlin, DE');
  });
});
