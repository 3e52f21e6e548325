/**
 * The Asterisk configuration in asterisk/ — checked without an Asterisk: files parse, includes
 * resolve once the entrypoint rendered its part, templates exist before use, and the names
 * the code relies on (contexts, object types, modules) are where the code expects them.
 * The e2e suite checks the same on a real Asterisk (modules running, endpoints pushed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEVICE_OPTIONS } from '../../src/devices/pjsip-objects.js';
import { effectiveEntries, parseConf, type ParsedConf } from './asterisk-conf.js';

const asteriskDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'asterisk');
const entrypoint = join(asteriskDir, 'docker-entrypoint.sh');
const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const GOOD_ENV = { ARI_USERNAME: 'controller', ARI_PASSWORD: 'correct-horse-battery-staple' };

/** Copies asterisk/*.conf to a temp /etc/asterisk and runs the entrypoint's rendering there. */
function render(env: Record<string, string>): { etc: string; status: number | null; stderr: string } {
  const etc = mkdtempSync(join(tmpdir(), 'etc-asterisk-'));
  tmpDirs.push(etc);
  for (const f of readdirSync(asteriskDir).filter((f) => f.endsWith('.conf')))
    cpSync(join(asteriskDir, f), join(etc, f));
  const run = spawnSync('sh', [entrypoint], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ASTERISK_ETC: etc, RENDER_ONLY: 'yes', ...env },
    encoding: 'utf8',
  });
  return { etc, status: run.status, stderr: run.stderr };
}

const confFiles = readdirSync(asteriskDir).filter((f) => f.endsWith('.conf'));
const rendered = render(GOOD_ENV);
const parsed = (file: string): ParsedConf => parseConf(rendered.etc, file);
const section = (conf: ParsedConf, name: string, type?: string) =>
  conf.sections.find(
    (s) =>
      s.name === name && !s.isTemplate && (!type || effectiveEntries(conf, s).get('type')?.at(-1) === type),
  );

