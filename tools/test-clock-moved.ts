/**
 * The suites that must not depend on the day they were written, run once more with the clock a year
 * ahead (`npm run test:clock`, part of `npm test`): the store (windows, expiries, sessions, links),
 * the pure rules and the API. A test that fixes a calendar date while the code under test also reads
 * the real clock passes on the day it was written and fails here at once.
 *
 * The clock is moved for the Node processes with libfaketime (Debian's `faketime`); redis-server is
 * started without it (tools/redis-server.ts says why). The call tiers are not part of it: event ids
 * come from Redis's clock there, which a moved Node clock would contradict.
 */
import { spawnSync } from 'node:child_process';

const SHIFT = process.env.TEST_CLOCK_SHIFT ?? '+365d';
const SUITES = ['test/store', 'test/domain', 'test/api'];

const probe = spawnSync('faketime', ['-f', SHIFT, 'true'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  const line = 'npm run setup installs it: apt-get install -y faketime';
  if (process.env.CI || process.env.E2E_REQUIRED === 'yes') {
    console.error(`test:clock: faketime is missing (${line}); CI must run the clock-moved tier`);
    process.exit(1);
  }
  console.log(`test:clock skipped: faketime is not installed (${line})`);
  process.exit(0);
}

console.log(`test:clock: ${SUITES.join(', ')} with the clock moved ${SHIFT}`);
const run = spawnSync(
  'faketime',
  ['-f', SHIFT, process.execPath, 'node_modules/vitest/vitest.mjs', 'run', ...SUITES],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      // Node's timers run on the monotonic clock: only the wall clock moves
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      VITEST_REPORT_NAME: process.env.VITEST_REPORT_NAME ?? 'clock-moved',
    },
  },
);
process.exit(run.status ?? 1);
