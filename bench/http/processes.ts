// Child processes of the bench: every one is registered, and killed on exit, on error and on Ctrl-C.
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;

/** Stops every child still running (SIGTERM, SIGKILL after 5 s), then runs every registered cleanup, newest first. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    const running = [...children];
    const gone = running.map((c) => new Promise((resolve) => c.once('exit', resolve)));
    for (const child of running) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const child of running) child.kill('SIGKILL');
    }, 5000);
    await Promise.all(gone);
    clearTimeout(timer);
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** Something to undo before the bench exits (a temp dir, a database). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the bench's processes`);
    const timer = setTimeout(() => process.exit(130), 15_000);
    timer.unref();
    void cleanupAll().finally(() => process.exit(130));
  });
}

/** Spawns a registered child; its stderr is kept (last 8 KiB) for error messages. */
export function start(command: string, args: string[], options: SpawnOptions = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-8192);
  });
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 128 : null));
    });
    child.once('error', (err) => {
      children.delete(child);
      stderr += `\n${err.message}`;
      resolve(-1);
    });
  });
  return {
    child,
    pid: child.pid!,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
    async stop(graceMs = 10_000): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type Child = ReturnType<typeof start>;

/** Runs a child to completion; rejects with its stderr if it exits non-zero. */
export async function runToEnd(command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const c = start(command, args, options);
  const code = await c.exited;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${c.stderr().trim()}`);
  return c.stdout();
}

const PORTS = { first: 3501, last: 3529 };
const taken = new Set<number>();

/** A free loopback port in 3501–3529 not yet handed out by this bench. */
export async function freePort(): Promise<number> {
  for (let port = PORTS.first; port <= PORTS.last; port++) {
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${PORTS.first}-${PORTS.last}`);
}

export function releasePort(port: number): void {
  taken.delete(port);
}

/** Resident set size of a process in MB (VmRSS of /proc/<pid>/status), or NaN where /proc is missing. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Polls GET `url` until it answers 200; rejects if the child exits first or after `timeoutMs`. */
export async function waitFor200(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the process exited before ${url} answered: ${child.stderr().trim()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s: ${child.stderr().trim()}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
