import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Each file starts its own emulators on free ports; files run in parallel, tests inside a file in order.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
