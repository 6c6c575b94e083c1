// Figures: medians, the least-squares slope of RSS, the per-round lines and the goals table of issue 12.
import type { LoadResult } from './load.js';

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Least-squares slope of y over x. */
export function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? Number.NaN : num / den;
}

export const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
export const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
export const f3 = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
export const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

/** One measured load of one route in one round; `valid` is false when any answer was not the expected one. */
export interface RoundFigure {
  result: LoadResult;
  ratio: number;
  valid: boolean;
}

export const isValid = (r: LoadResult) => r.non2xx === 0 && r.errors === 0 && r.requests > 0;

export function roundLine(label: string, fig: RoundFigure, ratioLabel = 'x bare'): string {
  const r = fig.result;
  const head = `  ${label.padEnd(34)}`;
  const tail = `non-2xx ${r.non2xx}, errors ${r.errors}, ${r.requests} requests`;
  if (!fig.valid) return `${head}INVALID (${tail})`;
  return (
    `${head}${f1(r.rps).padStart(9)} req/s  p50 ${f2(r.p50).padStart(7)} ms  p99 ${f2(r.p99).padStart(8)} ms  ` +
    `${f3(fig.ratio)} ${ratioLabel}  (${tail})`
  );
}

/** The medians of one route over its rounds, or INVALID when any round was. */
export function medianLine(label: string, figs: RoundFigure[], ratioLabel = 'x bare') {
  const invalid = figs.filter((f) => !f.valid).length;
  const rps = median(figs.map((f) => f.result.rps));
  const ratio = median(figs.map((f) => f.ratio));
  const head = `  ${label.padEnd(34)}`;
  const non2xx = figs.reduce((s, f) => s + f.result.non2xx, 0);
  if (invalid > 0) {
    return {
      valid: false,
      ratio,
      rps,
      line: `${head}INVALID: ${invalid} of ${figs.length} round(s) had other answers`,
    };
  }
  const p50 = median(figs.map((f) => f.result.p50));
  const p99 = median(figs.map((f) => f.result.p99));
  return {
    valid: true,
    ratio,
    rps,
    line:
      `${head}${f1(rps).padStart(9)} req/s  p50 ${f2(p50).padStart(7)} ms  p99 ${f2(p99).padStart(8)} ms  ` +
      `${f3(ratio)} ${ratioLabel}  (non-2xx ${non2xx})`,
  };
}

export interface Goal {
  goal: string;
  measured: string;
  /** true / false, or undefined when it could not be measured (invalid, not run). */
  met: boolean | undefined;
}

export function goalsTable(goals: Goal[]): string {
  const w1 = Math.max(4, ...goals.map((g) => g.goal.length));
  const w2 = Math.max(8, ...goals.map((g) => g.measured.length));
  const verdict = (m: boolean | undefined) => (m === undefined ? 'not measured' : m ? 'met' : 'NOT met');
  return [
    `  ${'goal'.padEnd(w1)}  ${'measured'.padEnd(w2)}  verdict`,
    `  ${'-'.repeat(w1)}  ${'-'.repeat(w2)}  ------------`,
    ...goals.map((g) => `  ${g.goal.padEnd(w1)}  ${g.measured.padEnd(w2)}  ${verdict(g.met)}`),
  ].join('\n');
}
