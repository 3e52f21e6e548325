import { defineConfig } from 'vitest/config';

// The real-Asterisk suite: see test/e2e/README (skips with a printed reason when no Asterisk is reachable).
// VITEST_REPORT_DIR (CI): a JSON report per tier as well, for the run's closing count
const reportDir = process.env.VITEST_REPORT_DIR;

export default defineConfig({
  test: {
    reporters: reportDir
      ? [
          'default',
          ['json', { outputFile: `${reportDir}/e2e-${process.env.VITEST_REPORT_NAME ?? 'main'}.json` }],
        ]
      : ['default'],
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
