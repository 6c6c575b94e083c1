// Flags of `npm run bench` (each also from the environment: BENCH_ROUNDS, BENCH_DURATION, ...).
import { parseArgs } from 'node:util';
import type { Driver } from './load.js';
import { wrkInstalled } from './load.js';

export interface Options {
  rounds: number;
  duration: number;
  connections: number;
  soak: number;
  starts: number;
  accounts: number;
  driver: Driver;
  build: boolean;
}

export const USAGE = `npm run bench [-- flags]            the HTTP bench (default)
npm run bench -- micro [names...]   the in-process micro benches (envelope, audit, revocation, account-timing)

  --rounds N        interleaved rounds, medians across them (default 3; BENCH_ROUNDS)
  --duration S      seconds of load per route and round (default 10; BENCH_DURATION)
  --connections C   connections of the load generator (default 50; BENCH_CONNECTIONS)
  --soak S          after the rounds, S seconds more of load with RSS every 10 s (default 0 = none; BENCH_SOAK)
  --starts N        first and warm starts timed, N each (default 3; 0 skips; BENCH_STARTS)
  --accounts N      accounts of the sign-in storm (default 20)
  --driver D        wrk or autocannon (default: wrk when installed; BENCH_DRIVER)
  --no-build        skip \`npm run build\` (dist/cli.js must exist)
DATABASE_URL (an owner URL; a fresh database is made and dropped) and REDIS_URL add the PostgreSQL + Redis run.`;

export function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      soak: { type: 'string' },
      starts: { type: 'string' },
      accounts: { type: 'string' },
      driver: { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const int = (name: string, value: string | undefined, fallback: number, min: number) => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: "${value}" is not a whole number ≥ ${min}`);
    return n;
  };
  const driver = (values.driver ?? env.BENCH_DRIVER ?? (wrkInstalled() ? 'wrk' : 'autocannon')) as Driver;
  if (driver !== 'wrk' && driver !== 'autocannon') throw new Error(`--driver: "${driver}" is not wrk or autocannon`);
  return {
    rounds: int('rounds', values.rounds ?? env.BENCH_ROUNDS, 3, 1),
    duration: int('duration', values.duration ?? env.BENCH_DURATION, 10, 1),
    connections: int('connections', values.connections ?? env.BENCH_CONNECTIONS, 50, 1),
    soak: int('soak', values.soak ?? env.BENCH_SOAK, 0, 0),
    starts: int('starts', values.starts ?? env.BENCH_STARTS, 3, 0),
    accounts: int('accounts', values.accounts, 20, 1),
    driver,
    build: !values['no-build'],
  };
}
