// `npm run bench`: every benchmark prints its figures and a ratio to a baseline measured in the same run.
import * as accountTiming from './account-timing.bench.js';
import * as apikey from './apikey.bench.js';
import * as audit from './audit.bench.js';
import * as auth from './auth.bench.js';
import * as envelope from './envelope.bench.js';

const benches: Record<string, { run(): Promise<void> }> = {
  envelope,
  audit,
  auth,
  apikey,
  'account-timing': accountTiming,
};
const only = process.argv.slice(2);
for (const [name, bench] of Object.entries(benches)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n# ${name}`);
  await bench.run();
}
