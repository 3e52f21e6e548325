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
    });
    expect(dp.route('lab-devices', 'desk1')).toEqual({
      app: 'labdriver',
      args: ['device', 'desk1'],
      appData: 'labdriver,device,desk1',
    });
    expect(dp.route('lab-pstn', '+491709')).toEqual({
      app: 'labdriver',
      args: ['pstn', '+491709'],
      appData: 'labdriver,pstn,+491709',
    });
    expect(dp.route('other', '100')).toBeUndefined();
    expect(dp.route('nope', '1')).toBeUndefined();
  });
});
