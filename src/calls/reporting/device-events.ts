/**
 * Device registration as events: the controller subscribes its ARI application to every
 * PJSIP endpoint (eventSource endpoint:PJSIP) and turns Asterisk's EndpointStateChange
 * (online / offline) into device.registered / device.unregistered of the endpoint's
 * workplace, with the contact from the ContactStatusChange that precedes it. Endpoints that
 * belong to no workplace (the trunk) are ignored. Not on any call's path.
 */
import type { Logger } from 'pino';
import { isNotFound } from '../../ari/index.js';
import type { NewEvent } from '../../events/model.js';
import type { ConfigCache } from '../engine/config-cache.js';
import type { CallAri } from '../engine/session.js';

interface EndpointEvent {
  type: string;
  endpoint?: { technology?: string; resource?: string; state?: string };
  contact_info?: { uri?: string; contact_status?: string };
}

/** Starts watching; returns a stop function. */
export function watchDevices(deps: {
  ari: CallAri;
  cache: ConfigCache;
  publish: (event: NewEvent) => void;
  logger: Logger;
}): () => void {
  const { ari, cache, publish } = deps;
  const log = deps.logger.child({ component: 'devices-events' });
  /** last state and contact per endpoint (as many entries as endpoints) */
  const known = new Map<string, { online?: boolean; contact?: string }>();

  async function workplaceOf(resource: string) {
    const id = await cache.endpointWorkplaceId(resource, async () => {
      try {
        const fields = await ari.asterisk.getObject({
          configClass: 'res_pjsip',
          objectType: 'endpoint',
          id: resource,
        });
        return fields.find((f) => f.attribute === 'accountcode')?.value || undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
    return id ? cache.workplace(id) : undefined;
  }

  function onEvent(raw: unknown): void {
    const event = raw as EndpointEvent;
    const resource = event.endpoint?.resource;
    if (!resource || event.endpoint?.technology !== 'PJSIP') return;
    const entry = known.get(resource) ?? {};
    known.set(resource, entry);
    if (event.type === 'ContactStatusChange') {
      if (event.contact_info?.uri) entry.contact = event.contact_info.uri;
      return;
    }
    const online = event.endpoint?.state === 'online';
    if (event.endpoint?.state !== 'online' && event.endpoint?.state !== 'offline') return;
    if (entry.online === online) return;
    entry.online = online;
    const contact = entry.contact;
    workplaceOf(resource).then(
      (workplace) => {
        if (!workplace) return;
        publish({
          companyId: workplace.companyId,
          workplaceId: workplace.id,
          type: online ? 'device.registered' : 'device.unregistered',
          endpoint: resource,
          ...(contact ? { contact } : {}),
        });
      },
      (err: unknown) => log.warn({ err, endpoint: resource }, 'device event: workplace lookup failed'),
    );
  }

  const stops = [
    ari.events.on('ContactStatusChange', onEvent),
    ari.events.on('EndpointStateChange', onEvent),
    ari.events.onConnected(async () => {
      try {
        await ari.applications.subscribe({ applicationName: ari.app, eventSource: 'endpoint:PJSIP' });
      } catch (err) {
        log.warn({ err }, 'could not subscribe to endpoint events: no device events');
      }
    }),
  ];
  return () => stops.forEach((s) => s());
}
