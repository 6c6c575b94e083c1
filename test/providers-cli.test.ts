import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { childEnv, killChildren, makeTempDir, removeTempDirs, runCli } from './helpers/process.js';

afterAll(() => {
  killChildren();
  removeTempDirs();
});

describe('rampart providers (D1, T3)', () => {
  it('[T3] add, list and remove an API-key provider; a private address or a bad argument is one plain line', {
    timeout: 300_000,
  }, async () => {
    let pg: TestDatabase | undefined;
    let env: NodeJS.ProcessEnv;
    if (process.env.DATABASE_URL) {
      pg = await createTestDatabase();
      env = childEnv({ DATABASE_URL: pg.url, RAMPART_DEV: 'true' });
    } else {
      env = childEnv({ RAMPART_DEV: 'true', RAMPART_DATA_DIR: path.join(makeTempDir('rampart-providers-'), 'data') });
    }
    try {
      expect((await runCli(['migrate'], env)).code).toBe(0);
      const added = await runCli(
        [
          'providers',
          'add',
          '--id',
          'acme-crm',
          '--name',
          'Acme CRM',
          '--host',
          'api.acme.example',
          '--validate',
          'GET /v1/me',
        ],
        env,
      );
      expect(added.stdout, added.stderr).toContain('saved acme-crm ("Acme CRM"): api.acme.example, bearer');
      const listed = await runCli(['providers', 'list'], env);
      expect(listed.stdout).toContain('acme-crm  "Acme CRM"  api_key  api.acme.example  bearer  GET /v1/me');

      const privateHost = await runCli(['providers', 'add', '--id', 'x', '--name', 'X', '--host', '10.1.2.3'], env);
      expect(privateHost.code).toBe(1);
      expect(privateHost.stderr.trim()).toBe(
        'rampart: The provider settings are not valid. (allowedHosts: 10.1.2.3 is a private, loopback or ' +
          'link-local address)',
      );
      const badAuth = await runCli(
        ['providers', 'add', '--id', 'x', '--name', 'X', '--host', 'a.example', '--auth', 'x'],
        env,
      );
      expect(badAuth.code).toBe(1);
      expect(badAuth.stderr).toContain('--auth "x": use bearer, basic, header:<name> or query:<name>');

      expect((await runCli(['providers', 'remove', 'acme-crm'], env)).stdout).toContain('removed acme-crm');
      expect((await runCli(['providers', 'list'], env)).stdout).toContain('no providers configured');
    } finally {
      await pg?.dispose();
    }
  });
});
