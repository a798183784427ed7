import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The SDK's entries as JavaScript in client/dist, which the package's `node`, `browser` and `default` export
 * conditions point at, so plain Node (20+, no loader) and any bundler can import `postbox/client`; the sources stay
 * what the tests import (vitest.config.ts). Run by `npm run build`, by `npm install` (through `prepare`) and
 * before the tests (test/global-setup.ts). One ESM file per entry: the client imports only types from the protocol
 * module, and `ws` (Node 20's fallback, a dependency of the package) stays an import.
 */
export async function buildClient(root = join(import.meta.dirname, '..')): Promise<void> {
  const common = { bundle: true, format: 'esm', target: 'es2022', legalComments: 'none', logLevel: 'warning' } as const;
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(root, 'client/node.ts')],
      outfile: join(root, 'client/dist/node.js'),
      platform: 'node',
      external: ['ws'],
    }),
    build({
      ...common,
      entryPoints: [join(root, 'client/browser.ts')],
      outfile: join(root, 'client/dist/browser.js'),
      platform: 'browser',
    }),
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildClient();
