import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

// The SDK's Node entry on Node.js 20, which has no global WebSocket, so the entry falls back to the `ws` package. The
// project's scripts run on its own Node.js 24 (the `node` package, first on npm's PATH); the machines' Node.js 20
// is further down the PATH, outside node_modules.
const run = promisify(execFile);

/** The first `node` on the PATH, outside node_modules, whose major version is below 22 (no global WebSocket). */
function findOldNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const path = join(dir, process.platform === 'win32' ? 'node.exe' : 'node');
    try {
      accessSync(path, constants.X_OK);
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(/^v(\d+)\./.exec(version)?.[1]) < 22) return { path, version };
    } catch {
      // not there, or not runnable: try the next directory
    }
  }
  return undefined;
}

const oldNode = findOldNode();
let postbox: Postbox;

describe.skipIf(!oldNode)(
  `the Node entry on ${oldNode?.version ?? 'Node.js 20 (none found on the PATH: skipped)'}`,
  () => {
    beforeAll(async () => {
      postbox = await startPostbox();
    });
    afterAll(() => postbox?.stop());

    it('imports the built entry with no loader, subscribes and publishes through the ws fallback, each message once, in order', async () => {
      const { stdout } = await run(
        oldNode?.path as string,
        // No loader: plain Node resolves `postbox/client` to the built entry, client/dist/node.js.
        [join('test', 'client', 'fixtures', 'node20-client.mjs')],
        {
          cwd: process.cwd(),
          timeout: 60_000,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            POSTBOX_URL: postbox.local.url,
            ALICE_TOKEN: await mintToken(postbox.secret, 'n20-alice', '10m'),
            BOB_TOKEN: await mintToken(postbox.secret, 'n20-bob', '10m'),
            TOPIC: 'n20-topic',
          },
        },
      );
      const report = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(report.node).toBe(oldNode?.version);
      expect(report.globalWebSocket).toBe('undefined');
      expect(report.received).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
      expect(report.ids).toHaveLength(5);
    });
  },
);
