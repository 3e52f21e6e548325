import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { README_DIALPLAN, TestAri } from './helpers.js';

let child: ChildProcess;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ari-sim-cli-'));
  const dialplanFile = join(dir, 'extensions.conf');
  writeFileSync(dialplanFile, README_DIALPLAN);
  child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tools/ari-sim/cli.ts', '--port', '0', '--dialplan', dialplanFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /listening on (http:\/\/[^\s]+)\/ari/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => (out += String(d)));
    child.once('exit', (code) => reject(new Error(`ari-sim exited ${code}: ${out}`)));
  });
}, 30_000);
afterAll(async () => {
  // wait for the exit: the simulator removes its recordings directory on the way out
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the standalone simulator serves /asterisk/info, api-docs and the event socket to plain clients', async () => {
  const info = await fetch(`${url}/ari/asterisk/info`, {
    headers: { authorization: 'Basic ' + Buffer.from('ari:ari').toString('base64') },
  });
  expect(info.status).toBe(200);
  expect((await info.json()).system.version).toBe('22.10.1');
  const docs = await fetch(`${url}/ari/api-docs/resources.json?api_key=ari:ari`);
  expect(docs.status).toBe(200);
  const resources = await docs.json();
  expect(resources.apis.map((a: { path: string }) => a.path)).toContain('/api-docs/channels.{format}');
  expect(resources.basePath).toBe(`${url}/ari`);
  expect((await fetch(`${url}/ari/api-docs/events.json?api_key=ari:ari`)).status).toBe(200);
  const ws = new TestAri(url, 'pbx,labdriver');
  await ws.connect();
  // the README dialplan routes a Local caller into pbx
  await ws.req('POST', '/channels', {
    endpoint: 'Local/4930@from-trunk',
    app: 'labdriver',
    appArgs: 'caller',
    callerId: '+49170',
  });
  const start = await ws.waitFor((e) => e.type === 'StasisStart' && e.application === 'pbx');
  expect(start.channel.dialplan.exten).toBe('4930');
  ws.close();
});

it('refuses bad arguments with a message naming each', async () => {
  const bad = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'tools/ari-sim/cli.ts',
      '--port',
      'x',
      '--time-scale=-1',
      '--dialplan',
      '/nonexistent',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  bad.stderr!.on('data', (d) => (err += String(d)));
  const code = await new Promise((r) => bad.once('exit', r));
  expect(code).toBe(2);
  expect(err).toContain('--port');
  expect(err).toContain('--time-scale');
  expect(err).toContain('--dialplan');
});
