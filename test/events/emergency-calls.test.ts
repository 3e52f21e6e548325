/**
 * The emergency call records (src/events/emergency-calls.ts): the key the dialplan writes is read
 * back into an event, a call-list line, a metric and a warn log line, and deleted only after.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Group, Workplace } from '../../src/domain/model.js';
import {
  DELETE_ENDPOINT,
  parseEmergencyEntry,
  watchEmergencyCalls,
  type EmergencyWatchDeps,
} from '../../src/events/emergency-calls.js';
import type { CallRecord, NewEvent } from '../../src/events/model.js';

const KEY = '1796671931-1796671931.0|112|0112|+493055501234|wp-1|erika-1|1796671991|ANSWER|55';
const workplace = { id: 'wp-1', companyId: 'c-1', groupId: 'g-1' } as Workplace;
const group = {
  id: 'g-1',
  address: { street: 'Alexanderplatz 1', postalCode: '10178', city: 'Berlin', country: 'DE' },
} as Group;

describe('emergency call records', () => {
  it('a key as the dialplan writes it', () => {
    expect(parseEmergencyEntry(KEY)).toMatchObject({
      callId: '1796671931.0',
      number: '112',
      dialled: '0112',
      presented: '+493055501234',
      workplaceId: 'wp-1',
      device: 'erika-1',
      dialStatus: 'ANSWER',
      answeredSeconds: 55,
    });
    expect(parseEmergencyEntry('garbage')).toBeUndefined();
    expect(parseEmergencyEntry(KEY.replace('|112|', '|113|'))).toBeUndefined();
  });

  it('each record becomes an event, a call-list line, a metric and a warn line, then is deleted', async () => {
    const published: NewEvent[] = [];
    const records: CallRecord[] = [];
    const metrics: Array<[string, boolean]> = [];
    const originated: Array<{ endpoint: string; variables?: Record<string, string> }> = [];
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    let keys = [KEY];
    let connected: () => void = () => {};
    const ari: EmergencyWatchDeps['ari'] = {
      app: 'pbx',
      channels: {
        create: async () => ({ id: 'reader' }) as never,
        getChannelVar: async ({ variable }) => ({
          value: variable.startsWith('DB_KEYS(') ? keys.join(',') : '',
        }),
        hangup: async () => {},
        originate: async (p) => {
          originated.push({ endpoint: p.endpoint, variables: p.variables });
          keys = keys.filter((k) => k !== p.variables?.PBX_RECORD_KEY);
          return { id: 'deleter' } as never;
        },
      },
      events: { onConnected: (l) => ((connected = l), () => {}), on: () => () => {} },
    };
    const stop = watchEmergencyCalls({
      ari,
      workplace: async (id) => (id === 'wp-1' ? workplace : undefined),
      group: async () => group,
      publish: (e) => published.push(e),
      records: (r) => records.push(...r),
      metrics: { emergencyCall: (n, a) => metrics.push([n, a]) },
      logger,
      now: () => new Date(1796671991_000 + 5 * 60_000),
    });
    connected();
    await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(published).toEqual([
      expect.objectContaining({
        type: 'emergency.call',
        companyId: 'c-1',
        workplaceId: 'wp-1',
        device: 'erika-1',
        dialled: '0112',
        number: '112',
        presented: '+493055501234',
        location: 'Alexanderplatz 1, 10178 Berlin, DE',
        answered: true,
        late: true,
      }),
    ]);
    expect(records).toEqual([
      expect.objectContaining({ id: '1796671931.0', outcome: 'emergency', to: '112', durationSeconds: 55 }),
    ]);
    expect(metrics).toEqual([['112', true]]);
    expect(lines.filter((l) => l.msg === 'emergency call')).toHaveLength(1);
    expect(originated).toEqual([{ endpoint: DELETE_ENDPOINT, variables: { PBX_RECORD_KEY: KEY } }]);
  });
});
