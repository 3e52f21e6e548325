/**
 * Call-through fraud alerts (first call-through to a new country, any limit hit, a refused
 * destination class, a workplace locked): an in-process event emitter plus a warn log line.
 * The fraud guard raises them; the event stream, metrics and e-mail subscribe.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DestinationClass, RefusalReason } from '../../domain/fraud.js';

export type CallThroughAlertKind = 'new-country' | 'limit' | 'destination-refused' | 'locked';

export interface CallThroughAlert {
  kind: CallThroughAlertKind;
  companyId: string;
  workplaceId: string;
  /** the portal call (caller channel id) that raised it */
  callId: string;
  at: string;
  /** country calling code of the destination */
  country: string;
  destinationClass: DestinationClass;
  reason?: RefusalReason;
  /**
   * the configured value that was hit: the limit of `reason` (per hour, concurrent, minutes per
   * day) or, for kind 'locked', the refusals that lock
   */
  limit?: number;
  refusalsToday?: number;
}

/** Where alerts go; the composition root (or the event stream) subscribes. */
export interface CallThroughAlerts {
  alert(alert: CallThroughAlert): void;
  /** returns an unsubscribe function */
  onAlert(listener: (alert: CallThroughAlert) => void): () => void;
  /** alerts raised so far, by kind (for metrics) */
  counts(): Record<CallThroughAlertKind, number>;
}

export function createCallThroughAlerts(logger: Logger): CallThroughAlerts {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const counts: Record<CallThroughAlertKind, number> = {
    'new-country': 0,
    limit: 0,
    'destination-refused': 0,
    locked: 0,
  };
  return {
    alert(alert) {
      counts[alert.kind] += 1;
      logger.warn({ event: 'call-through.alert', ...alert }, `call-through alert: ${alert.kind}`);
      for (const listener of emitter.listeners('alert')) {
        try {
          (listener as (a: CallThroughAlert) => void)(alert);
        } catch (err) {
          logger.warn({ err }, 'call-through alert listener failed');
        }
      }
    },
    onAlert(listener) {
      emitter.on('alert', listener);
      return () => emitter.off('alert', listener);
    },
    counts: () => ({ ...counts }),
  };
}
