/**
 * Keeps Asterisk's PJSIP objects (endpoint, auth, aor per device) in step with the
 * provisioned devices. The API calls it after a workplace's devices change; its result
 * decides the workplace status: ok → 'active', failure → 'failed' with the reason.
 */
import type { Workplace } from '../domain/model.js';

export type ProvisionResult = { ok: true } | { ok: false; reason: string };

export interface DeviceProvisioner {
  /** Pushes every device of `workplace`; removes the devices of `previous` that are gone. */
  sync(workplace: Workplace, previous?: Workplace): Promise<ProvisionResult>;
  /** Removes every device of the workplace from Asterisk (404s are fine). */
  remove(workplace: Workplace): Promise<void>;
}
