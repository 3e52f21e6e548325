/**
 * SIP credentials of devices: generated passwords, the strength rule for admin-chosen ones,
 * SIP usernames, and the CSV export of a bulk regeneration. Pure functions except the
 * random source.
 */
import { randomBytes } from 'node:crypto';
import type { Device } from '../domain/model.js';

export const SIP_PASSWORD_MIN_LENGTH = 12;
/** 24 url-safe characters = 144 random bits; far beyond any online guessing. */
export function generateSipPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Rules for a password an admin chooses; empty when acceptable. */
export function validateSipPassword(password: string, username: string): string[] {
  const problems: string[] = [];
  if (password.length < SIP_PASSWORD_MIN_LENGTH) {
    problems.push(`must be at least ${SIP_PASSWORD_MIN_LENGTH} characters long`);
  }
  if (password.length > 128) problems.push('must be at most 128 characters long');
  if (!/^[\x21-\x7e]*$/.test(password)) problems.push('must use printable ASCII characters without spaces');
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) problems.push('must mix at least three of: lowercase, uppercase, digits, symbols');
  if (username.length > 0 && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('must not contain the username');
  }
  if (/(.)\1{3,}/.test(password)) problems.push('must not repeat one character four times in a row');
  return problems;
}

/**
 * The next SIP username of a workplace's device: `<username>-<n>` with n above every n used
 * so far. Usernames are globally unique and n is a number, so the result is globally unique.
 */
export function nextSipUsername(username: string, existing: readonly Device[]): string {
  const prefix = `${username}-`;
  const used = existing
    .map((d) => (d.sipUsername.startsWith(prefix) ? Number(d.sipUsername.slice(prefix.length)) : 0))
    .filter((n) => Number.isInteger(n));
  return `${prefix}${Math.max(0, ...used) + 1}`;
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF; formula triggers neutralised. */
export function csvField(value: string): string {
  // a leading = + - @ makes spreadsheets evaluate the cell (CSV injection)
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
