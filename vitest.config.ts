import { defineConfig } from 'vitest/config';

// VITEST_REPORT_DIR (CI): a JSON report per tier as well, for the run's closing count
const reportDir = process.env.VITEST_REPORT_DIR;

export default defineConfig({
  test: {
    reporters: reportDir
      ? [
          'default',
          ['json', { outputFile: `${reportDir}/unit-${process.env.VITEST_REPORT_NAME ?? 'main'}.json` }],
        ]
      : ['default'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    globalSetup: ['test/support/redis-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
