import { statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { TrustCheck, TrustVerdict } from '../feature.js';
import type { PasswordHasher, PasswordParams } from '../platform/crypto/passwords.js';
import { currentRoleFacts, reachableTables } from '../platform/db/catalog.js';
import type { Tenancy } from '../platform/db/database.js';

/* D2, D3 and O2, read from the running instance: its hasher, where its keys came from, its database. */

const pass = (detail: string): TrustVerdict => ({ status: 'passing', detail });
const fail = (detail: string): TrustVerdict => ({ status: 'failing', detail });

/** OWASP Password Storage Cheat Sheet: the equivalent Argon2id minimums (memory KiB, iterations), p=1. */
export const OWASP_ARGON2ID_MINIMUMS: readonly { memoryKiB: number; iterations: number }[] = [
  { memoryKiB: 47_104, iterations: 1 },
  { memoryKiB: 19_456, iterations: 2 },
  { memoryKiB: 12_288, iterations: 3 },
  { memoryKiB: 9_216, iterations: 4 },
  { memoryKiB: 7_168, iterations: 5 },
];

export const meetsOwasp = (p: PasswordParams) =>
  p.parallelism >= 1 && OWASP_ARGON2ID_MINIMUMS.some((m) => p.memoryKiB >= m.memoryKiB && p.iterations >= m.iterations);

export function argon2Check(hasher: PasswordHasher): TrustCheck {
  return {
    control: 'D2',
    id: 'argon2id-parameters',
    title: "New password hashes are Argon2id at or above OWASP's minimum parameters",
    async run() {
      const hash = await hasher.hash('rampart trust check');
      const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
      if (!m) return fail(`a new hash is not Argon2id v19 (${hash.split('$')[1] ?? 'unknown'})`);
      const params = { memoryKiB: Number(m[1]), iterations: Number(m[2]), parallelism: Number(m[3]) };
      const said = `m=${params.memoryKiB} KiB, t=${params.iterations}, p=${params.parallelism}`;
      if (!meetsOwasp(params)) return fail(`Argon2id ${said} is below OWASP's minimum (m=19456 KiB with t=2)`);
      if (!(await hasher.verify(hash, 'rampart trust check'))) return fail('a fresh hash does not verify');
      return pass(`Argon2id ${said}, salted, meets OWASP's minimum`);
    },
  };
}

const inside = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

export function masterKeyCheck(config: Config): TrustCheck {
  return {
    control: 'D3',
    id: 'master-key-source',
    title: 'Master keys come from the environment or a private secret file, outside the data directory',
    async run() {
      if (config.dev)
        return {
          status: 'not_configured',
          detail:
            'Dev mode: the master key may be one generated in the data directory. Set RAMPART_DEV=false with ' +
            'RAMPART_MASTER_KEYS or RAMPART_MASTER_KEYS_FILE.',
        };
      if (!config.masterKeys) return fail('no master key is configured');
      const file = config.masterKeysFile;
      if (!file) return pass('from the environment (RAMPART_MASTER_KEYS), outside the database and the source');
      const stat = statSync(file);
      if ((stat.mode & 0o077) !== 0)
        return fail(`RAMPART_MASTER_KEYS_FILE ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)})`);
      if (inside(config.dataDir, file)) return fail(`RAMPART_MASTER_KEYS_FILE ${file} is inside the data directory`);
      return pass(
        `from RAMPART_MASTER_KEYS_FILE (mode ${(stat.mode & 0o777).toString(8)}), outside the data directory`,
      );
    },
  };
}

export function rlsCheck(db: Tenancy): TrustCheck {
  return {
    control: 'O2',
    id: 'row-level-security',
    title: 'Every table the runtime role reaches has row-level security enabled, forced and with a policy',
    async run() {
      const { tables, role } = await db.withSystem(async (tx) => ({
        tables: await reachableTables(tx),
        role: await currentRoleFacts(tx),
      }));
      const problems: string[] = [];
      if (role.superuser) problems.push(`the runtime role ${role.role} is a superuser`);
      if (role.bypassRls) problems.push(`the runtime role ${role.role} has BYPASSRLS`);
      if (role.owns.length > 0) problems.push(`the runtime role ${role.role} owns ${role.owns.join(', ')}`);
      if (tables.length === 0) problems.push('the runtime role reaches no table at all');
      for (const t of tables) {
        if (!t.rlsEnabled) problems.push(`${t.name}: row-level security is off`);
        else if (!t.rlsForced) problems.push(`${t.name}: row-level security is not forced`);
        if (t.policies === 0) problems.push(`${t.name}: no policy`);
      }
      if (problems.length > 0) return fail(problems.join('; '));
      return pass(
        `${tables.length} tables, each with row-level security enabled, forced and a policy; the runtime role ` +
          `${role.role} is no superuser, has no BYPASSRLS and owns nothing`,
      );
    },
  };
}
