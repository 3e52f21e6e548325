/**
 * Test support for the API: a real app over a real store (Redis by default, unique key prefix
 * per app), fakes for the injected ports (DeviceProvisioner, RecordingFiles), and small
 * request helpers over app.inject.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { inject } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { LoginThrottle } from '../../src/api/login-throttle.js';
import type { RecordingFiles } from '../../src/calls/engine/recording-files.js';
import type { Mailer } from '../../src/mail/smtp.js';
import { loadConfig } from '../../src/config.js';
import { createMemoryBackend } from '../../src/events/backend.js';
import type { DeviceProvisioner, ProvisionResult } from '../../src/devices/contract.js';
import type { Workplace } from '../../src/domain/model.js';
import type { Store } from '../../src/store/store.js';
import { createMemoryStore, createRedisStore } from '../../src/store/index.js';

async function createTestStore(kind: 'redis' | 'memory' | undefined): Promise<Store> {
  return kind === 'memory'
    ? createMemoryStore()
    : createRedisStore({ url: inject('redisUrl'), prefix: `test-api-${randomUUID()}:` });
}

export const ADMIN_TOKEN = 'platform-admin-token-for-tests-0123456789';

export class FakeProvisioner implements DeviceProvisioner {
  result: ProvisionResult = { ok: true };
  readonly synced: Array<{ workplace: Workplace; previous?: Workplace }> = [];
  readonly removed: Workplace[] = [];
  async sync(workplace: Workplace, previous?: Workplace): Promise<ProvisionResult> {
    this.synced.push({ workplace, ...(previous ? { previous } : {}) });
    return this.result;
  }
  async remove(workplace: Workplace): Promise<void> {
    this.removed.push(workplace);
  }
}

export class FakeRecordings implements RecordingFiles {
  readonly files = new Map<string, Buffer>();
  readonly deleted: string[] = [];
  async getFile(name: string) {
    const body = this.files.get(name);
    return body ? { body, contentType: 'audio/wav' } : undefined;
  }
  async delete(name: string) {
    this.deleted.push(name);
    this.files.delete(name);
  }
}

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  provisioner: FakeProvisioner;
  recordings: FakeRecordings;
  close(): Promise<void>;
}

export async function makeApp(
  opts: {
    storeKind?: 'redis' | 'memory';
    withProvisioner?: boolean;
    authFailures?: { maxFailures: number; windowMs: number };
    mailer?: Mailer;
    loginThrottle?: LoginThrottle;
    /** extra environment variables for loadConfig */
    env?: Record<string, string>;
    /** a pino logger to capture the app's log lines (default: silent) */
    logger?: pino.Logger;
    pinChangeLimit?: { max: number; windowMs: number };
  } = {},
): Promise<TestApp> {
  const store = await createTestStore(opts.storeKind);
  const provisioner = new FakeProvisioner();
  const recordings = new FakeRecordings();
  const config = loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent', COUNTRY_CODE: '49', ...opts.env });
  const app = await buildApp({
    store,
    config,
    logger: opts.logger ?? pino({ level: 'silent' }),
    ...(opts.withProvisioner === false ? {} : { provisioner }),
    recordings,
    telemetry: createMemoryBackend(pino({ level: 'silent' })),
    authFailures: opts.authFailures ?? { maxFailures: 100_000, windowMs: 60_000 },
    ...(opts.mailer ? { mailer: opts.mailer } : {}),
    ...(opts.loginThrottle ? { loginThrottle: opts.loginThrottle } : {}),
    ...(opts.pinChangeLimit ? { pinChangeLimit: opts.pinChangeLimit } : {}),
  });
  return {
    app,
    store,
    provisioner,
    recordings,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export type Res = LightMyRequestResponse & { body: string };

/** app.inject with a bearer token and a JSON body. */
export async function call(
  app: FastifyInstance,
  method: InjectOptions['method'],
  url: string,
  token?: string,
  body?: unknown,
  extra: Partial<InjectOptions> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(extra.headers ?? {}) },
    ...(body !== undefined ? { payload: body as object } : {}),
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'headers')),
  });
}

/** Expects the status (showing the body when it differs) and returns the parsed JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are read loosely; each test asserts the fields it needs
export async function expectStatus<T = any>(
  res: LightMyRequestResponse | Promise<LightMyRequestResponse>,
  status: number,
): Promise<T> {
  const r = await res;
  if (r.statusCode !== status) {
    throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
  }
  return (r.body ? JSON.parse(r.body) : undefined) as T;
}

export function issuePaths(body: { issues?: Array<{ path: string }> }): string[] {
  return [...new Set((body.issues ?? []).map((i) => i.path))].sort();
}

/** A company with an admin token and a group holding +4930123400..+4930123499. */
export async function seedCompany(
  app: FastifyInstance,
  name = 'Muster GmbH',
  range = { first: '+4930123400', last: '+4930123499' },
) {
  const company = await expectStatus(call(app, 'POST', '/v1/companies', ADMIN_TOKEN, { name }), 201);
  const { token: adminToken } = await expectStatus(
    call(app, 'POST', `/v1/companies/${company.id}/tokens`, ADMIN_TOKEN, { role: 'admin' }),
    201,
  );
  const group = await expectStatus(
    call(app, 'POST', `/v1/companies/${company.id}/groups`, adminToken, {
      name: 'Berlin',
      timezone: 'Europe/Berlin',
      numberRanges: [range],
    }),
    201,
  );
  return { company, adminToken: adminToken as string, group, base: `/v1/companies/${company.id}` };
}

let seq = 0;
export function workplaceBody(number: string, overrides: Record<string, unknown> = {}) {
  seq += 1;
  return {
    firstName: 'Erika',
    lastName: 'Mustermann',
    email: 'erika@example.com',
    username: `erika.m${seq}${Math.floor(Math.random() * 1e6)}`,
    number,
    ...overrides,
  };
}
