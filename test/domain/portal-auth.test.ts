import { describe, expect, it } from 'vitest';
import type { AnywherePortal, BlockingProfile } from '../../src/domain/model.js';
import { hashPin } from '../../src/domain/pin.js';
import {
  authorisesCaller,
  checkCallThrough,
  checkPin,
  inPortalScope,
  isPinLocked,
  matchCaller,
  menuProgress,
  parseDestination,
  type PortalWorkplace,
} from '../../src/domain/portal-auth.js';

const MOBILE = '+491701234567';

function wp(id: string, over: Partial<PortalWorkplace> = {}): PortalWorkplace {
  return {
    id,
    companyId: 'c1',
    groupId: 'g1',
    parallelRinging: { enabled: true, numbers: [MOBILE], answerConfirmation: false },
    voicebox: { enabled: true, pinHash: `pin:${id}` },
    ...over,
  };
}

function portal(over: Partial<AnywherePortal> = {}): AnywherePortal {
  return {
    id: 'p1',
    companyId: 'c1',
    groupId: 'g1',
    displayFirstName: 'Anywhere',
    displayLastName: 'Berlin',
    number: '+4930123499',
    extension: '3499',
    timezone: 'Europe/Berlin',
    level: 'company',
    silentMode: false,
    pinRequired: true,
    createdAt: '',
    updatedAt: '',
    ...over,
  };
}

/** test double for scrypt: a hash "pin:<id>" verifies the PIN "<id>" */
const fakeVerify = (pin: string, hash: string) => hash === `pin:${pin}`;

describe('inPortalScope', () => {
  it.each([
    ['company level: same company, other group', portal(), wp('a', { groupId: 'g2' }), true],
    ['company level: other company', portal(), wp('a', { companyId: 'c2' }), false],
    ['group level: same group', portal({ level: 'group' }), wp('a'), true],
    ['group level: other group', portal({ level: 'group' }), wp('a', { groupId: 'g2' }), false],
    ['area: same area', portal({ areaId: 'ar1' }), wp('a', { areaId: 'ar1' }), true],
    ['area: no area', portal({ areaId: 'ar1' }), wp('a'), false],
    ['area: other area', portal({ areaId: 'ar1' }), wp('a', { areaId: 'ar2' }), false],
    [
      'area narrows a company-level portal to its group',
      portal({ areaId: 'ar1' }),
      wp('a', { groupId: 'g2', areaId: 'ar1' }),
      false,
    ],
    ['no area on the portal: any area', portal({ level: 'group' }), wp('a', { areaId: 'ar9' }), true],
  ])('%s', (_name, p, w, expected) => {
    expect(inPortalScope(p, w)).toBe(expected);
  });
});

describe('authorisesCaller', () => {
  it.each([
    ['listed and enabled', { enabled: true, numbers: [MOBILE], answerConfirmation: false }, true],
    ['listed but disabled', { enabled: false, numbers: [MOBILE], answerConfirmation: false }, false],
    ['not listed', { enabled: true, numbers: ['+491709999999'], answerConfirmation: false }, false],
  ])('%s', (_name, parallelRinging, expected) => {
    expect(authorisesCaller({ parallelRinging }, MOBILE)).toBe(expected);
  });
});

