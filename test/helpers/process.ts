import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths.js';

export const repoRoot = projectRoot;

/** A port that was free a moment ago: listen on 0, read it, close. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Several distinct free ports (held open together, so they cannot collide with each other). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Resolves with the error code of a TCP connection attempt ('ECONNREFUSED'), or 'connected'. */
export function tryConnect(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const tempDirs: string[] = [];

export function makeTempDir(prefix = 'rampart-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * A minimal environment for a child Rampart: nothing inherited except PATH and HOME, so a
 * DATABASE_URL (or any RAMPART_* variable) of the test run never leaks in unless a test sets it.
 */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.tmpdir() };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout + stderr contain `pattern`; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: string | RegExp, timeoutMs: number): Promise<void>;
  /** Resolves with the exit code (or signal name); rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

const children = new Set<ChildProcess>();

/** Runs `node --import tsx src/cli.ts ...args` from the repository root. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  return spawnNode(repoRoot, ['--import', 'tsx', 'src/cli.ts', ...args], env);
}

/** Runs `node ...args` in `cwd`. */
export function spawnNode(cwd: string, args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const matches = (p: string | RegExp) => {
    const all = out + err;
    return typeof p === 'string' ? all.includes(p) : p.test(all);
  };
  const describeOutput = () => `\n--- stdout ---\n${out}\n--- stderr ---\n${err}`;

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!matches(pattern)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}${describeOutput()}`));
        }, timeoutMs);
        const onExit = () => {
          // 'close' fires after the streams ended, so everything printed is in out/err by now.
          if (matches(pattern)) return;
          cleanup();
          reject(new Error(`process exited before printing ${String(pattern)}${describeOutput()}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.stderr!.off('data', check);
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        void exit.then(onExit);
        check();
      });
    },
    exited(timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`process still running after ${timeoutMs} ms${describeOutput()}`)),
          timeoutMs,
        );
        void exit.then((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return runToEnd(spawnCli(args, env), timeoutMs);
}

/** Runs `node ...args` in `cwd` to completion. */
export function runNode(cwd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return runToEnd(spawnNode(cwd, args, env), timeoutMs);
}

async function runToEnd(p: CliProcess, timeoutMs: number): Promise<CliResult> {
  try {
    const code = await p.exited(timeoutMs);
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    p.kill('SIGKILL');
  }
}

/** For afterAll: no child outlives its test file. */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}
