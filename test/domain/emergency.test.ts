/**
 * The emergency and special numbering rules (src/domain/emergency.ts), and their agreement with
 * the dialplan Asterisk runs without the controller (asterisk/extensions.conf [from-devices]).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EMERGENCY_DIAL_FORMS,
  EMERGENCY_NUMBERS,
  emergencyCallerNumber,
  emergencyNumber,
  isEmergencyNumber,
  SOCIAL_NUMBERS,
  socialNumber,
  specialNumber,
} from '../../src/domain/emergency.js';
import { classifyDialled, routeCall } from '../../src/domain/routing.js';
import type { Workplace } from '../../src/domain/model.js';

const dialplan = readFileSync(new URL('../../asterisk/extensions.conf', import.meta.url), 'utf8');

/** `[context]` → its lines (comments dropped). */
function context(name: string): string[] {
  const lines: string[] = [];
  let inside = false;
  for (const raw of dialplan.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const section = /^\[([^\]]+)\]/.exec(line);
    if (section) inside = section[1] === name;
    else if (inside && line) lines.push(line);
  }
  return lines;
}

describe('emergency numbers', () => {
  it.each([
    ['112', '112'],
    ['0112', '112'],
    ['00112', '112'],
    ['+49112', '112'],
    ['0049112', '112'],
    ['+49 112', '112'],
    ['110', '110'],
    ['0110', '110'],
    ['+49110', '110'],
    ['0049110', '110'],
  ])('%s is the emergency number %s', (dialled, number) => {
    expect(emergencyNumber(dialled)).toBe(number);
  });

  it.each(['1120', '11', '911', '115', '116117', '0301120', '+44112', '7712', '1100'])(
    '%s is not',
    (dialled) => {
      expect(emergencyNumber(dialled)).toBeUndefined();
    },
  );

  it('the E.164 forms a normaliser makes of 0112/0110 are emergency numbers too', () => {
    expect(isEmergencyNumber('+49112')).toBe(true);
    expect(isEmergencyNumber('+49110', '+49')).toBe(true);
    expect(isEmergencyNumber('+4930112')).toBe(false);
  });

  it('the dialplan sends exactly every dial form of the module to [emergency], as its number', () => {
    const lines = context('from-devices');
    const toEmergency = new Map<string, string>();
    for (let i = 0; i < lines.length; i++) {
      const ext = /^exten\s*=>\s*([^,]+),1,/.exec(lines[i]!);
      if (!ext) continue;
      const goto = /^same\s*=>\s*n,Goto\(emergency,(\d+),1\)$/.exec(lines[i + 1] ?? '');
      if (goto) toEmergency.set(ext[1]!, goto[1]!);
    }
    const expected = new Map(
      EMERGENCY_NUMBERS.flatMap((n) => EMERGENCY_DIAL_FORMS[n].map((form) => [form, n] as const)),
    );
    expect(toEmergency).toEqual(expected);
    // and [emergency] dials the trunk before anything else could stand in the way: only Set()s before it
    const emergency = context('emergency').filter((l) => !l.startsWith('exten => h,'));
    const dialAt = emergency.findIndex((l) => /Dial\(PJSIP\/\$\{EXTEN\}@trunk\)/.test(l));
    expect(dialAt).toBeGreaterThan(0);
    expect(emergency.slice(0, dialAt).every((l) => /,Set\(/.test(l))).toBe(true);
    expect(emergency.join('\n')).toContain('Set(CALLERID(pres)=allowed)');
  });

  it('the dialplan sends every social number to [social], and nothing else', () => {
    const routed = context('from-devices')
      .map((l) => /^exten\s*=>\s*([^,]+),1,Goto\(social,\1,1\)$/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined);
    expect(routed.sort()).toEqual([...SOCIAL_NUMBERS].sort());
  });
});

describe('social and special numbers', () => {
  it('the 116xxx numbers and 115 are social numbers, only as dialled', () => {
    for (const n of ['115', '116116', '116117', '116000', '116111', '116123'])
      expect(socialNumber(n)).toBe(n);
    expect(socialNumber('116118')).toBeUndefined();
    expect(socialNumber('+49115')).toBeUndefined();
  });

  it('77 + a number: the carrier is sent the digits after 77, the profile checks the national form', () => {
    expect(specialNumber('77115', '49')).toEqual({ dial: '115', blockAs: '+49115' });
    expect(specialNumber('7711833', '49')).toEqual({ dial: '11833', blockAs: '+4911833' });
    expect(specialNumber('77030123456', '49')).toEqual({ dial: '030123456', blockAs: '+4930123456' });
    expect(specialNumber('7712', '49')).toBeUndefined();
    expect(specialNumber('78115', '49')).toBeUndefined();
  });

  it('a device dialling 77115 goes out to the trunk as 115 whatever the number would match here', () => {
    const from = { id: 'w1', companyId: 'c1', number: '+493055501234' } as Workplace;
    const dialled = classifyDialled({
      kind: 'internal',
      exten: '77115',
      fromDevice: true,
      countryCode: '49',
    });
    expect(dialled).toEqual({ kind: 'number', e164: '+49115', dial: '115' });
    const someone = { kind: 'workplace' as const, workplace: { id: 'w2' } as Workplace };
    expect(routeCall(dialled as Extract<typeof dialled, { kind: 'number' }>, someone, from)).toEqual({
      kind: 'outbound',
      e164: '+49115',
      from,
      dial: '115',
    });
    // from the trunk (no device) 77115 is nothing special
    expect(
      classifyDialled({ kind: 'inbound', exten: '77115', fromDevice: false, countryCode: '49' }).kind,
    ).toBe('nothing');
  });

  it('the number presented on an emergency call: the workplace’s, else the company’s main number', () => {
    expect(emergencyCallerNumber({ number: '+4930555' }, { mainNumber: '+4930000' })).toBe('+4930555');
    expect(emergencyCallerNumber({ number: '' }, { mainNumber: '+4930000' })).toBe('+4930000');
    expect(emergencyCallerNumber({}, {})).toBeUndefined();
  });
});
