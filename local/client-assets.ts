import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { StaticAsset, StaticAssets } from './gateway/assets.js';

/**
 * The browser SDK as one ESM file (client/browser.ts bundled by the project's esbuild, in memory) at `/postbox.js`,
 * and the demo page using it at `/` and `/demo`, for the gateway to serve. Postbox's own: `npm start` passes them to
 * `startLocal`; the runtime itself serves whatever assets it is given.
 */
export async function clientAssets(root: string): Promise<StaticAssets> {
  const result = await build({
    entryPoints: [join(root, 'client/browser.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const [bundle] = result.outputFiles;
  if (!bundle) throw new Error('esbuild produced no bundle of client/browser.ts');
  const demo = await readFile(join(root, 'client/demo/index.html'), 'utf8');
  const page = { body: demo, contentType: 'text/html; charset=utf-8' };
  return new Map<string, StaticAsset>([
    ['/postbox.js', { body: bundle.contents, contentType: 'application/javascript; charset=utf-8' }],
    ['/', page],
    ['/demo', page],
  ]);
}