describe('asterisk/*.conf', () => {
  it('renders with a user and password', () => {
    expect(rendered.status, rendered.stderr).toBe(0);
  });

  it.each(confFiles)('%s parses and its includes resolve', (file) => {
    const conf = parsed(file);
    expect(conf.problems).toEqual([]);
    // a file may be there only so that Asterisk does not log its absence as an error; it says so
    const onPurposeEmpty = readFileSync(join(asteriskDir, file), 'utf8').includes(
      'Present so Asterisk starts without errors',
    );
    if (!onPurposeEmpty) expect(conf.sections.length).toBeGreaterThan(0);
  });

  it.each(confFiles)('%s uses only templates defined before use', (file) => {
    const conf = parsed(file);
    conf.sections.forEach((s, i) => {
      for (const parent of s.inherits) {
        expect(
          conf.sections.slice(0, i).some((t) => t.name === parent),
          `${s.name} inherits undefined ${parent}`,
        ).toBe(true);
      }
    });
  });

  it('sorcery.conf gives endpoint, auth and aor a persistent astdb wizard after the config wizard', () => {
    const entries = effectiveEntries(parsed('sorcery.conf'), section(parsed('sorcery.conf'), 'res_pjsip')!);
    for (const type of ['endpoint', 'auth', 'aor']) {
      expect(entries.get(type)).toEqual([`config,pjsip.conf,criteria=type=${type}`, `astdb,ps_${type}`]);
    }
  });

  it('modules.conf loads explicitly, with what ARI, PJSIP, astdb and the prompts need', () => {
    const conf = parsed('modules.conf');
    const entries = effectiveEntries(conf, section(conf, 'modules')!);
    expect(entries.get('autoload')).toEqual(['no']);
    const loaded = [...(entries.get('require') ?? []), ...(entries.get('load') ?? [])];
    for (const m of [
      'app_stasis.so',
      'pbx_config.so',
      'res_ari.so',
      'res_ari_channels.so',
      'res_ari_asterisk.so',
      'res_ari_recordings.so',
      'res_http_websocket.so',
      'res_stasis_recording.so',
      'res_stasis_playback.so',
      'res_sorcery_astdb.so',
      'res_pjsip.so',
      'chan_pjsip.so',
      'res_pjsip_registrar.so',
      'res_rtp_asterisk.so',
      'format_wav.so',
      'format_sln.so',
      'codec_resample.so',
      'codec_g722.so',
      'res_musiconhold.so',
      'bridge_simple.so',
      'res_timing_timerfd.so',
    ]) {
      expect(loaded, m).toContain(m);
    }
    expect(new Set(loaded).size, 'a module listed twice').toBe(loaded.length);
  });

  it('extensions.conf follows the dialplan contract', () => {
    const conf = parsed('extensions.conf');
    const fromTrunk = effectiveEntries(conf, section(conf, 'from-trunk')!).get('exten') ?? [];
    // the shedding gate first (src/calls/overload/shedding.ts), then the controller
    expect(fromTrunk[0]).toMatch(
      /^_\[\+0-9\]\.,1,GotoIf\(\$\[\$\{EPOCH\} < 0\$\{PBX_SHED_UNTIL_\$\{ARI_APP\}\} & \$\{RAND\(1,100\)\} <= 0\$\{PBX_SHED_PERCENT_\$\{ARI_APP\}\}\]\?shed\)$/,
    );
    const trunkSteps = section(conf, 'from-trunk')!.entries.map((e) => e.value);
    expect(trunkSteps).toContain('n,Stasis(${ARI_APP},inbound)');
    expect(trunkSteps).toContain('n(shed),Hangup(34)');
    // the provisioner puts devices into this context
    const fromDevices =
      effectiveEntries(conf, section(conf, DEFAULT_DEVICE_OPTIONS.context)!).get('exten') ?? [];
    expect(fromDevices.some((e) => e.includes('Stasis(${ARI_APP},internal)'))).toBe(true);
    const globals = effectiveEntries(conf, section(conf, 'globals')!);
    expect(globals.get('ARI_APP')?.at(-1)).toBe('pbx');
  });

  it('pjsip.conf: UDP and TCP transports, the trunk template enters from-trunk', () => {
    const conf = parsed('pjsip.conf');
    const protocols = conf.sections
      .filter((s) => !s.isTemplate && effectiveEntries(conf, s).get('type')?.at(-1) === 'transport')
      .map((s) => effectiveEntries(conf, s).get('protocol')?.at(-1));
    expect(protocols.sort()).toEqual(['tcp', 'udp']);
    const trunkTemplate = conf.sections.find((s) => s.name === 'trunk-endpoint-template')!;
    expect(effectiveEntries(conf, trunkTemplate).get('context')).toEqual(['from-trunk']);
  });

  it('http.conf raises the session limit; ari.conf ships no user and no password', () => {
    const http = parsed('http.conf');
    expect(
      Number(effectiveEntries(http, section(http, 'general')!).get('sessionlimit')?.[0]),
    ).toBeGreaterThanOrEqual(500);
    const shipped = readFileSync(join(asteriskDir, 'ari.conf'), 'utf8');
    expect(shipped).not.toMatch(/^\s*password\s*=/m);
    expect(shipped).not.toMatch(/type\s*=\s*user/);
  });

  it('extensions-e2e.conf: every extension ends in Stasis, with only Set() or the shedding gate before it (what the ARI simulator reads)', () => {
    const conf = parseConf(asteriskDir, 'extensions-e2e.conf');
    const contexts = conf.sections.map((s) => s.name);
    expect(contexts).toEqual(['e2e-trunk', 'e2e-internal', 'e2e-devices', 'e2e-pstn']);
    for (const s of conf.sections) {
      // the gate's target: a labelled Hangup after the Stasis
      const steps = s.entries.map((e) => e.value).filter((v) => !/^n\([\w-]+\),Hangup\(\d+\)$/.test(v));
      expect(steps[0], s.name).toMatch(/^_?[^,]+,1,/);
      expect(steps.at(-1), s.name).toMatch(/(^_?[^,]+,1,|^n,)Stasis\([A-Za-z0-9_-]+(,[^)]*)?\)$/);
      for (const step of steps.slice(0, -1))
        expect(step, s.name).toMatch(/(^_?[^,]+,1,|^n,)(Set\(|GotoIf\(\$\[.*\]\?[\w-]+\)$)/);
    }
    // the trunk world has the production trunk's gate
    expect(conf.sections[0]!.entries.map((e) => e.value)).toContain('n(shed),Hangup(34)');
  });
});

