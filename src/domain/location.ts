/**
 * A location (group): its postal address and network ranges, as pure rules. The address is what
 * an emergency call's record names as where the caller is; the networks are where devices of
 * workplaces restricted to the location may be used from (seed "Nomadische Nutzung").
 */
import { isIP } from 'node:net';

/** Bounds the endpoint ACL Asterisk checks on every request; a location has a handful of ranges. */
export const MAX_LOCATION_NETWORKS = 20;

/**
 * Every problem with a network range as the admin typed it: "203.0.113.0/24", "2001:db8::/48",
 * or a single address (a /32 or /128). Host bits set below the prefix ("203.0.113.7/24") are a
 * typing mistake more often than not, so they are refused rather than silently masked.
 */
export function validateCidr(input: string): string[] {
  if (typeof input !== 'string' || input.trim() === '') return ['is required'];
  const [address, prefix, ...rest] = input.trim().split('/');
  const family = isIP(address ?? '');
  if (rest.length > 0 || family === 0)
    return ['must be an IPv4 or IPv6 network in CIDR notation, e.g. 203.0.113.0/24'];
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return [];
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max)
    return [`the prefix length must be 0 to ${max} for an IPv${family} network`];
  if (Number(prefix) === 0) return ['must not be the whole internet (/0)'];
  if (hostBitsSet(address!, family === 4 ? 4 : 6, Number(prefix)))
    return [`has host bits set below /${prefix} (did you mean the network address?)`];
  return [];
}

/** The network in Asterisk's ACL form: address/prefix (a single address gets /32 or /128). */
export function normaliseCidr(input: string): string {
  const trimmed = input.trim();
  if (trimmed.includes('/')) return trimmed;
  return `${trimmed}/${isIP(trimmed) === 6 ? 128 : 32}`;
}

function hostBitsSet(address: string, family: 4 | 6, prefix: number): boolean {
  const bits = family === 4 ? ipv4Bits(address) : ipv6Bits(address);
  return bits.slice(prefix).includes('1');
}

function ipv4Bits(address: string): string {
  return address
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
}

function ipv6Bits(address: string): string {
  // expand "::" and an embedded IPv4 tail into eight 16-bit groups
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text =
      text.slice(0, -v4[1]!.length) +
      `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
}

/** One line for logs, events and the call list: "Hauptstraße 1, 10115 Berlin, DE". */
export function formatAddress(a: {
  street: string;
  postalCode: string;
  city: string;
  country: string;
}): string {
  return `${a.street}, ${a.postalCode} ${a.city}, ${a.country}`;
}
