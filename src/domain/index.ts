/** The domain: entity types and the pure seed rules. No I/O anywhere below this folder. */
export type * from './model.js';
export * from './validation.js';
export * from './numbers.js';
export * from './workplace-rules.js';
export * from './pin.js';
export * from './blocking.js';
export * from './timezones.js';
export * from './features.js';
