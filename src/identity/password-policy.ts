import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../platform/paths.js';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn's 0-4 scale; 3 is "safely unguessable: moderate protection from offline slow-hash scenario". */
const MIN_SCORE = 3;
/** Most passwords take milliseconds; a few crafted ones take seconds. Those are refused, not waited for. */
export const STRENGTH_DEADLINE_MS = 5000;

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
const checks = new Map<number, Check>();

function send(id: number, check: Check): void {
  check.deadline = setTimeout(() => timedOut(id), check.deadlineMs);
  worker!.postMessage({ id, password: check.password, inputs: check.inputs });
}

function finish(id: number): Check | undefined {
  const check = checks.get(id);
  if (!check) return undefined;
  checks.delete(id);
  clearTimeout(check.deadline);
  if (checks.size === 0) idle = setTimeout(stop, IDLE_MS).unref();
  return check;
}

function stop(): void {
  const stopping = worker;
  worker = undefined;
  ready = false;
  void stopping?.terminate();
}

/**
 * A check ran past its deadline: it gets no estimate, and the worker, which may be stuck on it, is
 * replaced. The checks queued behind it go to the new worker, each with a deadline of its own.
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
      for (const [id, check] of checks) send(id, check);
      return;
    }
    const { id, ...estimate } = message;
    finish(id)?.resolve(estimate);
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
    const check = { password, inputs, deadlineMs, resolve, reject };
    checks.set(id, check);
    if (!worker) start();
    else if (ready) send(id, check);
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
