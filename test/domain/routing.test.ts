/** The pure routing decisions shared by the call router and routing explain. */
import { describe, expect, it } from 'vitest';
import { blockingPrefix, resolveBlockingProfile } from '../../src/domain/blocking.js';
import type { AnywherePortal, BlockingProfile, Workplace } from '../../src/domain/model.js';
import { callThroughCallerId, callThroughTarget, parseDestination } from '../../src/domain/portal-auth.js';
import {
  classifyDialled,
  isVoiceboxAccessNumber,
  routeCall,
  voiceboxAccessOwner,
  type Dialled,
  type RoutingTarget,
} from '../../src/domain/routing.js';

const NOW = '2026-11-25T07:00:00.000Z';
const wp = (id: string, over: Partial<Workplace> = {}): Workplace =>
  ({
    id,
    companyId: 'c1',
    groupId: 'g1',
    number: `+49301234${id.slice(-2)}`,
    callerIdPresentation: 'number',
    ...over,
  }) as Workplace;
const portal = { id: 'p1', companyId: 'c1' } as AnywherePortal;
const profile = (id: string): BlockingProfile => ({
  id,
  companyId: 'c1',
  name: id,
  incoming: [],
  outgoing: ['+49900', '+49137'],
  forwarded: [],
  createdAt: NOW,
  updatedAt: NOW,
});

describe('classifyDialled', () => {
  const cases: Array<[string, Parameters<typeof classifyDialled>[0], Dialled]> = [
    [
      'E.164 from the trunk',
      { kind: 'inbound', exten: '+4930123410', fromDevice: false, countryCode: '49' },
      { kind: 'number', e164: '+4930123410' },
    ],
    [
      'national form is normalised',
      { kind: 'inbound', exten: '030123410', fromDevice: false, countryCode: '49' },
      { kind: 'number', e164: '+4930123410' },
    ],
    [
      'an extension from the trunk is nothing',
      { kind: 'inbound', exten: '3410', fromDevice: false, countryCode: '49' },
      { kind: 'nothing' },
    ],
    [
      'an extension from a device',
      { kind: 'internal', exten: '3410', fromDevice: true, countryCode: '49' },
      { kind: 'extension', extension: '3410' },
    ],
    [
      'an extension from an unknown device is nothing',
      { kind: 'internal', exten: '3410', fromDevice: false, countryCode: '49' },
      { kind: 'nothing' },
    ],
    [
      '*11 from a device pulls',
      { kind: 'internal', exten: '*11', fromDevice: true, countryCode: '49' },
      { kind: 'pull' },
    ],
    [
      '*11 from the trunk is nothing',
      { kind: 'inbound', exten: '*11', fromDevice: false, countryCode: '49' },
      { kind: 'nothing' },
    ],
    [
      'the voicebox access number in any form',
      {
        kind: 'inbound',
        exten: '030123499',
        fromDevice: false,
        countryCode: '49',
        voiceboxAccessNumber: '+4930123499',
      },
      { kind: 'voicebox-access' },
    ],
  ];
  it.each(cases)('%s', (_name, input, want) => expect(classifyDialled(input)).toEqual(want));

  it('voicebox access number: unset or empty never matches', () => {
    expect(isVoiceboxAccessNumber('+4930123499', undefined, '49')).toBe(false);
    expect(isVoiceboxAccessNumber('', '+4930123499', '49')).toBe(false);
    expect(isVoiceboxAccessNumber('+4930123499', '+4930123499', '49')).toBe(true);
  });
});

describe('routeCall', () => {
  const a = wp('w01');
  const b = wp('w02');
  const number: Dialled & { kind: 'number' } = { kind: 'number', e164: '+4940555000' };
  const cases: Array<[string, Parameters<typeof routeCall>, string]> = [
    [
      'a workplace number from outside',
      [number, { kind: 'workplace', workplace: b }, undefined],
      'workplace:w02',
    ],
    [
      'a workplace by extension from a colleague',
      [{ kind: 'extension', extension: '12' }, { kind: 'workplace', workplace: b }, a],
      'workplace:w02',
    ],
    [
      'the own number from an own device',
      [number, { kind: 'workplace', workplace: a }, a],
      'own-voicebox:w01',
    ],
    ['a portal', [number, { kind: 'portal', portal }, undefined], 'portal:p1'],
    ['an unknown number from a device goes out', [number, undefined, a], 'outbound:+4940555000'],
    [
      'an unknown number from outside is unallocated',
      [number, undefined, undefined],
      'unallocated:unknown-number',
    ],
    [
      'an unknown extension is unallocated',
      [{ kind: 'extension', extension: '99' }, undefined, a],
      'unallocated:unknown-number',
    ],
    [
      'nothing dialable is unallocated',
      [{ kind: 'nothing' }, undefined, undefined],
      'unallocated:not-a-number',
    ],
  ];
  it.each(cases)('%s', (_name, args, want) => {
    const route = routeCall(...args);
    const id =
      route.kind === 'workplace' || route.kind === 'own-voicebox'
        ? route.workplace.id
        : route.kind === 'portal'
          ? route.portal.id
          : route.kind === 'outbound'
            ? route.e164
            : route.reason;
    expect(`${route.kind}:${id}`).toBe(want);
  });

  it('voicebox access owner: own device, else own number, else a single parallel-ringing match', () => {
    const own: RoutingTarget = { kind: 'workplace', workplace: b };
    expect(voiceboxAccessOwner(a, own, [])?.id).toBe('w01');
    expect(voiceboxAccessOwner(undefined, own, [a])?.id).toBe('w02');
    expect(voiceboxAccessOwner(undefined, undefined, [a])?.id).toBe('w01');
    expect(voiceboxAccessOwner(undefined, undefined, [a, b])).toBeUndefined();
    expect(voiceboxAccessOwner(undefined, { kind: 'portal', portal }, [])).toBeUndefined();
  });
});

