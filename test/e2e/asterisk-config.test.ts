/**
 * The shipped asterisk/ configuration on the real Asterisk 22 (the local build): it starts
 * without an ERROR line — except the allow-list below, each with its reason — and every module
 * modules.conf `require`s is running. Rendered exactly as the container renders it, once as
 * production (ASTERISK_E2E unset) and once with the e2e dialplan.
 * Runs in `npm run test:e2e`; skipped with its reason where no Asterisk binary is installed
 * (fails instead under E2E_REQUIRED=yes, as in CI).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createAriClient } from '../../src/ari/client.js';
import { gateVariables } from '../../src/calls/overload/shedding.js';
import { findAsteriskBinary, startLocalAsterisk, type LocalAsterisk } from '../../tools/asterisk/local.js';

/** ERROR lines Asterisk 22.10.1 logs at start that are not the configuration's fault. */
const ALLOWED_ERRORS: Array<{ pattern: RegExp; why: string }> = [];

const bin = findAsteriskBinary();
if (!bin && process.env.E2E_REQUIRED === 'yes') {
  throw new Error(
    'E2E_REQUIRED=yes but no Asterisk binary (ASTERISK_BIN, /opt/asterisk-22.10.1/sbin/asterisk)',
  );
}
if (!bin)
  console.warn(
    '[asterisk-config] SKIPPED — no Asterisk binary (npm run setup builds one from ../shared/asterisk)',
  );

const modulesConf = readFileSync(join(import.meta.dirname, '../../asterisk/modules.conf'), 'utf8');
const required = [...modulesConf.matchAll(/^require\s*=\s*(\S+)\.so\s*$/gm)].map((m) => m[1]!);

describe.skipIf(!bin).each([
  ['production', false],
  ['e2e', true],
])('asterisk/ on the real Asterisk 22 (%s)', (_name, e2e) => {
  let asterisk: LocalAsterisk | undefined;
  afterAll(async () => {
    await asterisk?.close();
  });

  it('starts without an ERROR line, and every required module runs', async () => {
    asterisk = await startLocalAsterisk({ bin, e2e, startTimeoutMs: 20_000 });
    // fully booted: the log holds everything the start wrote
    asterisk.cli('core waitfullybooted');
    const log = readFileSync(asterisk.logFile, 'utf8');
    const errors = log
      .split('\n')
      .filter((line) => /\bERROR\[/.test(line))
      .filter((line) => !ALLOWED_ERRORS.some((a) => a.pattern.test(line)));
    expect(errors).toEqual([]);

    const modules = asterisk.cli('module show');
    const running = new Set(
      modules
        .split('\n')
        .filter((line) => /\sRunning\s/.test(line))
        .map((line) => line.split(/\s+/)[0]!.replace(/\.so$/, '')),
    );
    expect(required.length).toBeGreaterThan(30);
    expect(required.filter((m) => !running.has(m))).toEqual([]);
    // the dialplan the controller relies on is loaded
    const dialplan = asterisk.cli('dialplan show from-trunk');
    expect(dialplan).toMatch(/Stasis\(\$\{ARI_APP\},inbound\)/);
    expect(asterisk.cli('dialplan show e2e-trunk')).toMatch(
      e2e ? /Stasis\(e2epbx,inbound\)/ : /There is no existence of 'e2e-trunk'/,
    );
  });

  // the production dialplan only (the e2e render has its own copy of the gate, run by the scenarios)
  if (!e2e)
    it("the trunk's shedding gate: closed, a call ends with cause 34 before Stasis; open, it reaches the application", async () => {
      const a = asterisk!;
      const ari = createAriClient({
        url: a.url,
        username: a.username,
        password: a.password,
        app: 'pbx',
        logger: pino({ level: 'silent' }),
      });
      const started: string[] = [];
      ari.events.on('StasisStart', (e) => {
        const ev = e as unknown as { channel: { id: string; dialplan?: { context?: string } } };
        if (ev.channel.dialplan?.context === 'from-trunk') started.push(ev.channel.id);
        void ari.channels.hangup({ channelId: ev.channel.id }).catch(() => {});
      });
      await ari.connect();
      try {
        const gate = gateVariables('pbx');
        /** a trunk call: Local/<number>@from-trunk, the ;2 half runs the production dialplan */
        async function trunkCall(): Promise<number> {
          const ended = new Promise<number>((resolve) => {
            const off = ari.events.on('ChannelDestroyed', (e) => {
              const ev = e as unknown as { channel: { id: string }; cause: number };
              if (ev.channel.id !== id) return;
              off();
              resolve(ev.cause);
            });
          });
          const id = `gate-${Date.now()}-${Math.random().toString(36).slice(2)}`;
          await ari.channels.originate({
            endpoint: 'Local/+4930123456@from-trunk',
            app: 'pbx',
            appArgs: 'caller',
            channelId: id,
          });
          return ended;
        }
        await ari.asterisk.setGlobalVar({
          variable: gate.until,
          value: String(Math.floor(Date.now() / 1000) + 30),
        });
        await ari.asterisk.setGlobalVar({ variable: gate.percent, value: '100' });
        expect(await trunkCall()).toBe(34);
        expect(started, 'nothing reached the application').toEqual([]);
        await ari.asterisk.setGlobalVar({ variable: gate.percent, value: '0' });
        await trunkCall();
        expect(started).toHaveLength(1);
      } finally {
        await ari.close();
      }
    });
});
