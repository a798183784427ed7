import { needsSynth, synthesize } from '../local/template/synth.js';

/**
 * The end-to-end suites run the synthesized Postbox app: synthesize it once, before any suite, when cdk.out is
 * missing or older than the app (a fresh clone, or a change to infra/ or functions/), as `npm start` would.
 */
export default async function setup(): Promise<void> {
  const root = process.cwd();
  if (needsSynth(root, 'cdk.out')) await synthesize(root, 'cdk.out');
}
