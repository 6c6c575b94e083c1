// X4: `npm audit --audit-level=high`, failing on any high or critical advisory.
// When the advisory service itself cannot be reached (some networks allow only GET to the
// registry), there is no verdict to enforce: that is reported loudly and does not count as a pass.
// Each run is recorded in .rampart/dependency-audit.json with the SHA-256 of the lockfile it
// audited: the trust page's X4 check reads it (src/trust/dependency-audit-check.ts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lockfileSha256 = createHash('sha256')
  .update(readFileSync(path.join(root, 'package-lock.json')))
  .digest('hex');
const record = (outcome, extra) => {
  mkdirSync(path.join(root, '.rampart'), { recursive: true });
  const entry = { ranAt: new Date().toISOString(), outcome, lockfileSha256, ...extra };
  writeFileSync(path.join(root, '.rampart', 'dependency-audit.json'), `${JSON.stringify(entry, null, 2)}\n`);
};

const run = spawnSync('npm', ['audit', '--audit-level=high', '--json'], { encoding: 'utf8', cwd: root });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error('audit: npm audit printed no JSON report');
  console.error(run.stderr);
  record('not_run', { reason: 'npm audit printed no report' });
  process.exit(1);
}

if (report.statusCode && !report.metadata) {
  console.log(
    `audit: NOT RUN — the advisory service answered ${report.statusCode} (${report.uri ?? 'unknown endpoint'}).`,
  );
  console.log('audit: dependencies stay pinned by package-lock.json; run `npm audit` where the service is reachable.');
  record('not_run', { reason: `the advisory service answered ${report.statusCode}` });
  process.exit(process.env.RAMPART_REQUIRE_AUDIT === 'true' ? 1 : 0);
}

const counts = report.metadata?.vulnerabilities ?? {};
console.log(`audit: ${JSON.stringify(counts)}`);
const blocking = (counts.high ?? 0) + (counts.critical ?? 0) > 0;
record(blocking ? 'failed' : 'passed', { counts });
if (blocking) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    if (v.severity === 'high' || v.severity === 'critical')
      console.log(`audit: ${v.severity} ${name} ${v.range ?? ''}`);
  }
  process.exit(1);
}
