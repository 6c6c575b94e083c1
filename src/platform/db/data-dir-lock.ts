import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../errors.js';

/** The lock file in an embedded data directory: the PID of the one process that has it open. */
export const LOCK_FILE = 'rampart.lock';

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file (once; only while it still holds this process's PID). */
  release(): void;
}

/** Data directories this process holds: a lock file with our own PID that is not here is stale (PID reuse). */
const held = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n', 1)[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates the lock file with its content in one step (a hard link of a written file): no reader sees it empty. */
function tryCreate(file: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Two processes on one embedded database each see only their own writes and lose the other's: the
 * embedded database is one process's. Creates `<dataDir>/rampart.lock` holding this PID, or refuses
 * while a live process holds it. A lock whose process is gone (killed, crashed, machine restarted)
 * is stale: it is taken over, and `onTakeOver` says so. The lock goes when released or at exit.
 */
export function lockDataDir(dataDir: string, onTakeOver: (message: string) => void): DataDirLock {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_FILE);
  if (held.has(dir)) throw new OperatorError(`the data directory ${dir} is already open in this process`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  for (let attempt = 0; !tryCreate(file); attempt++) {
    const pid = readPid(file);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) {
      throw new OperatorError(
        `the data directory ${dir} is in use by another Rampart process (PID ${pid}, lock file ${file}); ` +
          'stop that process first, or give this one its own RAMPART_DATA_DIR. If no Rampart runs there, ' +
          'delete the lock file',
      );
    }
    if (attempt >= 3) throw new OperatorError(`cannot take the lock file ${file}: other processes keep changing it`);
    // Stale. Move it aside rather than delete it: of two processes taking over at once, only one moves
    // the stale file, and one that moved a fresh lock instead (the other's) puts it back.
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = readPid(aside);
    if (moved !== pid) {
      try {
        linkSync(aside, file);
      } catch {
        // Someone else has created a lock meanwhile: the next round reads it.
      }
      unlinkSync(aside);
      continue;
    }
    unlinkSync(aside);
    if (!tryCreate(file)) continue;
    onTakeOver(
      pid === undefined
        ? `took over the lock file ${file}, which named no process`
        : `took over the stale lock file ${file}: the process that held it (PID ${pid}) is no longer running`,
    );
    break;
  }

  held.add(dir);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(dir);
    process.off('exit', release);
    try {
      if (readPid(file) === process.pid) unlinkSync(file);
    } catch {
      // Gone already, or the directory was removed: nothing to release.
    }
  };
  process.on('exit', release);
  return { file, release };
}
