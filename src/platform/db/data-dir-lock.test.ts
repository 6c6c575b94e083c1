import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorError } from '../errors.js';
import { LOCK_FILE, lockDataDir } from './data-dir-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rampart-lock-'));
  dirs.push(dir);
  return dir;
}

describe('data directory lock', () => {
  it('holds this PID while taken, refuses a second taker, and is gone once released', () => {
    const dir = tempDir();
    const notices: string[] = [];
    const lock = lockDataDir(dir, (m) => notices.push(m));
    expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    expect(() => lockDataDir(dir, (m) => notices.push(m))).toThrow(/already open in this process/);
    lock.release();
    lock.release(); // twice is harmless
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir, (m) => notices.push(m)).release();
    expect(notices).toEqual([]);
  });

  it('refuses while another live process holds it, naming its PID and the lock file', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`); // the process that started this one: alive
    const take = () => lockDataDir(dir, () => {});
    expect(take).toThrow(OperatorError);
    expect(take).toThrow(
      new RegExp(
        `in use by another Rampart process \\(PID ${process.ppid}, lock file ` +
          `${path.join(dir, LOCK_FILE).replace(/[.]/g, '\\.')}\\)`,
      ),
    );
    expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.ppid}\n`);
  });

  it(
    'takes over a stale lock: a PID that is not running, its own PID from an earlier life (container ' +
      'restart), or no PID at all',
    () => {
      for (const content of ['999999999\n', `${process.pid}\n`, '']) {
        const dir = tempDir();
        writeFileSync(path.join(dir, LOCK_FILE), content);
        const notices: string[] = [];
        const lock = lockDataDir(dir, (m) => notices.push(m));
        expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
        expect(notices).toHaveLength(1);
        expect(notices[0]).toMatch(
          content ? /took over the stale lock file .*no longer running/ : /took over the lock file .*named no process/,
        );
        lock.release();
      }
    },
  );

  it("release leaves alone a lock file that is no longer this process's", () => {
    const dir = tempDir();
    const lock = lockDataDir(dir, () => {});
    writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`);
    lock.release();
    expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.ppid}\n`);
  });
});
