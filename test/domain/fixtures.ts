/** Shared shapes of the ring-plan tests: dial templates and a workplace to vary. */
import type { Forwarding, Workplace } from '../../src/domain/model.js';

export const templates = { device: 'PJSIP/{endpoint}', external: 'PJSIP/{number}@trunk' };
export const NOW = '2026-11-25T07:00:00.000Z';

export function forwarding(over: Partial<Forwarding> = {}): Forwarding {
  return {
    always: { enabled: false },
    busy: { enabled: false },
    noAnswer: { enabled: false, ringSeconds: 20 },
    unreachable: { enabled: false },
    ...over,
  };
}

/** an active workplace with a desk phone and a mobile client, one parallel number, the voicebox on */
export function workplace(over: Partial<Workplace> = {}): Workplace {
  return {
    id: 'wp1',
    companyId: 'c1',
    groupId: 'g1',
    firstName: 'Erika',
    lastName: 'Mustermann',
    email: 'erika@example.com',
    username: 'erika.mustermann',
    number: '+4930123456',
    extension: '3456',
    language: 'de',
    timezone: 'Europe/Berlin',
    status: 'active',
    callerIdPresentation: 'number',
    devices: [
      { id: 'd1', type: 'deskphone', sipUsername: 'erika-1', sipPassword: 'x', createdAt: NOW },
      { id: 'd2', type: 'mobile', sipUsername: 'erika-2', sipPassword: 'x', createdAt: NOW },
    ],
    parallelRinging: { enabled: true, numbers: ['+491701234567'], answerConfirmation: false },
    forwarding: forwarding(),
    voicebox: { enabled: true },
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}
