/**
 * The simulator runs the production dialplan's emergency, social and 77 lines
 * (asterisk/extensions.conf) as the real Asterisk does (test/e2e/emergency.test.ts): the fast tier
 * covers the routing Asterisk does without the controller.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMERGENCY_DIAL_FORMS, SOCIAL_NUMBERS } from '../../src/domain/emergency.js';
import { Dialplan, substituteVariables } from '../../tools/ari-sim/dialplan.js';

const dp = new Dialplan(readFileSync(new URL('../../asterisk/extensions.conf', import.meta.url), 'utf8'));
const globals = new Map([
  ['ARI_APP', 'pbx'],
  ['PBX_PRES_A', 'allowed'],
  ['PBX_PRES_P', 'prohib'],
]);
/** a device channel: the caller tag the controller pushed with the endpoint */
const device = (tag: string) =>
  new Map([
    ['CALLERID(tag)', tag],
    ['CALLERID(num)', '2001'],
  ]);
const set = (r: ReturnType<Dialplan['route']>, name: string) =>
  r?.sets.filter((s) => s.name === name).at(-1)?.value;

describe('the production dialplan on the simulator', () => {
  it.each(Object.entries(EMERGENCY_DIAL_FORMS).flatMap(([n, forms]) => forms.map((f) => [f, n])))(
    '%s from a device is dialled to the trunk as %s, presenting the number even when withheld',
    (form, number) => {
      const r = dp.route('from-devices', form, device('P+493055501234'), globals);
      expect(r?.app).toBe('Dial');
      expect(r?.dial).toBe(`PJSIP/${number}@trunk`);
      expect(r?.dialContext).toEqual({ context: 'emergency', exten: number });
      expect(set(r, 'CALLERID(num)')).toBe('+493055501234');
      expect(set(r, 'CALLERID(pres)')).toBe('allowed');
      expect(set(r, 'PBX_DIALLED')).toBe(form);
      expect(set(r, 'PBX_EMERGENCY')).toBe(number);
    },
  );

  it.each(SOCIAL_NUMBERS.map((n) => [n]))(
    '%s goes to the trunk as dialled, withheld when the workplace withholds',
    (n) => {
      const shown = dp.route('from-devices', n, device('A+493055501234'), globals);
      expect(shown?.dial).toBe(`PJSIP/${n}@trunk`);
      expect(set(shown, 'CALLERID(num)')).toBe('+493055501234');
      expect(set(shown, 'CALLERID(pres)')).toBe('allowed');
      expect(set(dp.route('from-devices', n, device('P+493055501234'), globals), 'CALLERID(pres)')).toBe(
        'prohib',
      );
    },
  );

  it.each([['77115'], ['7711833'], ['030123456'], ['2001'], ['*11'], ['1100'], ['116118'], ['911']])(
    '%s enters the controller (Stasis), where profiles and features apply',
    (exten) => {
      const r = dp.route('from-devices', exten, device('A+493055501234'), globals);
      expect(r?.app).toBe('pbx');
      expect(r?.args).toEqual(['internal']);
      expect(r?.dial).toBeUndefined();
    },
  );

  it('the trunk context is untouched: 112 from the carrier is an inbound call like any other', () => {
    expect(dp.route('from-trunk', '112', new Map(), globals)?.appData).toBe('pbx,inbound');
  });
});

describe('substitution as Asterisk does it', () => {
  const vars = new Map([
    ['CALLERID(tag)', 'P+4930'],
    ['X', 'abcdef'],
  ]);
  it.each([
    ['${CALLERID(tag):1}', '+4930'],
    ['${CALLERID(tag):0:1}', 'P'],
    ['${PBX_PRES_${CALLERID(tag):0:1}}', 'prohib'],
    ['${X:-2}', 'ef'],
    ['${X:1:-1}', 'bcde'],
    ['${UNSET}x', 'x'],
    ['${EXTEN}', '112'],
  ])('%s → %s', (raw, out) => {
    expect(substituteVariables(raw, '112', vars, globals)).toBe(out);
  });
});