describe('docker-entrypoint.sh', () => {
  const generated = (etc: string) =>
    readdirSync(join(etc, 'generated'))
      .map((f) => readFileSync(join(etc, 'generated', f), 'utf8'))
      .join('\n');

  it.each([
    [{}, 'ARI_USERNAME is required'],
    [{ ARI_USERNAME: 'controller' }, 'ARI_PASSWORD or ARI_PASSWORD_FILE is required'],
    [{ ARI_USERNAME: 'controller', ARI_PASSWORD: 'short' }, 'at least 16 characters'],
    [{ ARI_USERNAME: 'bad]name', ARI_PASSWORD: 'correct-horse-battery-staple' }, 'ARI_USERNAME'],
    [{ ...GOOD_ENV, ARI_PASSWORD_FILE: '/nonexistent', ARI_PASSWORD: '' }, 'ARI_PASSWORD_FILE'],
    [
      { ...GOOD_ENV, TRUNK_HOST: 'carrier.example', TRUNK_USERNAME: 'a\n[evil]' },
      'TRUNK_USERNAME must be a single line',
    ],
    [{ ...GOOD_ENV, TRUNK_HOST: 'carrier.example;x' }, 'TRUNK_HOST'],
    [{ ...GOOD_ENV, ARI_APP: 'pbx,evil' }, 'ARI_APP'],
  ])('refuses %j naming the problem', (env, message) => {
    const r = render(env as Record<string, string>);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it('stores the ARI password only as a SHA-512 crypt hash that verifies', () => {
    const users = readFileSync(join(rendered.etc, 'generated', 'ari_users.conf'), 'utf8');
    expect(generated(rendered.etc)).not.toContain(GOOD_ENV.ARI_PASSWORD);
    const hash = /password = (\$6\$rounds=1000\$[^$]+\$\S+)/.exec(users)![1]!;
    // 1000 rounds: Asterisk checks the hash on every ARI request (docker-entrypoint.sh)
    const salt = hash.split('$').slice(2, 4).join('$');
    const again = execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], {
      input: GOOD_ENV.ARI_PASSWORD,
      encoding: 'utf8',
    }).trim();
    expect(again).toBe(hash);
    expect(users).toMatch(/^\[controller\]\ntype = user\n/);
  });

  it('ARI_PASSWORD_FORMAT=plain stores the password as it is, and says so', () => {
    const r = render({ ...GOOD_ENV, ARI_PASSWORD_FORMAT: 'plain' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('ARI_PASSWORD_FORMAT=plain');
    expect(r.stderr).not.toContain(GOOD_ENV.ARI_PASSWORD);
    const users = readFileSync(join(r.etc, 'generated', 'ari_users.conf'), 'utf8');
    expect(users).toContain('password_format = plain\n');
    expect(users).toContain(`password = ${GOOD_ENV.ARI_PASSWORD}\n`);
    expect(render({ ...GOOD_ENV, ARI_PASSWORD_FORMAT: 'md5' }).stderr).toContain(
      'ARI_PASSWORD_FORMAT: crypt or plain',
    );
  });

  it('reads the password from a secret file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    tmpDirs.push(dir);
    const file = join(dir, 'ari_password');
    execFileSync('sh', ['-c', `printf '%s\\n' 'from-a-secret-file-1234' > ${file}`]);
    const r = render({ ARI_USERNAME: 'controller', ARI_PASSWORD_FILE: file });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(r.etc, 'generated', 'ari_users.conf'), 'utf8')).toMatch(/password = \$6\$/);
  });

  it('renders the trunk: endpoint, aor, auth with ; escaped, identify, registration', () => {
    const r = render({
      ...GOOD_ENV,
      TRUNK_HOST: 'sip.carrier.example:5060',
      TRUNK_USERNAME: '4930123',
      TRUNK_PASSWORD: 'pa;ss',
      TRUNK_MATCH: '198.51.100.0/24',
      TRUNK_REGISTER: 'yes',
    });
    expect(r.status, r.stderr).toBe(0);
    const conf = parseConf(r.etc, 'pjsip.conf');
    expect(conf.problems).toEqual([]);
    const typed = (name: string, type: string) => {
      const s = section(conf, name, type);
      expect(s, `${name} ${type}`).toBeDefined();
      return effectiveEntries(conf, s!);
    };
    expect(typed('trunk', 'endpoint').get('context')).toEqual(['from-trunk']);
    expect(typed('trunk', 'endpoint').get('outbound_auth')).toEqual(['trunk-auth']);
    expect(typed('trunk', 'aor').get('contact')).toEqual(['sip:sip.carrier.example:5060']);
    expect(typed('trunk-auth', 'auth').get('password')).toEqual(['pa;ss']);
    expect(typed('trunk-identify', 'identify').get('match')).toEqual(['198.51.100.0/24']);
    expect(typed('trunk-registration', 'registration').get('client_uri')).toEqual([
      'sip:4930123@sip.carrier.example',
    ]);
  });

  it('loads the e2e dialplan only when ASTERISK_E2E=yes', () => {
    expect(parsed('extensions.conf').sections.map((s) => s.name)).not.toContain('e2e-trunk');
    const r = render({ ...GOOD_ENV, ASTERISK_E2E: 'yes' });
    expect(parseConf(r.etc, 'extensions.conf').sections.map((s) => s.name)).toContain('e2e-trunk');
  });

  it('adds the NAT addresses to both transports when SIP_EXTERNAL_ADDRESS is set', () => {
    const r = render({ ...GOOD_ENV, SIP_EXTERNAL_ADDRESS: '203.0.113.7', SIP_LOCAL_NETS: '10.0.0.0/8' });
    const conf = parseConf(r.etc, 'pjsip.conf');
    for (const name of ['transport-udp', 'transport-tcp']) {
      const e = effectiveEntries(conf, section(conf, name)!);
      expect(e.get('external_media_address')).toEqual(['203.0.113.7']);
      expect(e.get('local_net')).toEqual(['10.0.0.0/8']);
    }
  });
});
