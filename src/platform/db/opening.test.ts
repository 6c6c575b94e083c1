import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { embeddedRuntimeGuard, openingStatement, SYSTEM_ORG, TenancyError } from './database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.dispose());

const setting = (name: string) => sql<{ v: string }>`select current_setting(${name}, true) as v`;

describe('the opening of a runtime transaction (one round trip)', () => {
  it('[O2] ids are inlined only once they are lowercase UUIDs, nothing before or after', () => {
    const org = randomUUID();
    const user = randomUUID();
    expect(openingStatement(org, user, false)).toBe(
      `begin; select set_config('rampart.org_id', '${org}', true), set_config('rampart.user_id', '${user}', true)`,
    );
    expect(openingStatement(org, '', true)).toBe(
      `begin; set local role rampart_runtime; select set_config('rampart.org_id', '${org}', true), ` +
        "set_config('rampart.user_id', '', true)",
    );
    const bad = [
      '',
      org.toUpperCase(),
      `${org}\n`,
      ` ${org}`,
      `${org}'`,
      `${org}', true); reset role; --`,
      org.replace(/-/g, ''),
      `${org.slice(0, -1)}g`,
      "'; reset role; select '",
    ];
    for (const id of bad) {
      expect(() => openingStatement(id, '', false), JSON.stringify(id)).toThrow(TenancyError);
      expect(() => openingStatement(SYSTEM_ORG, id || 'x', false), JSON.stringify(id)).toThrow(TenancyError);
    }
  });

  it('[O2] the tenancy layer refuses malformed ids before any SQL is sent, on every entry point', async () => {
    await expect(db.withTenant("x'; reset role; --", async () => 1)).rejects.toThrow(TenancyError);
    await expect(db.withTenant(randomUUID().toUpperCase(), async () => 1)).rejects.toThrow(TenancyError);
    await expect(db.withPerson(`${randomUUID()}'`, async () => 1)).rejects.toThrow(TenancyError);
  });

  it('[O2] each transaction carries its own org and user, and nothing is left on the connection after it', async () => {
    const org = randomUUID();
    const user = randomUUID();
    expect((await db.withTenant(org, (tx) => setting('rampart.org_id').execute(tx))).rows[0]?.v).toBe(org);
    const person = await db.withPerson(user, async (tx) => ({
      org: (await setting('rampart.org_id').execute(tx)).rows[0]?.v,
      user: (await setting('rampart.user_id').execute(tx)).rows[0]?.v,
    }));
    expect(person).toEqual({ org: SYSTEM_ORG, user });
    const system = await db.withSystem(async (tx) => (await setting('rampart.user_id').execute(tx)).rows[0]?.v);
    expect(system).toBe('');
    // A rollback ends the transaction too: the next one on the pooled connection starts clean.
    await expect(
      db.withTenant(org, async (tx) => {
        await sql`select 1`.execute(tx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await db.withSystem((tx) => setting('rampart.org_id').execute(tx))).rows[0]?.v).toBe(SYSTEM_ORG);
  });

  it('[O2] feature code can neither re-open its transaction for another org nor send the opening itself', async () => {
    const org = randomUUID();
    const other = randomUUID();
    const reopen = db.withTenant(org, (tx) =>
      tx.getExecutor().provideConnection(async (conn) => {
        await (conn as unknown as { open(s: string): Promise<void> }).open(openingStatement(other, '', false));
      }),
    );
    await expect(reopen).rejects.toThrow(/opened only once/);
    // The opening's text sent as a statement of its own is refused on the embedded database: the
    // guard whitelists nothing any more. (On PostgreSQL the runtime role logs in as itself; there a
    // set_config from feature SQL is kept out by the raw-SQL rule, R4, as before.)
    expect(() => embeddedRuntimeGuard(openingStatement(other, '', true))).toThrow(TenancyError);
    expect(() => embeddedRuntimeGuard(openingStatement(other, '', false))).toThrow(TenancyError);
    if (db.kind === 'pglite') {
      const attempt = db.withTenant(org, (tx) =>
        tx.executeQuery(CompiledQuery.raw(openingStatement(other, '', true).replace(/^begin; /, ''))),
      );
      await expect(attempt).rejects.toThrow(TenancyError);
    }
  });
});
