import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamSecretContext } from '../../external-signin/providers.js';
import { upstreamClientSecrets } from '../../external-signin/sealed-values.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { keyVersionOf, open, seal } from '../crypto/envelope.js';
import { generateMasterKeyEntry, parseKeyring } from '../crypto/keyring.js';
import { createLiveKeyring } from '../crypto/live-keyring.js';
import { countVersions, rewrapAll } from './rewrap.js';
import type { SealedValues } from './sealed.js';

let db: TestDatabase;
const keyring = createLiveKeyring({
  initial: parseKeyring(`${generateMasterKeyEntry(1)},${generateMasterKeyEntry(2)}`),
  file: undefined,
});

beforeAll(async () => {
  db = await createTestDatabase();
  keyring.decide({ current: 1, retired: [] });
  await db.withSystem(async (tx) => {
    for (const id of ['p-a', 'p-b', 'p-c']) {
      await tx
        .insertInto('upstream_providers')
        .values({
          id,
          name: id,
          issuer: 'https://idp.example.com',
          client_id: 'c',
          client_secret_sealed: seal(keyring, `old ${id}`, upstreamSecretContext(id)),
          created_at: new Date(),
        })
        .execute();
    }
  });
});
afterAll(() => db?.dispose());

describe('rewrap (D3)', () => {
  it('[D3] a record changed between the read and the write is not overwritten: it is read again', async () => {
    keyring.decide({ current: 2, retired: [] });
    let pages = 0;
    // Someone replaces p-b's secret (sealed under v1 by an instance not yet switched) while the batch is in hand.
    const racing: SealedValues = {
      ...upstreamClientSecrets,
      async page(tx, after, limit) {
        const records = await upstreamClientSecrets.page(tx, after, limit);
        // The first page is the count before the run; the second is the rewrap's first batch.
        if (++pages === 2) {
          const v1 = createLiveKeyring({ initial: keyring, file: undefined });
          v1.decide({ current: 1, retired: [] });
          await tx
            .updateTable('upstream_providers')
            .set({ client_secret_sealed: seal(v1, 'new p-b', upstreamSecretContext('p-b')) })
            .where('id', '=', 'p-b')
            .execute();
        }
        return records;
      },
    };
    const result = await rewrapAll({ db, keyring, values: [racing], batch: 10 });
    expect(result.reread).toBe(1);
    expect(result.rewrapped).toBe(3);
    expect(result.counts[racing.name]).toEqual({ v2: 3 });
    const row = await db.withSystem((tx) =>
      tx
        .selectFrom('upstream_providers')
        .select('client_secret_sealed')
        .where('id', '=', 'p-b')
        .executeTakeFirstOrThrow(),
    );
    expect(keyVersionOf(row.client_secret_sealed)).toBe(2);
    // The newer value survived: the rewrap never wrote back what it had read before the change.
    expect(open(keyring, row.client_secret_sealed, upstreamSecretContext('p-b')).toString()).toBe('new p-b');
  });

  it('[D3] a record that cannot be opened is named, keeps its wrap, and the others move on', async () => {
    keyring.decide({ current: 2, retired: [] });
    const wrongContext = seal(keyring, 'x', upstreamSecretContext('somewhere-else'));
    await db.withSystem((tx) =>
      tx
        .updateTable('upstream_providers')
        .set({ client_secret_sealed: wrongContext })
        .where('id', '=', 'p-c')
        .execute(),
    );
    keyring.decide({ current: 1, retired: [] });
    const back = await rewrapAll({ db, keyring, values: [upstreamClientSecrets], batch: 2 });
    expect(back.failed).toEqual([
      { name: 'external_signin.client_secret', key: 'p-c', reason: 'ciphertext failed authentication' },
    ]);
    expect(back.rewrapped).toBe(2);
    expect((await countVersions(db, [upstreamClientSecrets]))['external_signin.client_secret']).toEqual({
      v1: 2,
      v2: 1,
    });
  });
});
