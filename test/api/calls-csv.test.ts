/**
 * The call list as CSV carries what the JSON does: read back with the import's own CSV reader,
 * each column holds the record's value (empty when the record has none).
 */
import { describe, expect, it } from 'vitest';
import { CALL_CSV_COLUMNS, callsToCsv } from '../../src/api/calls.js';
import { parseCsv } from '../../src/api/csv.js';
import type { CallRecord } from '../../src/events/model.js';

const plain: CallRecord = {
  id: '1764486001.42',
  companyId: 'c1',
  workplaceId: 'w1',
  direction: 'inbound',
  from: '+4989111222',
  fromDialled: '089111222',
  to: '+4930123410',
  toDialled: '+4930123410',
  startedAt: '2026-11-30T08:00:00.000Z',
  answeredAt: '2026-11-30T08:00:05.000Z',
  endedAt: '2026-11-30T08:01:07.000Z',
  durationSeconds: 62,
  outcome: 'answered',
  answeredBy: { kind: 'device', id: 'd1' },
  cause: 16,
};

function rows(items: CallRecord[]): Array<Record<string, string>> {
  const [header, ...lines] = parseCsv(callsToCsv(items)).map((r) => r.fields);
  expect(header).toEqual([...CALL_CSV_COLUMNS]);
  return lines.map((fields) => Object.fromEntries(header!.map((name, i) => [name, fields[i]!])));
}

describe('callsToCsv', () => {
  it('has an adopted column: trace or asterisk for a call that outlived a restart, empty otherwise', () => {
    const [asRecorded, fromTrace, rebuilt] = rows([
      plain,
      { ...plain, id: '1764486002.43', adopted: 'trace' },
      { ...plain, id: '1764486003.44', adopted: 'asterisk' },
    ]);
    expect(asRecorded).toMatchObject({ id: plain.id, adopted: '' });
    expect(fromTrace).toMatchObject({ id: '1764486002.43', adopted: 'trace' });
    expect(rebuilt).toMatchObject({ id: '1764486003.44', adopted: 'asterisk' });
  });

  it('writes every column of a full record', () => {
    const [row] = rows([{ ...plain, adopted: 'trace' }]);
    expect(row).toEqual({
      id: plain.id,
      workplaceId: 'w1',
      direction: 'inbound',
      from: '+4989111222',
      fromDialled: '089111222',
      to: '+4930123410',
      toDialled: '+4930123410',
      startedAt: plain.startedAt,
      answeredAt: plain.answeredAt,
      endedAt: plain.endedAt,
      durationSeconds: '62',
      outcome: 'answered',
      forwardedTo: '',
      pulledTo: '',
      answeredByKind: 'device',
      answeredBy: 'd1',
      cause: '16',
      adopted: 'trace',
    });
  });
});
