/**
 * The process logger: secrets are redacted wherever they appear, and batched lines still
 * reach the output without an explicit flush (the once-a-second timer).
 */
import { openSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging.js';

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempLog() {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-log-'));
  tempDirs.push(dir);
  const file = join(dir, 'out.log');
  return { file, fd: openSync(file, 'w') };
}

async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('createLogger', () => {
  it('redacts PINs, passwords, tokens and authorization headers at any depth', async () => {
    const { file, fd } = tempLog();
    const logger = createLogger('info', fd);
    logger.info(
      {
        pin: '4711',
        voicebox: { pin: '8520' },
        device: { sipPassword: 'sip-secret-1' },
        token: 'tok-secret-2',
        req: { headers: { authorization: 'Bearer hdr-secret-3' } },
        workplaceId: 'w1',
      },
      'something happened',
    );
    await until(() => readFileSync(file, 'utf8').includes('something happened'), 'the line');
    const out = readFileSync(file, 'utf8');
    for (const secret of ['4711', '8520', 'sip-secret-1', 'tok-secret-2', 'hdr-secret-3']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
    expect(JSON.parse(out.trim().split('\n')[0]!)).toMatchObject({
      workplaceId: 'w1',
      msg: 'something happened',
    });
  });
});
