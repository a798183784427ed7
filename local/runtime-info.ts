import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Physical } from './template/types.js';

/**
 * What a running `npm start` tells other commands on the same machine (`npm run queue -- --local`): where its
 * services listen and which assembly it runs. Written to `<data-dir>/runtime.json` once it is ready, removed when
 * it stops; a file left by a killed runtime names a pid that is gone.
 */
export interface RuntimeInfo {
  pid: number;
  /** The gateway, `http://127.0.0.1:<port>`: also the base of the `@connections` API. */
  httpUrl: string;
  sqs: string;
  dynamodb: string;
  region: string;
  cdkOut: string;
  /**
   * The stacks running, in deploy order, each with what its `Ref`s and `Fn::GetAtt`s resolve to here (queue URLs,
   * ARNs), as the functions see them: by stack, as logical ids are unique only within one.
   */
  stacks: { name: string; physical: [string, Physical][] }[];
}

const fileIn = (dataDir: string) => join(dataDir, 'runtime.json');

export function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): () => void {
  const file = fileIn(dataDir);
  writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
  return () => rmSync(file, { force: true });
}

/** The running runtime's info, or undefined when none is running on this folder. */
export function readRuntimeInfo(dataDir: string): RuntimeInfo | undefined {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(readFileSync(fileIn(dataDir), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return info;
}
