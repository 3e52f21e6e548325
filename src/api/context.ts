/**
 * What every resource plugin receives, and the small helpers they share: loading a company's
 * object or answering 404, timestamps and ids, optimistic-concurrency retries, and the
 * provisioner step that turns a workplace pending → active / failed.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { DeviceProvisioner } from '../devices/contract.js';
import type { Company, Workplace } from '../domain/model.js';
import { CompanyGoneError, StaleWriteError, type Store } from '../store/store.js';
import { ApiError, notFound } from './errors.js';
import type { RecordingFiles } from '../calls/engine/recording-files.js';
import type { Mailer } from '../mail/smtp.js';

export interface ApiDeps {
  store: Store;
  config: Config;
  logger: Logger;
  provisioner?: DeviceProvisioner;
  recordings?: RecordingFiles;
  /** sends invitation and reset mails (from SMTP_URL unless given) */
  mailer?: Mailer;
  /**
   * PIN changes per workplace and window (default 5 per 15 minutes): each costs up to three
   * scrypt runs, and a 4-digit PIN needs no more changes than that.
   */
  pinChangeLimit?: { max: number; windowMs: number };
  /**
   * The call controller's view of the call-through counters (routing explain), when it runs in
   * this process: it includes the call-throughs that ended and are not settled in the store yet
   */
  callThroughUsage?: Pick<Store['callThroughs'], 'usage'>;
}

export const DEFAULT_PIN_CHANGE_LIMIT = { max: 5, windowMs: 15 * 60_000 };

export const nowIso = (): string => new Date().toISOString();
export const newId = (): string => randomUUID();

export async function loadCompany(store: Store, cid: string): Promise<Company> {
  const company = await store.companies.get(cid);
  if (!company) throw notFound('company');
  return company;
}

export async function loadWorkplace(store: Store, cid: string, wid: string): Promise<Workplace> {
  const workplace = await store.workplaces.get(cid, wid);
  if (!workplace) throw notFound('workplace');
  return workplace;
}

/**
 * Runs a read-modify-write (which passes `previous` to the store) again when the store says
 * the object changed meanwhile: the change is re-applied to the fresh object, so two PATCHes
 * of different fields both land. After a few lost races the StaleWriteError becomes a 409.
 */
export async function retryOnStale<T>(attempt: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StaleWriteError) || i >= attempts) throw err;
    }
  }
}

/**
 * Read-modify-write of one workplace with put(next, previous); a concurrent writer makes the
 * store throw StaleWriteError and we re-read and re-apply (a few times, then give up → 409).
 * `change` may throw ApiError to refuse; it returns the new workplace (or the same to skip).
 */
export async function updateWorkplace(
  store: Store,
  cid: string,
  wid: string,
  change: (current: Workplace) => Workplace | Promise<Workplace>,
): Promise<{ next: Workplace; previous: Workplace }> {
  for (let attempt = 1; ; attempt++) {
    const previous = await loadWorkplace(store, cid, wid);
    const next = await change(previous);
    if (next === previous) return { next, previous };
    try {
      await store.workplaces.put(next, previous);
      return { next, previous };
    } catch (err) {
      if (!(err instanceof StaleWriteError) || attempt >= 3) throw err;
    }
  }
}

/**
 * Pushes the workplace's devices to Asterisk and records the outcome as its status.
 * Without a provisioner (no Asterisk wired) the workplace stays pending.
 */
export async function provisionWorkplace(
  deps: ApiDeps,
  workplace: Workplace,
  previous?: Workplace,
): Promise<Workplace> {
  const { provisioner, store, logger } = deps;
  if (!provisioner) return workplace;
  let result: Awaited<ReturnType<DeviceProvisioner['sync']>>;
  try {
    result = await provisioner.sync(workplace, previous);
  } catch (err) {
    logger.error({ err, workplaceId: workplace.id }, 'device provisioning threw');
    result = { ok: false, reason: 'device provisioning failed unexpectedly' };
  }
  // re-read: call features may have been edited while provisioning ran
  let next: Workplace;
  try {
    ({ next } = await updateWorkplace(store, workplace.companyId, workplace.id, (current) => {
      const { statusReason: _dropped, ...rest } = current;
      return result.ok
        ? { ...rest, status: 'active', updatedAt: nowIso() }
        : { ...rest, status: 'failed', statusReason: result.reason, updatedAt: nowIso() };
    }));
  } catch (err) {
    // deleted (with its company) while its devices were pushed: take the devices back out
    if ((err instanceof ApiError && err.statusCode === 404) || err instanceof CompanyGoneError) {
      await provisioner
        .remove(workplace)
        .catch((e: unknown) =>
          logger.warn(
            { err: e, workplaceId: workplace.id },
            'removing the devices of a deleted workplace failed',
          ),
        );
    }
    throw err;
  }
  if (!result.ok)
    logger.warn({ workplaceId: workplace.id, reason: result.reason }, 'workplace provisioning failed');
  return next;
}

/** What a device's PJSIP endpoint carries of its workplace (src/devices/pjsip-objects.ts). */
const PUSHED_FIELDS = [
  'number',
  'callerIdPresentation',
  'firstName',
  'lastName',
  'extension',
  'language',
  'nomadicUse',
] as const;

/**
 * After a change of workplace settings: push the devices again when the endpoint carries one of
 * the changed fields — above all the number Asterisk presents on emergency calls by itself.
 * A pending workplace is pushed when it is provisioned.
 */
export async function repushIfPushedFieldsChanged(
  deps: ApiDeps,
  previous: Workplace,
  next: Workplace,
): Promise<Workplace> {
  if (!deps.provisioner || next.status === 'pending') return next;
  if (!PUSHED_FIELDS.some((f) => previous[f] !== next[f])) return next;
  return provisionWorkplace(deps, next, previous);
}

/** Push every workplace of a company again (its main number or a location changed). */
export async function repushWorkplaces(
  deps: ApiDeps,
  companyId: string,
  which: (w: Workplace) => boolean = () => true,
): Promise<void> {
  if (!deps.provisioner) return;
  for (const workplace of await deps.store.workplaces.list(companyId)) {
    if (workplace.status !== 'pending' && which(workplace)) await provisionWorkplace(deps, workplace);
  }
}
