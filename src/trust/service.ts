import type { TrustCheck } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import type { Database } from '../platform/db/database.js';
import type { DeploymentSettings } from '../operator/index.js';
import { catalogue, type ControlGroup } from './catalogue.js';
import { recentChanges, type StatusChange } from './repository.js';
import { buildReport, strayChecks, type TrustReport } from './report.js';
import type { CheckRunner } from './runner.js';
import type { PublicJwk, ReportSigner, Signature } from './signing.js';

export interface SignedReport {
  report: TrustReport;
  signature: Signature;
}

export interface TrustService {
  runner: CheckRunner;
  catalogue: readonly ControlGroup[];
  /** The report from the stored results (running the checks first if none were ever run). */
  report(opts?: { runIfEmpty?: boolean }): Promise<TrustReport>;
  signed(opts?: { runIfEmpty?: boolean }): Promise<SignedReport>;
  jwks(): { keys: PublicJwk[] };
  changes(limit?: number): Promise<StatusChange[]>;
  /** Checks that name a control the catalogue does not list. */
  stray: readonly TrustCheck[];
  settings(): Promise<DeploymentSettings>;
}

export function createTrustService(deps: {
  db: Database;
  clock: Clock;
  baseUrl: string;
  runner: CheckRunner;
  signer: ReportSigner;
  settings(): Promise<DeploymentSettings>;
  catalogue?: readonly ControlGroup[];
}): TrustService {
  const groups = deps.catalogue ?? catalogue();
  const report = async (opts: { runIfEmpty?: boolean } = {}): Promise<TrustReport> => {
    const [results, settings] = await Promise.all([deps.runner.results(opts), deps.settings()]);
    return buildReport({
      catalogue: groups,
      checks: deps.runner.checks,
      results,
      instance: deps.baseUrl,
      generatedAt: deps.clock.now(),
      product: {
        name: settings.productName,
        securityContact: settings.securityContact,
        policyUrl: settings.policyUrl,
      },
    });
  };
  return {
    runner: deps.runner,
    catalogue: groups,
    report,
    async signed(opts) {
      const r = await report(opts);
      return { report: r, signature: deps.signer.sign(r) };
    },
    jwks: () => ({ keys: [deps.signer.jwk] }),
    changes: (limit = 50) => deps.db.withSystem((tx) => recentChanges(tx, limit)),
    stray: strayChecks(groups, deps.runner.checks),
    settings: deps.settings,
  };
}
