import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Another runtime holds the data folder: two processes on one SQLite and one LevelDB would corrupt both. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`${dataDir} is in use by another local runtime (pid ${pid})`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * Takes the data folder for this process with a pid file (`<dir>/runtime.pid`, created exclusively); a file left by
 * a process that is gone (killed, crashed) is taken over. Returns the release. Hand-written: the one case it has to
 * tell apart, a live owner from a dead one, is `process.kill(pid, 0)` and a look at /proc, which a lock library
 * would add little to.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'runtime.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        throw new DataDirInUseError(dir, owner);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take ${file}`);
}

/**
 * Throws {@link DataDirInUseError} if a live process holds `dir`. The CLI asks before it synthesizes, so a second
 * `npm start` never rewrites the cdk.out the first one is running.
 */
export function assertDataDirFree(dir: string): void {
  let owner: number;
  try {
    owner = Number(readFileSync(join(dir, 'runtime.pid'), 'utf8'));
  } catch {
    return;
  }
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
    throw new DataDirInUseError(dir, owner);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent died too stays a zombie until pid 1 reaps it, which a container's may never do.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (macOS): there, init reaps at once
  }
}
