import { afterAll } from 'vitest';
import type { FeatureContext, TrustVerdict } from '../../src/feature.js';
import { FEATURES } from '../../src/features.js';
import { injectProbe } from '../../src/trust/probe.js';
import { captureContext, createTestApp, type TestApp, type TestAppOptions } from './app.js';

export interface TrustTestApp {
  t: TestApp;
  /** The feature context of the running app (its services: ctx().use('orgs')). */
  ctx(): FeatureContext;
  /** Runs the live check with this id, as the trust page does (through the app, in process). */
  check(id: string): Promise<TrustVerdict>;
}

/** A test app of one test file whose trust checks can be run one by one; closed after the file's last test. */
export async function trustTestApp(
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TrustTestApp> {
  const { feature: capture, ctx } = captureContext();
  const t = await createTestApp(env, undefined, { ...options, features: [...(options.features ?? FEATURES), capture] });
  afterAll(() => t.close());
  const probe = injectProbe(t.app);
  return {
    t,
    ctx,
    async check(id) {
      const found = ctx()
        .features.flatMap((f) => f.trustChecks?.(ctx()) ?? [])
        .find((c) => c.id === id);
      if (!found) throw new Error(`no trust check has the id ${id}`);
      return found.run(probe);
    },
  };
}
