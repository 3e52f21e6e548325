import { randomUUID } from 'node:crypto';
import type { AnywherePortal, Group, Workplace } from '../../src/domain/model.js';

const now = '2026-01-01T00:00:00.000Z';

let groupCounter = 0;
/** A default group (a company's first group is always its default) with a range of its own. */
export function group(companyId: string, overrides: Partial<Group> = {}): Group {
  groupCounter++;
  const base = `+4940${String(groupCounter).padStart(6, '0')}`;
  return {
    id: randomUUID(),
    companyId,
    name: 'Sales',
    timezone: 'Europe/Berlin',
    numberRanges: [{ first: `${base}00`, last: `${base}99` }],
    isDefault: true,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

let counter = 0;
/** unique number/extension/username per call unless overridden */
export function workplace(companyId: string, overrides: Partial<Workplace> = {}): Workplace {
  counter++;
  return {
    id: randomUUID(),
    companyId,
    groupId: 'g1',
    firstName: 'Erika',
    lastName: 'Mustermann',
    email: 'erika@example.com',
    username: `user${counter}-${randomUUID().slice(0, 8)}`,
    number: `+49301${String(counter).padStart(6, '0')}`,
    extension: String(100 + counter),
    language: 'de',
    timezone: 'Europe/Berlin',
    status: 'active',
    callerIdPresentation: 'number',
    devices: [],
    parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
    forwarding: {
      always: { enabled: false },
      busy: { enabled: false },
      noAnswer: { enabled: false, ringSeconds: 20 },
      unreachable: { enabled: false },
    },
    voicebox: { enabled: true },
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function portal(companyId: string, overrides: Partial<AnywherePortal> = {}): AnywherePortal {
  counter++;
  return {
    id: randomUUID(),
    companyId,
    groupId: 'g1',
    displayFirstName: 'Anywhere',
    displayLastName: 'Portal',
    number: `+49302${String(counter).padStart(6, '0')}`,
    extension: String(100 + counter),
    timezone: 'Europe/Berlin',
    level: 'company',
    silentMode: false,
    pinRequired: true,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
