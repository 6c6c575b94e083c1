import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../platform/paths.js';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn's 0-4 scale; 3 is "safely unguessable: moderate protection from offline slow-hash scenario". */
const MIN_SCORE = 3;
/**
 * Most passwords take well under a second, a crafted one far longer (the worker judges 64 characters
 * at most). The margin is for a saturated machine: at 10 s, ordinary sign-ups were refused on a
 * 2-core machine under full load (CI); a crafted password holds the checker at most this long.
 */
export const STRENGTH_DEADLINE_MS = 30_000;

const WORKER = path.join(projectRoot, 'src/identity/password-strength.worker.mjs');

/** After this long without a check the worker ends: its dictionaries hold ~30 MB. */
const IDLE_MS = 60_000;

interface Estimate {
  score: number;
  warning: string | null;
  suggestion: string | null;
}
interface Check {
  password: string;
  inputs: string[];
  deadlineMs: number;
  resolve(estimate: Estimate | undefined): void;
  reject(err: unknown): void;
  deadline?: NodeJS.Timeout;
}

let worker: Worker | undefined;
let ready = false;
let idle: NodeJS.Timeout | undefined;
let nextId = 0;
/** Waiting checks, oldest first; the worker is given one at a time, so each deadline is its own work. */
const checks = new Map<number, Check>();
let running: number | undefined;

function next(): void {
  if (!worker || !ready || running !== undefined) return;
  const first = checks.entries().next();
  if (first.done) return;
  const [id, check] = first.value;
  running = id;
  check.deadline = setTimeout(() => timedOut(id), check.deadlineMs);
  worker.postMessage({ id, password: check.password, inputs: check.inputs });
}

function finish(id: number): Check | undefined {
  const check = checks.get(id);
  if (!check) return undefined;
  checks.delete(id);
  clearTimeout(check.deadline);
  if (running === id) running = undefined;
  if (checks.size === 0) idle = setTimeout(stop, IDLE_MS).unref();
  return check;
}

function stop(): void {
  const stopping = worker;
  worker = undefined;
  ready = false;
  running = undefined;
  void stopping?.terminate();
}

/**
 * A check ran past its deadline: it gets no estimate, and the worker, stuck on it, is replaced. The
 * checks waiting behind it go to the new worker.
 */
function timedOut(id: number): void {
  finish(id)?.resolve(undefined);
  stop();
  if (checks.size > 0) start();
}

function start(): void {
  const started = new Worker(WORKER);
  started.unref(); // an idle checker never keeps the process alive
  started.on('message', (message: { ready: true } | (Estimate & { id: number })) => {
    if ('ready' in message) {
      ready = true;
    } else {
      const { id, ...estimate } = message;
      finish(id)?.resolve(estimate);
    }
    next();
  });
  // The worker cannot load (a broken install): that is the operator's problem, not the password's.
  started.on('error', (err) => {
    if (worker !== started) return;
    stop();
    for (const id of [...checks.keys()]) finish(id)?.reject(err);
  });
  worker = started;
}

/** zxcvbn's estimate, or undefined when it did not finish before the deadline. */
function estimate(password: string, inputs: string[], deadlineMs: number): Promise<Estimate | undefined> {
  clearTimeout(idle);
  const id = nextId++;
  return new Promise((resolve, reject) => {
    checks.set(id, { password, inputs, deadlineMs, resolve, reject });
    if (worker) next();
    else start();
  });
}

/**
 * NIST 800-63B: length of at least 12, no composition rules, and refused when a strength
 * estimator with common-password dictionaries finds it guessable. Returns the reason, or null.
 */
export async function passwordProblem(
  password: string,
  context: { email?: string } = {},
  { deadlineMs = STRENGTH_DEADLINE_MS } = {},
): Promise<string | null> {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH)
    return (
      `Use at least ${MIN_PASSWORD_LENGTH} characters (this has ${length}). A few unrelated words make a ` +
      `strong one.`
    );
  if (length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  const inputs = context.email ? [context.email, ...context.email.split(/[@.+_-]/)].filter((s) => s.length > 2) : [];
  const result = await estimate(password, inputs, deadlineMs);
  if (!result) return 'This password takes too long to check. Use a few unrelated words instead.';
  if (result.score >= MIN_SCORE) return null;
  const why = result.warning ?? 'This password is easy to guess.';
  const tip = result.suggestion ?? 'Add another word or two that are not related.';
  return `${why.replace(/\.?$/, '.')} ${tip}`;
}
