import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, decodeCsv, detectDelimiter, parseCsv } from '../../src/api/csv.js';

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

describe('decodeCsv and the delimiter', () => {
  const latin1 = Buffer.from([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72]); // "Müller" in Latin-1 / Windows-1252

  it('Windows-1252 bytes (Excel) decode to the right characters, never U+FFFD', () => {
    expect(decodeCsv(latin1)).toBe('Müller');
    // 0x80 is € in Windows-1252 (not a C1 control as in ISO-8859-1)
    expect(decodeCsv(Buffer.from([0x80, 0x20, 0x9a]))).toBe('€ š');
  });

  it('valid UTF-8 stays UTF-8, with or without BOM; UTF-16 with BOM', () => {
    expect(decodeCsv(Buffer.from('Müller', 'utf8'))).toBe('Müller');
    expect(decodeCsv(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Müller', 'utf8')]))).toBe(
      'Müller',
    );
    expect(decodeCsv(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Müller', 'utf16le')]))).toBe(
      'Müller',
    );
  });

  it('a declared legacy charset is used', () => {
    expect(decodeCsv(Buffer.from([0xa4]), 'text/csv; charset=iso-8859-15')).toBe('€');
    expect(decodeCsv(latin1, 'text/csv; charset=utf-8')).toBe('Müller');
  });

  it('semicolon and tab separated files (German Excel, "Unicode text") are read', () => {
    expect(detectDelimiter('a;b;c\n1,5;2;3')).toBe(';');
    expect(detectDelimiter('a\tb\n')).toBe('\t');
    expect(detectDelimiter('"x;y",b\n')).toBe(',');
    expect(parseCsv('a;b\n"1;x";2\n').map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1;x', '2'],
    ]);
  });
});
