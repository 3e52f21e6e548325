import { describe, expect, it } from 'vitest';
import { issuesAt, joinPath, nestIssues } from '../../src/domain/validation.js';

describe('validation helpers', () => {
  it('issuesAt attaches the path to every message', () => {
    expect(issuesAt('username', ['too short', 'bad char'])).toEqual([
      { path: 'username', message: 'too short' },
      { path: 'username', message: 'bad char' },
    ]);
  });
  it('issuesAt of no messages is no issues', () => {
    expect(issuesAt('username', [])).toEqual([]);
  });
  it.each([
    [['a', 0, 'b'], 'a.0.b'],
    [['', 'b'], 'b'],
    [['rows', 3], 'rows.3'],
  ] as const)('joinPath(%j) = %s', (segments, expected) => {
    expect(joinPath(...segments)).toBe(expected);
  });
  it('nestIssues prefixes existing paths', () => {
    expect(
      nestIssues('rows.2', [
        { path: 'number', message: 'x' },
        { path: '', message: 'y' },
      ]),
    ).toEqual([
      { path: 'rows.2.number', message: 'x' },
      { path: 'rows.2', message: 'y' },
    ]);
  });
});
