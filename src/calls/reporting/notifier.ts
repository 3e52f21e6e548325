/**
 * Tells a workplace's owner about a new voicebox message. In-process events (the composition
 * root can forward them to e-mail, push or a webhook) plus a structured log line; the message
 * metadata itself is in the store, so nothing is lost when nobody listens.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { VoiceboxMessage } from '../../domain/model.js';

export interface VoiceboxNotifier {
  messageDeposited(message: VoiceboxMessage): void;
}

export interface VoiceboxEvents extends VoiceboxNotifier {
  /** called for every new message; returns an unsubscribe function */
  onMessage(listener: (message: VoiceboxMessage) => void): () => void;
}

export function createVoiceboxEvents(logger: Logger): VoiceboxEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    messageDeposited(message) {
      logger.info(
        {
          event: 'voicebox.message',
          workplaceId: message.workplaceId,
          messageId: message.id,
          durationSeconds: message.durationSeconds,
        },
        'new voicebox message',
      );
      for (const listener of emitter.listeners('message')) {
        try {
          (listener as (m: VoiceboxMessage) => void)(message);
        } catch (err) {
          logger.warn({ err }, 'voicebox listener failed');
        }
      }
    },
    onMessage(listener) {
      emitter.on('message', listener);
      return () => emitter.off('message', listener);
    },
  };
}
