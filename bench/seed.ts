/**
 * The benchmark's configuration, written straight into the store (the API is measured on its
 * own): one company with a default blocking profile, one group, and
 *  - `ring` workplaces: 2 devices + 2 parallel-ringing numbers (the workplace-call scenario),
 *  - `voicebox` workplaces: forward always → voicebox (the voicebox scenario),
 *  - one Anywhere portal (company level, PIN required); its callers are the ring workplaces'
 *    first parallel numbers.
 * Numbers and endpoint names are derived from the index so the load process can rebuild them.
 */
import { randomUUID } from 'node:crypto';
import { newToken } from '../src/api/auth.js';
import { hashPin } from '../src/domain/pin.js';
import type { AnywherePortal, BlockingProfile, Company, Group, Workplace } from '../src/domain/model.js';
import type { PbxStore } from '../src/store/index.js';

export const BENCH_PIN = '4711';

export interface SeedPlan {
  ringWorkplaces: number;
  voiceboxWorkplaces: number;
  /** more portals for the API benchmark (one per load connection: no write conflicts) */
  apiPortals: number;
  /** workplaces with ONE desk phone and ONE parallel number (the real-Asterisk scenario) */
  deskWorkplaces?: number;
}

export interface Seeded {
  companyId: string;
  groupId: string;
  portalId: string;
  portalNumber: string;
  apiPortalIds: string[];
  blockingProfileIds: string[];
  /** a company admin token for the API benchmark (stored hashed, like the API does) */
  adminToken: string;
  ring: Array<{ id: string; number: string; mobile: string }>;
  voicebox: Array<{ id: string; number: string }>;
  desk: Array<{ id: string; number: string }>;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Dial strings follow the default DIAL_DEVICE / DIAL_EXTERNAL templates. */
export const ringDevice = (i: number, d: 1 | 2) => `bw${i}d${d}`;
export const ringNumber = (i: number) => `+49301${pad(i, 5)}`;
export const ringMobile = (i: number) => `+49170${pad(i, 7)}`;
export const ringSecondMobile = (i: number) => `+49171${pad(i, 7)}`;
export const voiceboxNumber = (i: number) => `+49302${pad(i, 5)}`;
export const PORTAL_NUMBER = '+4930399999';
/** desk workplaces: bench/asterisk/extensions-bench.conf derives desk and mobile from the last 7 digits */
export const deskNumber = (i: number) => `+49304${pad(i, 5)}`;
export const deskEndpoint = (i: number) => `bd${deskNumber(i).slice(-7)}`;
export const deskMobile = (i: number) => `+49172${deskNumber(i).slice(-7)}`;

export async function seed(store: PbxStore, plan: SeedPlan): Promise<Seeded> {
  const now = new Date().toISOString();
  const companyId = randomUUID();
  const profile: BlockingProfile = {
    id: randomUUID(),
    companyId,
    name: 'no premium',
    incoming: [],
    outgoing: ['+49900', '+49137'],
    forwarded: ['+49900'],
    createdAt: now,
    updatedAt: now,
  };
  const company: Company = {
    id: companyId,
    name: 'Bench GmbH',
    mobileIntegration: false,
    createdAt: now,
    updatedAt: now,
  };
  await store.companies.put(company);
  await store.blockingProfiles.put(profile);
  await store.companies.put({ ...company, defaultBlockingProfileId: profile.id });
  const group: Group = {
    id: randomUUID(),
    companyId,
    name: 'Berlin',
    timezone: 'Europe/Berlin',
    numberRanges: [{ first: '+4930100000', last: '+4930499999' }],
    isDefault: true,
    createdAt: now,
    updatedAt: now,
  };
  await store.groups.put(group);

  // one scrypt hash for every workplace: hashing thousands would only slow the set-up down
  const pinHash = hashPin(BENCH_PIN);
  const base = (i: number, prefix: string): Workplace => ({
    id: randomUUID(),
    companyId,
    groupId: group.id,
    firstName: 'Bench',
    lastName: `${prefix}${i}`,
    email: `${prefix}${i}@bench.example`,
    username: `${prefix}${pad(i, 6)}`,
    number: '',
    extension: '',
    language: 'de',
    timezone: 'Europe/Berlin',
    status: 'active',
    callerIdPresentation: 'number',
    devices: [],
    parallelRinging: { enabled: false, numbers: [], answerConfirmation: false },
    forwarding: {
      always: { enabled: false },
      busy: { enabled: true, target: 'voicebox' },
      noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 20 },
      unreachable: { enabled: false },
    },
    voicebox: { enabled: true, pinHash },
    createdAt: now,
    updatedAt: now,
  });

