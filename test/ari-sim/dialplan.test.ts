import { describe, expect, it } from 'vitest';
import { compilePattern, Dialplan, evaluate } from '../../tools/ari-sim/dialplan.js';
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

describe('$[...] expressions (ast_expr2 subset)', () => {
  it.each([
    ['1 < 2', '1'],
    ['2 < 10', '1'], // numeric: both sides integers
    ['abc < abd', '1'], // else as strings
    ['0 <= 0', '1'],
    ['5 = 05', '1'],
    ['5 != 5', '0'],
    ['1 < 2 & 3 > 4', '0'],
    ['1 < 2 & 3 < 4', '1'],
    ['0 | 1 = 1', '1'],
    ['(1 < 2) & (2 >= 2)', '1'],
  ])('%s → %s', (expr, result) => {
    expect(evaluate(expr)).toBe(result);
  });
});

describe('the trunk shedding gate', () => {
  const conf = `
[trunk]
exten => _[+0-9].,1,GotoIf($[\${EPOCH} < 0\${SHED_UNTIL} & \${RAND(1,100)} <= 0\${SHED_PERCENT}]?shed)
 same => n,Stasis(pbx,inbound)
 same => n(shed),Hangup(34)
`;
  const dp = new Dialplan(conf);
  const now = () => Math.floor(Date.now() / 1000);

  it('an unset gate lets every call into Stasis', () => {
    const r = dp.route('trunk', '+4930123');
    expect(r?.hangupCause).toBeUndefined();
    expect(r?.appData).toBe('pbx,inbound');
  });

  it('a closed gate (100 %, expiry ahead) hangs up with the cause of its label, from channel or global variables', () => {
    const globals = new Map([
      ['SHED_UNTIL', String(now() + 10)],
      ['SHED_PERCENT', '100'],
    ]);
    const r = dp.route('trunk', '+4930123', new Map(), globals);
    expect(r?.hangupCause).toBe(34);
    expect(r?.gotoIfData).toMatch(/^\$\[\d+ < 0\d+ & \d+ <= 0100\]\?shed$/);
  });

  it('an expired gate is open whatever its share', () => {
    const globals = new Map([
      ['SHED_UNTIL', String(now() - 1)],
      ['SHED_PERCENT', '100'],
    ]);
    expect(dp.route('trunk', '+4930123', new Map(), globals)?.hangupCause).toBeUndefined();
  });

  it('RAND draws within its bounds: a 50 % gate sheds about half', () => {
    const globals = new Map([
      ['SHED_UNTIL', String(now() + 10)],
      ['SHED_PERCENT', '50'],
    ]);
    let shed = 0;
    for (let i = 0; i < 2000; i++) if (dp.route('trunk', '+4930123', new Map(), globals)?.hangupCause) shed++;
    expect(shed).toBeGreaterThan(800);
    expect(shed).toBeLessThan(1200);
  });
});
