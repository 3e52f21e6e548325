/**
 * At controller start: push every workplace's devices again, so Asterisk (which may have been
 * rebuilt, or missed pushes while the controller was down) and Redis agree. Workplace status
 * follows the outcome, as it does for pushes from the API.
 */
import type { Logger } from 'pino';
import type { Workplace } from '../domain/model.js';
import type { Store } from '../store/store.js';
import type { DeviceProvisioner } from './contract.js';

export interface ResyncSummary {
  workplaces: number;
  ok: number;
  failed: Array<{ workplaceId: string; reason: string }>;
}

/** Pushes run a few at a time: enough to be quick, few enough not to crowd Asterisk's HTTP sessions. */
const CONCURRENCY = 8;

export async function resyncDevices(
  store: Store,
  provisioner: DeviceProvisioner,
  logger: Logger,
): Promise<ResyncSummary> {
  const log = logger.child({ component: 'device-resync' });
  const workplaces: Workplace[] = [];
  for (const company of await store.companies.list()) {
    workplaces.push(...(await store.workplaces.list(company.id)));
  }

  const summary: ResyncSummary = { workplaces: workplaces.length, ok: 0, failed: [] };
  let next = 0;
  async function worker(): Promise<void> {
    while (next < workplaces.length) {
      const workplace = workplaces[next++]!;
      const result = await provisioner.sync(workplace);
      if (result.ok) summary.ok++;
      else summary.failed.push({ workplaceId: workplace.id, reason: result.reason });
      await recordStatus(
        store,
        workplace,
        result.ok ? { status: 'active' } : { status: 'failed', statusReason: result.reason },
        log,
      );
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, workplaces.length) }, worker));
  log.info(
    { workplaces: summary.workplaces, ok: summary.ok, failed: summary.failed.length },
    'devices resynced',
  );
  return summary;
}

async function recordStatus(
  store: Store,
  workplace: Workplace,
  next: Pick<Workplace, 'status' | 'statusReason'>,
  log: Logger,
): Promise<void> {
  if (workplace.status === next.status && workplace.statusReason === next.statusReason) return;
  const updated: Workplace = { ...workplace, status: next.status, updatedAt: new Date().toISOString() };
  if (next.statusReason === undefined) delete updated.statusReason;
  else updated.statusReason = next.statusReason;
  try {
    await store.workplaces.put(updated, workplace);
  } catch (err) {
    // changed through the API meanwhile: that change triggered its own push
    log.warn(
      { workplaceId: workplace.id, err: err instanceof Error ? err.message : String(err) },
      'workplace status not updated',
    );
  }
}
