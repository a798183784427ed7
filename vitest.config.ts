import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The tests import the SDK's TypeScript sources; plain Node gets the client/dist build (node20.test.ts runs that).
  resolve: { alias: { 'postbox/client': fileURLToPath(new URL('./client/node.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Each file starts its own emulators on free ports; files run in parallel, tests inside a file in order.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
