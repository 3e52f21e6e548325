import { describe, expect, it } from 'vitest';
import { compilePattern, Dialplan } from '../../tools/ari-sim/dialplan.js';
import { README_DIALPLAN } from './helpers.js';

describe('extension patterns', () => {
  it.each([
    ['_X.', '1', false],
    ['_X.', '12', true],
    ['_X.', 'a1', false],
    ['_[+0-9].', '+4930', true],
    ['_[+0-9].', 'desk', false],
    ['_NXX', '200', true],
    ['_NXX', '100', false],
    ['_ZX', '10', true],
    ['_ZX', '01', false],
    ['_1!', '1', true],
    ['_1!', '123', true],
    ['_[+0-9a-zA-Z*#].', '-desk', false],
    ['_[+0-9a-zA-Z*#].', 'desk1', true],
    ['100', '100', true],
    ['100', '1000', false],
  ])('%s matches %s: %s', (pattern, exten, expected) => {
    expect(compilePattern(pattern)(exten)).toBe(expected);
  });
});

describe('dialplan file', () => {
  it('routes the README dialplan with ${EXTEN} substitution and ignores other lines', () => {
    const dp = new Dialplan(
      README_DIALPLAN + '\n[other]\nexten => 100,1,Answer()\nsame => n,Hangup()\ninclude => foo ; comment\n',
    );
    expect(dp.route('from-trunk', '+4930123')).toEqual({
      app: 'pbx',
      args: ['inbound'],
      appData: 'pbx,inbound',
      sets: [],
    });
    expect(dp.route('lab-devices', 'desk1')).toEqual({
      app: 'labdriver',
      args: ['device', 'desk1'],
      appData: 'labdriver,device,desk1',
      sets: [],
    });
    expect(dp.route('lab-pstn', '+491709')).toEqual({
      app: 'labdriver',
      args: ['pstn', '+491709'],
      appData: 'labdriver,pstn,+491709',
      sets: [],
    });
    expect(dp.route('other', '100')).toBeUndefined();
    expect(dp.route('nope', '1')).toBeUndefined();
  });

  it('runs Set() lines before the Stasis (same => n), with ${VARIABLE} from the channel', () => {
    const dp = new Dialplan(
      '[e2e-internal]\nexten => _[*0-9].,1,Set(CHANNEL(accountcode)=${E2E_ACCOUNTCODE})\n same => n,Stasis(e2epbx,internal)\n',
    );
    expect(dp.route('e2e-internal', '*11', new Map([['E2E_ACCOUNTCODE', 'wp-1']]))).toEqual({
      app: 'e2epbx',
      args: ['internal'],
      appData: 'e2epbx,internal',
      sets: [{ name: 'CHANNEL(accountcode)', value: 'wp-1' }],
    });
    // an unset variable is empty, as in Asterisk
    expect(dp.route('e2e-internal', '*11')?.sets).toEqual([{ name: 'CHANNEL(accountcode)', value: '' }]);
  });
});
