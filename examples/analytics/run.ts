/**
 * `npm run example`: Rampart (dev mode, embedded database in examples/analytics/.data) and Acme
 * Analytics side by side on this machine. The product is registered at Rampart through the CLI,
 * each run anew (remove + add), so its secret is fresh and never stored anywhere but in memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { makeCertificate } from '../../test/helpers/certificates.js';
import { buildAnalytics } from './app.js';
import { startDemoCrm } from './crm.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const rampartPort = Number(process.env.RAMPART_PORT ?? 4000);
const productPort = Number(process.env.PRODUCT_PORT ?? 4100);
const crmPort = Number(process.env.CRM_PORT ?? 4200);
const rampartUrl = `http://localhost:${rampartPort}`;
const productUrl = `http://localhost:${productPort}`;
const clientId = 'acme-analytics';
const dataDir = path.join(here, '.data');
mkdirSync(dataDir, { recursive: true });
// Acme CRM, the vendor an organization connects in Rampart's vault: its certificate is self-signed, so
// Rampart is told to trust it as an operator trusts a vendor's private CA.
const crmTls = makeCertificate();
const crmKey = `crm_live_${randomBytes(24).toString('base64url')}`;

const env: NodeJS.ProcessEnv = {
  ...process.env,
  RAMPART_DEV: 'true',
  RAMPART_DATA_DIR: dataDir,
  RAMPART_BASE_URL: rampartUrl,
  PORT: String(rampartPort),
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  RAMPART_OUTBOUND_CA_FILE: crmTls.certFile,
};
// The embedded database and in-process limits: nothing else needs to be running.
delete env.DATABASE_URL;
delete env.DATABASE_RUNTIME_URL;
delete env.REDIS_URL;
/** The dev entry (TypeScript through tsx), so the example always runs the checkout's own source. */
const cli = ['--import', 'tsx', path.join(root, 'src/cli.ts')];

function rampart(args: string[], quiet = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cli, ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && !quiet) process.stderr.write(stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

async function register(): Promise<string> {
  const migrated = await rampart(['migrate']);
  if (migrated.code !== 0) throw new Error('rampart migrate failed');
  await rampart(['clients', 'remove', clientId], true); // absent on a first run: that is fine
  const added = await rampart([
    'clients',
    'add',
    '--id',
    clientId,
    '--name',
    'Acme Analytics',
    '--redirect-uri',
    `${productUrl}/callback`,
    '--post-logout-uri',
    `${productUrl}/signed-out`,
    '--backchannel-uri',
    `${productUrl}/backchannel-logout`,
    '--first-party',
  ]);
  const secret = /^client_secret: (\S+)$/m.exec(added.stdout)?.[1];
  if (added.code !== 0 || !secret) throw new Error(`rampart clients add failed:\n${added.stdout}${added.stderr}`);
  return secret;
}

async function waitFor(url: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) throw new Error(`Rampart exited with ${server.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Rampart did not answer ${url}`);
}

const secret = await register();
// The vendor, as the operator registers it: where its keys may go, how they are sent and checked.
const provider = await rampart([
  'providers',
  'add',
  '--id',
  'acme-crm',
  '--name',
  'Acme CRM',
  '--host',
  `localhost:${crmPort}`,
  '--validate',
  'GET /v1/me',
]);
if (provider.code !== 0) throw new Error('rampart providers add failed');
const server = spawn(process.execPath, [...cli, 'start'], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
await waitFor(`${rampartUrl}/.well-known/openid-configuration`, server);
const product = await buildAnalytics({ rampartUrl, publicUrl: productUrl, clientId, clientSecret: secret });
await product.app.listen({ port: productPort, host: 'localhost' });
const crm = await startDemoCrm({ apiKey: crmKey, cert: crmTls.cert, key: crmTls.key, port: crmPort });

process.stdout.write(
  `\nRampart:         ${rampartUrl}  (dev mailbox: ${rampartUrl}/dev/mailbox)\n` +
    `Acme Analytics:  ${productUrl}\n\n` +
    `Acme CRM:        ${crm.url}  (a demo vendor; its API key: ${crmKey})\n\n` +
    'Sign up at Rampart, confirm the address from the dev mailbox, create an organization, then open Acme ' +
    "Analytics.\nTo import contacts: paste the CRM's key on your organization's Connections tab at Rampart " +
    '(provider Acme CRM), then use Integrations in Acme Analytics.\nCtrl-C stops all three.\n',
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await product.app.close();
  await crm.close();
  server.kill('SIGTERM');
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
server.on('exit', (code) => {
  if (!stopping) process.stderr.write(`Rampart exited (${code})\n`);
  void stop();
});