describe('matchCaller', () => {
  const a = wp('a');
  const b = wp('b', { groupId: 'g2' });
  const foreign = wp('x', { companyId: 'c2' });
  it.each([
    ['withheld number', portal(), undefined, [a], { kind: 'refused', reason: 'no-caller-number' }],
    ['nobody lists it', portal(), MOBILE, [], { kind: 'refused', reason: 'unknown-caller' }],
    [
      'only another company lists it',
      portal(),
      MOBILE,
      [foreign],
      { kind: 'refused', reason: 'unknown-caller' },
    ],
    ['one workplace', portal(), MOBILE, [a, foreign], { kind: 'single', workplace: a }],
    [
      'group portal: the other group does not count',
      portal({ level: 'group' }),
      MOBILE,
      [a, b],
      { kind: 'single', workplace: a },
    ],
    [
      'group portal refuses another group',
      portal({ level: 'group' }),
      MOBILE,
      [b],
      { kind: 'refused', reason: 'unknown-caller' },
    ],
    [
      'several, PIN required → the PIN decides',
      portal(),
      MOBILE,
      [a, b],
      { kind: 'ambiguous', workplaces: [a, b] },
    ],
    [
      'several without PIN → refused',
      portal({ pinRequired: false }),
      MOBILE,
      [a, b],
      { kind: 'refused', reason: 'ambiguous-without-pin' },
    ],
    [
      'disabled list does not authorise',
      portal(),
      MOBILE,
      [wp('d', { parallelRinging: { enabled: false, numbers: [MOBILE], answerConfirmation: false } })],
      { kind: 'refused', reason: 'unknown-caller' },
    ],
  ])('%s', (_name, p, caller, workplaces, expected) => {
    expect(matchCaller(p, caller, workplaces)).toEqual(expected);
  });
});

describe('checkPin', () => {
  const a = wp('1357');
  const b = wp('2468');
  const noPin = wp('none', { voicebox: { enabled: true } });
  it.each([
    ['right PIN', '1357', [{ workplace: a, failures: 0 }], { kind: 'accepted', workplace: a }],
    [
      'right PIN with earlier failures',
      '1357',
      [{ workplace: a, failures: 4 }],
      { kind: 'accepted', workplace: a },
    ],
    [
      'wrong PIN counts',
      '9999',
      [{ workplace: a, failures: 0 }],
      { kind: 'rejected', reason: 'wrong', countFailureFor: [a.id] },
    ],
    [
      'empty entry is lost but not counted',
      '',
      [{ workplace: a, failures: 0 }],
      { kind: 'rejected', reason: 'empty', countFailureFor: [] },
    ],
    [
      'locked: the right PIN is never accepted',
      '1357',
      [{ workplace: a, failures: 5 }],
      { kind: 'rejected', reason: 'locked', countFailureFor: [] },
    ],
    [
      'locked: a wrong PIN counts nothing more',
      '9999',
      [{ workplace: a, failures: 5 }],
      { kind: 'rejected', reason: 'locked', countFailureFor: [] },
    ],
    [
      'no PIN set: never accepted',
      '1357',
      [{ workplace: noPin, failures: 0 }],
      { kind: 'rejected', reason: 'locked', countFailureFor: [] },
    ],
    [
      'ambiguous: the PIN picks the workplace',
      '2468',
      [
        { workplace: a, failures: 0 },
        { workplace: b, failures: 0 },
      ],
      { kind: 'accepted', workplace: b },
    ],
    [
      'ambiguous: wrong PIN counts against both',
      '9999',
      [
        { workplace: a, failures: 0 },
        { workplace: b, failures: 1 },
      ],
      { kind: 'rejected', reason: 'wrong', countFailureFor: [a.id, b.id] },
    ],
    [
      'ambiguous: a locked one is skipped when counting',
      '9999',
      [
        { workplace: a, failures: 5 },
        { workplace: b, failures: 1 },
      ],
      { kind: 'rejected', reason: 'wrong', countFailureFor: [b.id] },
    ],
    [
      "ambiguous: the locked one's right PIN is refused, nobody else charged",
      '1357',
      [
        { workplace: a, failures: 5 },
        { workplace: b, failures: 0 },
      ],
      { kind: 'rejected', reason: 'locked', countFailureFor: [] },
    ],
  ])('%s', (_name, pin, candidates, expected) => {
    expect(checkPin(pin, candidates, fakeVerify)).toEqual(expected);
  });

  it('two workplaces with the same PIN stay unresolved', () => {
    const twin = wp('twin', { voicebox: { enabled: true, pinHash: 'pin:1357' } });
    expect(
      checkPin(
        '1357',
        [
          { workplace: a, failures: 0 },
          { workplace: twin, failures: 0 },
        ],
        fakeVerify,
      ),
    ).toEqual({
      kind: 'rejected',
      reason: 'ambiguous',
      countFailureFor: [],
    });
  });

  it('verifies real scrypt hashes by default', () => {
    const real = wp('r', { voicebox: { enabled: true, pinHash: hashPin('4711') } });
    expect(checkPin('4711', [{ workplace: real, failures: 0 }]).kind).toBe('accepted');
    expect(checkPin('4712', [{ workplace: real, failures: 0 }]).kind).toBe('rejected');
  });

  it.each([
    [0, false],
    [4, false],
    [5, true],
    [7, true],
  ])('isPinLocked(%i) = %s', (failures, expected) => {
    expect(isPinLocked(failures)).toBe(expected);
  });
});