  const ring: Workplace[] = [];
  for (let i = 0; i < plan.ringWorkplaces; i++) {
    const device = (d: 1 | 2) => ({
      id: randomUUID(),
      type: 'deskphone' as const,
      model: 'Yealink T54W',
      sipUsername: ringDevice(i, d),
      sipPassword: randomUUID(),
      createdAt: now,
    });
    ring.push({
      ...base(i, 'ring'),
      number: ringNumber(i),
      extension: `2${pad(i, 4)}`,
      devices: [device(1), device(2)],
      parallelRinging: {
        enabled: true,
        numbers: [ringMobile(i), ringSecondMobile(i)],
        answerConfirmation: false,
      },
    });
  }
  const voicebox: Workplace[] = [];
  for (let i = 0; i < plan.voiceboxWorkplaces; i++) {
    voicebox.push({
      ...base(i, 'vbox'),
      number: voiceboxNumber(i),
      extension: `3${pad(i, 4)}`,
      forwarding: {
        always: { enabled: true, target: 'voicebox' },
        busy: { enabled: false },
        noAnswer: { enabled: false, ringSeconds: 20 },
        unreachable: { enabled: false },
      },
    });
  }
  const desk: Workplace[] = [];
  for (let i = 0; i < (plan.deskWorkplaces ?? 0); i++) {
    desk.push({
      ...base(i, 'desk'),
      number: deskNumber(i),
      extension: `4${pad(i, 4)}`,
      devices: [
        {
          id: randomUUID(),
          type: 'deskphone' as const,
          model: 'Yealink T54W',
          sipUsername: deskEndpoint(i),
          sipPassword: randomUUID(),
          createdAt: now,
        },
      ],
      parallelRinging: { enabled: true, numbers: [deskMobile(i)], answerConfirmation: false },
    });
  }
  const all = [...ring, ...voicebox, ...desk];
  for (let i = 0; i < all.length; i += 250) await store.workplaces.putMany(all.slice(i, i + 250));

  const portal: AnywherePortal = {
    id: randomUUID(),
    companyId,
    groupId: group.id,
    displayFirstName: 'Anywhere',
    displayLastName: 'Berlin',
    number: PORTAL_NUMBER,
    extension: '39999',
    timezone: 'Europe/Berlin',
    level: 'company',
    silentMode: false,
    pinRequired: true,
    createdAt: now,
    updatedAt: now,
  };
  await store.portals.put(portal);
  const apiPortalIds: string[] = [];
  for (let i = 0; i < plan.apiPortals; i++) {
    const extra: AnywherePortal = {
      ...portal,
      id: randomUUID(),
      displayLastName: `API ${i}`,
      number: `+49303${pad(i, 5)}`,
      extension: `38${pad(i, 3)}`,
    };
    await store.portals.put(extra);
    apiPortalIds.push(extra.id);
  }

  const { token, hash } = newToken();
  await store.tokens.create({ id: randomUUID(), companyId, role: 'admin', hash, createdAt: now });

  return {
    companyId,
    groupId: group.id,
    portalId: portal.id,
    portalNumber: PORTAL_NUMBER,
    apiPortalIds,
    blockingProfileIds: [profile.id],
    adminToken: token,
    ring: ring.map((w, i) => ({ id: w.id, number: w.number, mobile: ringMobile(i) })),
    voicebox: voicebox.map((w) => ({ id: w.id, number: w.number })),
    desk: desk.map((w) => ({ id: w.id, number: w.number })),
  };
}
