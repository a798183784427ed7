import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `cdk synth` failed; `detail` is the first error line it printed. */
export class SynthError extends Error {
  override readonly name = 'SynthError';
}

/** What the cloud assembly is built from: when any of it is newer than cdk.out, synthesize again. */
const SOURCES = ['infra', 'functions', 'cdk.json', 'package-lock.json'];

/** True when `cdkOut` is missing or older than the newest file of the CDK app, its handlers or its dependencies. */
export function needsSynth(projectRoot: string, cdkOut: string): boolean {
  const manifest = join(cdkOut, 'manifest.json');
  if (!existsSync(manifest)) return true;
  const builtAt = statSync(manifest).mtimeMs;
  return SOURCES.some((source) => newestMtime(join(projectRoot, source)) > builtAt);
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path)
    .filter((name) => name !== 'node_modules' && !name.startsWith('.'))
    .reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

/** Runs the project's own CDK CLI (`cdk synth --quiet`); rejects with a SynthError carrying its first error line. */
export function synthesize(projectRoot: string, output: string): Promise<void> {
  const cdk = join(projectRoot, 'node_modules', '.bin', 'cdk');
  return new Promise((resolve, reject) => {
    const child = spawn(cdk, ['synth', '--quiet', '--output', output], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
    });
    child.stderr.on('data', (chunk) => {
      text += chunk;
    });
    child.on('error', (err) => reject(new SynthError(`could not run ${cdk}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const lines = text.split('\n').map((l) => l.trim());
      const first = lines.find((l) => /error/i.test(l)) ?? lines.find((l) => l) ?? `exit code ${code}`;
      reject(new SynthError(first));
    });
  });
}
