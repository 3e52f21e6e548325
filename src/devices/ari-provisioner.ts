/**
 * Pushes each device's PJSIP auth, aor and endpoint into Asterisk through ARI's dynamic
 * configuration (PUT/DELETE /asterisk/config/dynamic/res_pjsip/{type}/{id}). Asterisk keeps
 * them in its astdb (asterisk/sorcery.conf), so they survive a restart of Asterisk.
 */
import type { Logger } from 'pino';
import { isNotFound } from '../ari/contract.js';
import type { AriRestApi } from '../ari/generated/operations.js';
import type { Device, Workplace } from '../domain/model.js';
import type { DeviceProvisioner, ProvisionResult } from './contract.js';
import {
  CREATE_ORDER,
  DEFAULT_DEVICE_OPTIONS,
  DELETE_ORDER,
  deviceObjects,
  type DeviceObjectOptions,
  type DevicePlacement,
  type PjsipObjectType,
} from './pjsip-objects.js';

const CONFIG_CLASS = 'res_pjsip';

/** The part of the ARI client the provisioner needs (the full client satisfies it). */
export interface DynamicConfigAri {
  asterisk: Pick<AriRestApi['asterisk'], 'updateObject' | 'deleteObject'>;
}

export interface AriProvisionerOptions {
  logger: Logger;
  /** dialplan context of device calls; default 'from-devices' (asterisk/extensions.conf) */
  context?: string;
  codecs?: readonly string[];
  qualifySeconds?: number;
  /**
   * Where the workplace's devices are (company main number, the location's networks when its
   * use is restricted): looked up on every push, so a push always carries the current place.
   * Absent: the workplace's own number, no restriction.
   */
  placement?: (workplace: Workplace) => Promise<DevicePlacement>;
}

/** A failed push or delete, with what the operator needs to find it. */
class DeviceObjectError extends Error {
  constructor(
    device: Pick<Device, 'sipUsername' | 'type'>,
    action: 'push' | 'delete',
    objectType: PjsipObjectType,
    cause: unknown,
  ) {
    super(
      `device ${device.sipUsername} (${device.type}): ${action} of PJSIP ${objectType} failed: ${describe(cause)}`,
    );
    this.name = 'DeviceObjectError';
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function createAriProvisioner(ari: DynamicConfigAri, opts: AriProvisionerOptions): DeviceProvisioner {
  const objectOptions: DeviceObjectOptions = {
    context: opts.context ?? DEFAULT_DEVICE_OPTIONS.context,
    codecs: opts.codecs ?? DEFAULT_DEVICE_OPTIONS.codecs,
    qualifySeconds: opts.qualifySeconds ?? DEFAULT_DEVICE_OPTIONS.qualifySeconds,
  };
  const log = opts.logger.child({ component: 'device-provisioner' });

  async function pushDevice(workplace: Workplace, device: Device, placement: DevicePlacement): Promise<void> {
    const objects = deviceObjects(workplace, device, objectOptions, placement);
    for (const type of CREATE_ORDER) {
      const object = objects.find((o) => o.objectType === type)!;
      try {
        await ari.asterisk.updateObject({
          configClass: CONFIG_CLASS,
          objectType: object.objectType,
          id: object.id,
          fields: object.fields,
        });
      } catch (err) {
        throw new DeviceObjectError(device, 'push', type, err);
      }
    }
  }

  /** Deletes the three objects; an object that is already gone is fine. */
  async function deleteDevice(device: Pick<Device, 'sipUsername' | 'type'>): Promise<void> {
    for (const type of DELETE_ORDER) {
      try {
        await ari.asterisk.deleteObject({
          configClass: CONFIG_CLASS,
          objectType: type,
          id: device.sipUsername,
        });
      } catch (err) {
        if (!isNotFound(err)) throw new DeviceObjectError(device, 'delete', type, err);
      }
    }
  }

  return {
    async sync(workplace, previous) {
      const current = new Set(workplace.devices.map((d) => d.sipUsername));
      const known = new Set(previous?.devices.map((d) => d.sipUsername) ?? []);
      const gone = previous?.devices.filter((d) => !current.has(d.sipUsername)) ?? [];

      let placement: DevicePlacement;
      try {
        placement = opts.placement ? await opts.placement(workplace) : { callerNumber: workplace.number };
      } catch (err) {
        return { ok: false, reason: `the workplace's location could not be read: ${describe(err)}` };
      }
      const results = await Promise.allSettled([
        ...workplace.devices.map((d) => pushDevice(workplace, d, placement)),
        ...gone.map((d) => deleteDevice(d)),
      ]);
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [describe(r.reason)] : []));
      if (failures.length === 0) {
        log.info(
          { workplaceId: workplace.id, devices: workplace.devices.length, removed: gone.length },
          'devices provisioned',
        );
        return { ok: true };
      }

      // A device that was not in Asterisk before this sync must not stay half-created
      // (e.g. an auth without its endpoint): remove what was pushed, best effort.
      const fresh = workplace.devices.filter((d) => !known.has(d.sipUsername));
      await Promise.allSettled(fresh.map((d) => deleteDevice(d)));
      const reason = failures.join('; ');
      log.warn({ workplaceId: workplace.id, reason }, 'device provisioning failed');
      return { ok: false, reason } satisfies ProvisionResult;
    },

    async remove(workplace) {
      const results = await Promise.allSettled(workplace.devices.map((d) => deleteDevice(d)));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [describe(r.reason)] : []));
      if (failures.length > 0) {
        log.warn({ workplaceId: workplace.id, reason: failures.join('; ') }, 'device removal failed');
        throw new Error(failures.join('; '));
      }
      log.info({ workplaceId: workplace.id, devices: workplace.devices.length }, 'devices removed');
    },
  };
}
