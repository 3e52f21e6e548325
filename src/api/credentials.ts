/**
 * SIP credentials of devices: generated passwords, the strength rule for admin-chosen ones,
 * SIP usernames, and the CSV export of a bulk regeneration. Pure functions except the
 * random source.
 */
import { randomBytes } from 'node:crypto';
import type { Device } from '../domain/model.js';
import { validateSipPassword } from '../domain/workplace-rules.js';

/**
 * 24 url-safe characters = 144 random bits; far beyond any online guessing. It starts with a
 * letter or digit so the CSV export never begins a cell with "-" (a spreadsheet formula).
 */
export function generateSipPassword(): string {
  for (;;) {
    const password = randomBytes(18).toString('base64url');
    if (/^[A-Za-z0-9]/.test(password)) return password;
  }
}

/**
 * Rules for a password an admin chooses: the domain's SIP password rule, plus two the API
 * needs: it must not contain the username, and it must not start with a spreadsheet formula
 * character (the bulk export is opened in spreadsheets and values are never altered).
 */
export function validateChosenSipPassword(password: string, username: string): string[] {
  const problems = validateSipPassword(password);
  if (username.length > 0 && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('must not contain the username');
  }
  if (/^[=+\-@]/.test(password))
    problems.push('must not start with = + - or @ (spreadsheets read it as a formula)');
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

/**
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF. Values are never altered
 * (a changed password would be a wrong password); the exported values cannot start with a
 * formula character because ids, usernames and passwords are generated or checked so.
 */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
