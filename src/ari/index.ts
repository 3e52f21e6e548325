/** The ARI layer's public surface: client, contract, and the types generated from the api-docs. */
export * from './contract.js';
export {
  createAriClient,
  validateAriClientOptions,
  backoffDelay,
  metrics,
  type AriClient,
  type AriClientOptions,
} from './client.js';
export { AriTransportError, isTimeout, type AriMetrics } from './rest.js';
export { EventRouter, mentionedIds, type AriEventRouter, type RawEvent } from './events.js';
export type * from './generated/models.js';
export { ariEventTypes } from './generated/models.js';
export * from './generated/operations.js';
