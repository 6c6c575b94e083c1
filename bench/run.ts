// `npm run bench`: the HTTP bench (bench/http/): Rampart, a bare Fastify baseline and the load generator each in
// their own process. `npm run bench -- micro [names]`: the in-process micro benches below, by name.
import * as accountTiming from './account-timing.bench.js';
import * as audit from './audit.bench.js';
import * as envelope from './envelope.bench.js';
import { runHttpBench } from './http/main.js';
import * as oidcRefresh from './oidc-refresh.bench.js';
import * as outboundFetch from './outbound-fetch.bench.js';
import * as revocation from './revocation.bench.js';
import * as rewrap from './rewrap.bench.js';
import * as sdkVerify from './sdk-verify.bench.js';
import * as vault from './vault.bench.js';

const micro: Record<string, { run(): Promise<void> }> = {
  envelope,
  audit,
  revocation,
  'account-timing': accountTiming,
  'sdk-verify': sdkVerify,
  'oidc-refresh': oidcRefresh,
  'outbound-fetch': outboundFetch,
  rewrap,
  vault,
};

const args = process.argv.slice(2);
if (args[0] === 'micro') {
  const only = args.slice(1);
  const unknown = only.filter((n) => !(n in micro));
  if (unknown.length) throw new Error(`no micro bench named ${unknown.join(', ')} (${Object.keys(micro).join(', ')})`);
  for (const [name, bench] of Object.entries(micro)) {
    if (only.length > 0 && !only.includes(name)) continue;
    console.log(`\n# ${name}`);
    await bench.run();
  }
} else {
  await runHttpBench(args);
}
