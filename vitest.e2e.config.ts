import { defineConfig } from 'vitest/config';

// The real-Asterisk suite: see test/e2e/README (skips with a printed reason when no Asterisk is reachable).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
