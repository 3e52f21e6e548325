import type { Workplace } from '../../src/domain/model.js';

/** A complete workplace with one desk phone; override what a test is about. */
export function workplaceFixture(over: Partial<Workplace> = {}): Workplace {
  const now = '2026-11-25T07:00:00.000Z';
  return {
    id: 'wp-1',
    companyId: 'c-1',
    groupId: 'g-1',
    firstName: 'Erika',
    lastName: 'Mustermann',
    email: 'erika@example.com',
    username: 'erika.mustermann',
    number: '+4930123456',
    extension: '3456',
    language: 'de',
    timezone: 'Europe/Berlin',
    status: 'pending',
    callerIdPresentation: 'number',
    devices: [
      {
        id: 'd-1',
        type: 'deskphone',
        model: 'Yealink T54W',
        sipUsername: 'erika-1',
        sipPassword: 'S3cret-pass-1',
        createdAt: now,
      },
    ],
    parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
    forwarding: {
      always: { enabled: false },
      busy: { enabled: false },
      noAnswer: { enabled: false, ringSeconds: 20 },
      unreachable: { enabled: false },
    },
    voicebox: { enabled: false },
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}
