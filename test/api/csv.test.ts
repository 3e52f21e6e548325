import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, parseCsv } from '../../src/api/csv.js';

describe('parseCsv (RFC 4180)', () => {
  it.each([
    [
      'simple',
      'a,b\n1,2\n',
      [
        [1, ['a', 'b']],
        [2, ['1', '2']],
      ],
    ],
    [
      'CRLF line ends',
      'a,b\r\n1,2\r\n',
      [
        [1, ['a', 'b']],
        [2, ['1', '2']],
      ],
    ],
    [
      'no final newline',
      'a,b\n1,2',
      [
        [1, ['a', 'b']],
        [2, ['1', '2']],
      ],
    ],
    [
      'quoted comma',
      'a\n"x,y"\n',
      [
        [1, ['a']],
        [2, ['x,y']],
      ],
    ],
    [
      'escaped quote',
      'a\n"say ""hi"""\n',
      [
        [1, ['a']],
        [2, ['say "hi"']],
      ],
    ],
    [
      'quoted newline keeps the start line',
      'a,b\n"line1\nline2",z\n3,4\n',
      [
        [1, ['a', 'b']],
        [2, ['line1\nline2', 'z']],
        [4, ['3', '4']],
      ],
    ],
    [
      'empty fields',
      'a,b,c\n,,\n',
      [
        [1, ['a', 'b', 'c']],
        [2, ['', '', '']],
      ],
    ],
    [
      'blank lines skipped, line numbers kept',
      'a\n\n1\n',
      [
        [1, ['a']],
        [3, ['1']],
      ],
    ],
    [
      'UTF-8 BOM',
      '\uFEFFa\n1\n',
      [
        [1, ['a']],
        [2, ['1']],
      ],
    ],
    [
      'umlauts',
      'a\nJürgen\n',
      [
        [1, ['a']],
        [2, ['Jürgen']],
      ],
    ],
    [
      'empty quoted field',
      'a,b\n"",x\n',
      [
        [1, ['a', 'b']],
        [2, ['', 'x']],
      ],
    ],
  ] as const)('%s', (_name, text, expected) => {
    expect(parseCsv(text).map((r) => [r.line, r.fields])).toEqual(expected);
  });

  it.each([
    ['unclosed quote', 'a\n"open\n', 2],
    ['quote inside unquoted field', 'a\nab"c\n', 2],
    ['text after closing quote', 'a\n"x"y\n', 2],
  ])('%s is a syntax error naming the line', (_name, text, line) => {
    try {
      parseCsv(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CsvSyntaxError);
      expect((err as CsvSyntaxError).line).toBe(line);
    }
  });
});
