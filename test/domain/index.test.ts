import { describe, expect, it } from 'vitest';
import * as domain from '../../src/domain/index.js';

describe('domain index', () => {
  it('re-exports the names others code against', () => {
    const names = [
      'normaliseNumber',
      'isE164',
      'validateE164',
      'toDialString',
      'numberInRanges',
      'validateNumberRange',
      'rangesOverlap',
      'availableNumbers',
      'validateUsername',
      'validateFirstName',
      'validateLastName',
      'defaultExtension',
      'validateExtension',
      'MAX_DEVICES',
      'MAX_PARALLEL_NUMBERS',
      'RING_SECONDS',
      'validatePinStrength',
      'hashPin',
      'verifyPin',
      'PIN_LOCK_AFTER',
      'PIN_ATTEMPTS_PER_CALL',
      'matchesPrefix',
      'effectiveBlockingProfile',
      'isBlocked',
      'stricterOf',
      'validateBlockingPrefixes',
      'issuesAt',
      'isValidTimezone',
    ];
    for (const name of names) expect(domain, name).toHaveProperty(name);
  });
});
