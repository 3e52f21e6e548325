/**
 * The composition root as a real process: a bad environment variable stops it with a message
 * naming the variable; a good one serves the API and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

// main.ts imports src/store/index.ts, which another engineer is still writing
const storeLanded = existsSync(new URL('../../src/store/index.ts', import.meta.url));
if (!storeLanded) console.warn('main.test.ts skipped: src/store/index.ts does not exist yet');

describe.skipIf(!storeLanded)('main.ts', () => {
  it('exits 1 naming the bad variable', async () => {
    const p = start({ PORT: 'not-a-port', ADMIN_TOKEN: 'short' });
    expect(await p.exited).toBe(1);
    expect(p.err()).toContain('PORT');
    expect(p.err()).toContain('ADMIN_TOKEN');
  });

  it('serves the API on the in-memory store and stops cleanly on SIGTERM', async () => {
    const p = start({
      PORT: '0',
      HOST: '127.0.0.1',
      ARI_ENABLED: 'false',
      LOG_LEVEL: 'info',
      ADMIN_TOKEN: 'a'.repeat(32),
    });
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out());
        if (m) {
          clearInterval(timer);
          resolve(m[1]!);
        }
      }, 20);
      void p.exited.then((code) => {
        clearInterval(timer);
        reject(new Error(`exited early with ${code}: ${p.err()}`));
      });
    });
    expect(p.out()).toContain('NOTHING IS PERSISTED');
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
    const created = await fetch(`${address}/v1/companies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${'a'.repeat(32)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Main GmbH' }),
    });
    expect(created.status).toBe(201);
    expect(p.out()).not.toContain('a'.repeat(32));
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
