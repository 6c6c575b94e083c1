import { performance } from 'node:perf_hooks';

export interface Measurement {
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `op` for a warm-up, then `seconds` more, `concurrency` at a time; returns throughput and latency. */
export async function measure(
  op: () => Promise<unknown> | unknown,
  { seconds = 3, concurrency = 1, warmup = 0.5 } = {},
): Promise<Measurement> {
  const run = async (duration: number, samples: number[] | null) => {
    const end = performance.now() + duration * 1000;
    let count = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const start = performance.now();
          await op();
          samples?.push(performance.now() - start);
          count++;
        }
      }),
    );
    return count;
  };
  await run(warmup, null);
  const samples: number[] = [];
  const started = performance.now();
  const count = await run(seconds, samples);
  const elapsed = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { opsPerSecond: count / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) };
}

export function report(name: string, subject: Measurement, baseline: Measurement, baselineName: string): void {
  const fmt = (m: Measurement) =>
    `${m.opsPerSecond.toFixed(0)} ops/s, p50 ${m.p50Ms.toFixed(3)} ms, p99 ${m.p99Ms.toFixed(3)} ms`;
  console.log(`${name}: ${fmt(subject)}`);
  console.log(`  baseline (${baselineName}): ${fmt(baseline)}`);
  console.log(`  ratio: ${(subject.opsPerSecond / baseline.opsPerSecond).toFixed(3)} of baseline throughput`);
}