describe('call-through target', () => {
  const colleague = wp('w07');
  const cases: Array<[string, string, Parameters<typeof callThroughTarget>[1], string]> = [
    ['a national number out', '030555123', undefined, 'external:+4930555123'],
    [
      'our number rings internally',
      '030123407',
      { kind: 'workplace', workplace: colleague },
      'internal:+4930123407',
    ],
    ['an extension of ours', '407', { kind: 'workplace', workplace: colleague }, 'internal:+4930123407'],
    ['an unknown extension is invalid', '407', undefined, 'invalid:no such extension'],
    [
      'a portal is invalid',
      '030123499',
      { kind: 'portal', portal: { companyId: colleague.companyId } },
      'invalid:an Anywhere portal',
    ],
    ['nothing dialled is invalid', '', undefined, 'invalid:nothing dialled'],
    // issue 25: another company's number is an ordinary external call, its portal too
    [
      "another company's number goes out",
      '030123407',
      { kind: 'workplace', workplace: { ...colleague, companyId: 'other' } },
      'external:+4930123407',
    ],
    [
      "another company's portal number goes out",
      '030123499',
      { kind: 'portal', portal: { companyId: 'other' } },
      'external:+4930123499',
    ],
  ];
  it.each(cases)('%s', (_name, digits, ours, want) => {
    const t = callThroughTarget(parseDestination(digits, '49'), ours, colleague.companyId);
    expect(`${t.kind}:${t.kind === 'invalid' ? t.reason : t.e164}`).toBe(want);
  });
  it('caller ID: the office number unless anonymous', () => {
    expect(callThroughCallerId(colleague)).toBe(colleague.number);
    expect(callThroughCallerId({ ...colleague, callerIdPresentation: 'anonymous' })).toBeUndefined();
  });
});

describe('blocking resolution with its level', () => {
  const profiles = new Map([
    ['pw', profile('pw')],
    ['pg', profile('pg')],
    ['pc', profile('pc')],
  ]);
  const cases: Array<[string, Parameters<typeof resolveBlockingProfile>[0], string, string[]]> = [
    [
      'workplace first',
      {
        workplace: { blockingProfileId: 'pw' },
        group: { blockingProfileId: 'pg' },
        company: { defaultBlockingProfileId: 'pc' },
        profiles,
      },
      'workplace:pw',
      [],
    ],
    [
      'then the group',
      {
        workplace: {},
        group: { blockingProfileId: 'pg' },
        company: { defaultBlockingProfileId: 'pc' },
        profiles,
      },
      'group:pg',
      [],
    ],
    [
      'then the company default',
      { workplace: {}, group: {}, company: { defaultBlockingProfileId: 'pc' }, profiles },
      'company:pc',
      [],
    ],
    [
      'a deleted profile falls through and is named',
      {
        workplace: { blockingProfileId: 'gone' },
        group: {},
        company: { defaultBlockingProfileId: 'pc' },
        profiles,
      },
      'company:pc',
      ['workplace:gone'],
    ],
    ['none at all', { company: {}, profiles }, 'undefined:undefined', []],
  ];
  it.each(cases)('%s', (_name, args, want, dangling) => {
    const r = resolveBlockingProfile(args);
    expect(`${r.level}:${r.profile?.id}`).toBe(want);
    expect(r.dangling.map((d) => `${d.level}:${d.id}`)).toEqual(dangling);
  });
  it('blockingPrefix names the prefix that matched', () => {
    expect(blockingPrefix('+499001234', ['+49137', '+49900'])).toBe('+49900');
    expect(blockingPrefix('+4930', ['+49900'])).toBeUndefined();
  });
});