describe('menuProgress', () => {
  it.each([
    ['*', false, { kind: 'more' }],
    ['*1', false, { kind: 'more' }],
    ['*11', false, { kind: 'pull' }],
    ['*1', true, { kind: 'invalid' }],
    ['*2', false, { kind: 'invalid' }],
    ['*12', false, { kind: 'invalid' }],
    ['#', false, { kind: 'invalid' }],
    ['0', false, { kind: 'more' }],
    ['030123#', false, { kind: 'dial', digits: '030123' }],
    ['030123', true, { kind: 'dial', digits: '030123' }],
    ['12*', false, { kind: 'invalid' }],
    ['1'.repeat(21), false, { kind: 'invalid' }],
  ])('%j (timed out: %s)', (entry, timedOut, expected) => {
    expect(menuProgress(entry, timedOut)).toEqual(expected);
  });
});

describe('parseDestination', () => {
  it.each([
    ['national', '030123456', { kind: 'number', e164: '+4930123456' }],
    ['mobile, national', '01701234567', { kind: 'number', e164: '+491701234567' }],
    ['international 00', '0044207946000', { kind: 'number', e164: '+44207946000' }],
    ['international +', '+44207946000', { kind: 'number', e164: '+44207946000' }],
    ['extension', '3456', { kind: 'extension', extension: '3456' }],
    ['two-digit extension', '42', { kind: 'extension', extension: '42' }],
    ['too short to be a number', '0123', { kind: 'invalid', reason: 'not a phone number' }],
    ['one digit', '5', { kind: 'invalid', reason: 'not a phone number or extension' }],
    [
      'nine digits without 0 or +',
      '123456789',
      { kind: 'invalid', reason: 'not a phone number or extension' },
    ],
    ['star', '12*3', { kind: 'invalid', reason: 'not digits' }],
    ['empty', '', { kind: 'invalid', reason: 'nothing dialled' }],
  ])('%s: %s', (_name, digits, expected) => {
    expect(parseDestination(digits, '49')).toEqual(expected);
  });
});

describe('checkCallThrough: the stricter profile wins', () => {
  const profile = (id: string, outgoing: string[]): BlockingProfile => ({
    id,
    companyId: 'c1',
    name: id,
    incoming: [],
    outgoing,
    forwarded: [],
    createdAt: '',
    updatedAt: '',
  });
  const portalProfile = profile('portal', ['+49900']);
  const workplaceProfile = profile('workplace', ['+44']);
  it.each([
    ['neither has a profile', undefined, undefined, '+499001234', false],
    ['portal blocks', portalProfile, undefined, '+499001234', true],
    ['workplace blocks', undefined, workplaceProfile, '+44207946000', true],
    ['portal blocks though the workplace allows', portalProfile, workplaceProfile, '+499001234', true],
    ['workplace blocks though the portal allows', portalProfile, workplaceProfile, '+44207946000', true],
    ['both allow', portalProfile, workplaceProfile, '+4930123456', false],
  ])('%s', (_name, p, w, e164, blocked) => {
    expect(checkCallThrough(e164, p, w).blocked).toBe(blocked);
  });

  it('names both sources of the decision', () => {
    expect(checkCallThrough('+499001234', portalProfile, workplaceProfile).profile?.id).toBe(
      'portal+workplace',
    );
  });
});
