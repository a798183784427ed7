import { needsSynth, synthesize } from '../local/template/synth.js';
import { buildClient } from '../scripts/build-client.js';

/**
 * The end-to-end suites run the synthesized Postbox app: synthesize it once, before any suite, when cdk.out is
 * missing or older than the app (a fresh clone, or a change to infra/ or functions/), as `npm start` would. The
 * SDK's build is made anew too: a test runs it on plain Node, as an app would.
 */
export default async function setup(): Promise<void> {
  const root = process.cwd();
  await buildClient(root);
  if (needsSynth(root, 'cdk.out')) await synthesize(root, 'cdk.out');
}
