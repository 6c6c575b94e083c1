import { rateLimited } from '../errors.js';
import type { Limiter, LimitResult } from './limiter.js';

/** A refused limit is a 429 with Retry-After. */
export function enforce(result: LimitResult): void {
  if (!result.allowed) throw rateLimited(result.retryAfterSec);
}

export async function consumeAll(checks: Array<[Limiter, string]>): Promise<void> {
  for (const [limiter, key] of checks) enforce(await limiter.consume(key));
}
