import { chmodSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, fileTestApp, testEnv } from '../../test/helpers/app.js';
import { makeCertificate } from '../../test/helpers/certificates.js';
import { freePorts, makeTempDir, removeTempDirs } from '../../test/helpers/process.js';
import { TLS_CIPHERS } from '../app.js';
import { auditChecks } from '../audit/checks.js';
import { loadConfig } from '../config.js';
import type { TrustCheck } from '../feature.js';
import { jwksVerdict, oidcChecks } from '../oidc/checks.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import { createPasswordHasher, OWASP_PARAMS } from '../platform/crypto/passwords.js';
import { startServer } from '../server.js';
import { sessionChecks, sessionCookieProblem } from '../sessions/checks.js';
import { DAY, defaultSessionPolicy, type SessionPolicy } from '../sessions/model.js';
import { createEventBus } from '../platform/events/bus.js';
import { argon2Check, masterKeyCheck, rlsCheck } from './data-checks.js';
import { verifyDkim } from '../platform/mail/dkim-verify.js';
import { dkimCheck } from './mail-check.js';
import { smtpOptionsVerdict, smtpTlsCheck } from './outbound-checks.js';
import { backchannelCheck } from '../oidc/checks.js';
import { outboundProblem } from '../platform/outbound.js';
import { smtpTransportOptions } from '../platform/mail/smtp.js';
import { parseKeyring } from '../platform/crypto/keyring.js';
import { createUpstreamRegistry } from '../external-signin/providers.js';
import { upstreamChecks } from '../external-signin/checks.js';
import { injectProbe } from './probe.js';
import { csrfCheck, headersCheck, inputChecks, refusalProblem } from './request-checks.js';
import { signatureCheck } from './signature-check.js';
import { createReportSigner } from './signing.js';
import { hstsCheck, tlsCheck, tlsOptionsVerdict } from './transport-checks.js';

// Routes that break each protection on purpose, so every check is seen failing on a real response.
const t = await fileTestApp();
const broken = await createTestApp({}, (app) => {
  app.get('/broken/form', { schema: { hide: true } }, async (_request, reply) => {
    reply.setCookie('__Host-rampart_pre', 'a'.repeat(22), { path: '/', secure: true });
    return 'form';
  });
  app.post('/broken/form', { schema: { hide: true }, config: { csrfExempt: true } }, async () => ({ done: true }));
  app.get('/broken/headers', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-security-policy', "default-src 'self'; script-src 'self' 'unsafe-inline'");
    reply.removeHeader('x-frame-options');
    reply.type('text/html');
    return '<script>alert(1)</script>';
  });
  app.post('/broken/input', { schema: { hide: true } }, async () => {
    throw Object.assign(new Error('boom at /src/secret.ts'), { statusCode: 400, stack: 'at x (/src/secret.ts:1:1)' });
  });
  app.get('/broken/leak', { schema: { hide: true } }, async (request, reply) => {
    const stack = (request.query as { stack?: string }).stack;
    const error = { code: 'invalid_json', message: 'at JSON.parse (/src/x.ts:1:1)', requestId: request.id };
    return reply.code(400).send({ error: stack ? error : { code: 'invalid_json' } });
  });
  app.get('/broken/jwks', { schema: { hide: true } }, async () => ({
    keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }],
  }));
  app.get('/broken/cookie', { schema: { hide: true } }, async (_request, reply) => {
    reply.setCookie('__Host-rampart_session', 'x', { path: '/', secure: true, sameSite: 'none' });
    return 'ok';
  });
});
afterAll(async () => {
  await broken.close();
  removeTempDirs();
});

const probeOf = (app = t.app) => injectProbe(app);
const verdict = (check: TrustCheck, app = t.app) => check.run(probeOf(app));

describe('checks of the request protections', () => {
  it('[R1] a post with our cookie and no token is refused; a route that skips the check fails it', async () => {
    expect(await verdict(csrfCheck(() => probeOf(), t.config.baseUrl))).toMatchObject({ status: 'passing' });
    const b = await verdict(
      csrfCheck(() => probeOf(broken.app), broken.config.baseUrl, '/broken/form'),
      broken.app,
    );
    expect(b).toMatchObject({ status: 'failing', detail: expect.stringMatching(/answered 200/) });
  });

  it('[R2] the headers of a real page pass; unsafe-inline, no nonce and framing allowed fail', async () => {
    expect(await verdict(headersCheck(() => probeOf()))).toMatchObject({ status: 'passing' });
    const b = await verdict(
      headersCheck(() => probeOf(broken.app), '/broken/headers'),
      broken.app,
    );
    expect(b.status).toBe('failing');
    expect(b.detail).toMatch(/unsafe-inline/);
    expect(b.detail).toMatch(/no script nonce/);
    expect(b.detail).toMatch(/1 script element/);
    expect(b.detail).toMatch(/framing is not refused/);
  });

  it('[R5][R6] unknown fields, oversize bodies and bad JSON get stable codes; a leaky route fails', async () => {
    for (const c of inputChecks(() => probeOf())) expect(await verdict(c)).toMatchObject({ status: 'passing' });
    const leaky = inputChecks(() => probeOf(broken.app), '/broken/input');
    expect(await verdict(leaky[0]!, broken.app)).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/not 400 invalid_request/),
    });
    // Rampart's error handler cannot be made to leak from a route, so R6 is judged on a reply written by hand.
    const leak = await probeOf(broken.app).request('/broken/leak');
    expect(refusalProblem(leak, 400, 'invalid_json')).toBe('the error does not carry the request id of its response');
    const stack = await probeOf(broken.app).request('/broken/leak?stack=1');
    expect(refusalProblem(stack, 400, 'invalid_json')).toBe('the error shows server internals');
  });
});

describe('checks of sessions, tokens and the audit log', () => {
  it('[S1] the session cookie as a real response clears it passes; one without HttpOnly or Lax fails', async () => {
    expect(await verdict(sessionChecks({ policy: defaultSessionPolicy(), bus: t.bus })[0]!)).toMatchObject({
      status: 'passing',
    });
    const res = await probeOf(broken.app).request('/broken/cookie');
    expect(sessionCookieProblem(res)).toBe('the session cookie is not HttpOnly');
  });

  it('[S3] the policy and a round trip on the revocation channel pass; a dead channel or no limit fails', async () => {
    const s3 = (policy: SessionPolicy, bus = t.bus) => verdict(sessionChecks({ policy, bus })[1]!);
    expect(await s3(defaultSessionPolicy(90))).toMatchObject({ status: 'passing', detail: /came back in \d+ ms/ });
    expect(await s3({ ...defaultSessionPolicy(), idleMs: 31 * DAY })).toMatchObject({ status: 'failing' });
    expect(await s3({ ...defaultSessionPolicy(), absoluteMs: Number.POSITIVE_INFINITY })).toMatchObject({
      status: 'failing',
      detail: 'sessions have no absolute maximum',
    });
    // A real Redis bus pointed at a port nothing listens on: the channel revocations take is down.
    const [port] = await freePorts(1);
    const dead = createEventBus({ redisUrl: `redis://127.0.0.1:${port}`, echoTimeoutMs: 500, onError: () => {} });
    try {
      expect(await s3(defaultSessionPolicy(), dead)).toMatchObject({ status: 'failing', detail: /did not answer/ });
    } finally {
      await dead.close().catch(() => {});
    }
  });

  it('[A10] the JWKS of the running provider passes; a symmetric key fails', async () => {
    expect(await verdict(oidcChecks()[0]!)).toMatchObject({ status: 'passing' });
    expect(await verdict(oidcChecks('/broken/jwks')[0]!, broken.app)).toMatchObject({
      status: 'failing',
      detail: 'a published key is of type oct',
    });
    expect(jwksVerdict(200, '{"keys":[]}')).toMatchObject({ status: 'failing' });
  });

  it('[L1] the audit streams verify; an event altered in the database fails the check', async () => {
    await broken.db.withSystem((tx) =>
      appendAudit(tx, { stream: systemStream, action: 'trust.checks_run', actor: 'test' }),
    );
    const check = auditChecks(broken.db)[0]!;
    expect(await verdict(check, broken.app)).toMatchObject({ status: 'passing' });
    await broken.db.owner.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      await sql`update audit_events set action = 'forged' where stream = 'system'`.execute(tx);
    });
    expect(await verdict(check, broken.app)).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/^system: event 1 was altered/),
    });
  });
});

describe('checks of keys, passwords and tenancy', () => {
  it("[D2] OWASP's Argon2id parameters pass; the cheap test parameters fail", async () => {
    expect(await verdict(argon2Check(createPasswordHasher(OWASP_PARAMS, 1)))).toMatchObject({ status: 'passing' });
    const weak = await verdict(argon2Check(createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 })));
    expect(weak).toMatchObject({ status: 'failing', detail: expect.stringMatching(/m=1024 KiB.*below OWASP/) });
  });

  it('[D3] keys from the environment or a private file outside the data directory pass; others fail', async () => {
    const dataDir = makeTempDir('rampart-data-');
    const base = { ...t.config, dev: false, dataDir, masterKeys: t.config.masterKeys };
    expect(await verdict(masterKeyCheck({ ...t.config, dev: true }))).toMatchObject({ status: 'not_configured' });
    expect(await verdict(masterKeyCheck({ ...base, masterKeysFile: undefined }))).toMatchObject({ status: 'passing' });
    const outside = path.join(makeTempDir('rampart-secrets-'), 'keys');
    writeFileSync(outside, t.config.masterKeys!, { mode: 0o600 });
    expect(await verdict(masterKeyCheck({ ...base, masterKeysFile: outside }))).toMatchObject({ status: 'passing' });
    chmodSync(outside, 0o644);
    expect(await verdict(masterKeyCheck({ ...base, masterKeysFile: outside }))).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/readable by others \(mode 644\)/),
    });
    const inside = path.join(dataDir, 'keys');
    writeFileSync(inside, t.config.masterKeys!, { mode: 0o600 });
    expect(await verdict(masterKeyCheck({ ...base, masterKeysFile: inside }))).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/inside the data directory/),
    });
  });

  it('[O2] RLS on every reachable table passes; a table without it forced or enabled fails', async () => {
    const check = rlsCheck(broken.db);
    expect(await verdict(check, broken.app)).toMatchObject({ status: 'passing' });
    await sql`alter table memberships no force row level security`.execute(broken.db.owner);
    expect(await verdict(check, broken.app)).toMatchObject({
      status: 'failing',
      detail: 'memberships: row-level security is not forced',
    });
    await sql`alter table memberships disable row level security`.execute(broken.db.owner);
    expect((await verdict(check, broken.app)).detail).toBe('memberships: row-level security is off');
    await sql`alter table memberships enable row level security`.execute(broken.db.owner);
    await sql`alter table memberships force row level security`.execute(broken.db.owner);
    expect(await verdict(check, broken.app)).toMatchObject({ status: 'passing' });
  });
});

describe('checks of mail and the report signature', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('[X5] with SMTP and DKIM, a message verifies; SMTP without DKIM fails; no SMTP is not configured', async () => {
    const smtp = { ...t.config, smtpUrl: 'smtps://mail.example.com:465', mailFrom: 'Acme <no-reply@acme.example>' };
    const dkim = { domain: 'acme.example', selector: 'rampart', privateKey: pem };
    expect(await verdict(dkimCheck({ ...smtp, dkim }))).toMatchObject({
      status: 'passing',
      detail: expect.stringMatching(/for acme\.example, selector rampart/),
    });
    expect(await verdict(dkimCheck({ ...smtp, dkim: undefined }))).toMatchObject({ status: 'failing' });
    expect(await verdict(dkimCheck(t.config))).toMatchObject({ status: 'not_configured' });
    const publicPem = (await import('node:crypto'))
      .createPublicKey(pem)
      .export({ type: 'spki', format: 'pem' })
      .toString();
    expect(verifyDkim('Subject: x\r\n\r\nbody\r\n', publicPem)).toMatchObject({ ok: false });
  });

  it('[T3] mail over implicit TLS or required STARTTLS passes; plain SMTP elsewhere or unvalidated fails', async () => {
    const smtp = (smtpUrl: string, dev = false) => verdict(smtpTlsCheck({ ...t.config, smtpUrl, dev }));
    expect(await smtp('smtps://mail.example.com')).toMatchObject({ status: 'passing', detail: /implicit TLS/ });
    expect(await smtp('smtp://mail.example.com:587')).toMatchObject({ status: 'passing', detail: /STARTTLS/ });
    expect(await smtp('smtp://127.0.0.1:2525', true)).toMatchObject({ status: 'passing', detail: /dev mode only/ });
    expect(await verdict(smtpTlsCheck({ ...t.config, smtpUrl: undefined }))).toMatchObject({
      status: 'not_configured',
    });
    const options = smtpTransportOptions({ url: 'smtp://mail.example.com', from: 'a@b.example', dev: false });
    expect(smtpOptionsVerdict({ ...options, requireTLS: false }, false)).toMatchObject({ status: 'failing' });
    expect(smtpOptionsVerdict({ ...options, tls: { rejectUnauthorized: false } }, false)).toMatchObject({
      status: 'failing',
      detail: "the relay's certificate is not validated",
    });
  });

  it('[T3] upstream issuers and back-channel logout targets: https passes; http fails outside dev', async () => {
    const registry = { list: async () => [{ clientId: 'shop', backchannelLogoutUri: 'http://127.0.0.1:9/logout' }] };
    const clients = registry as unknown as Parameters<typeof backchannelCheck>[0];
    expect(await verdict(backchannelCheck(clients, true))).toMatchObject({ status: 'passing' });
    expect(await verdict(backchannelCheck(clients, false))).toMatchObject({
      status: 'failing',
      detail: 'shop: http://127.0.0.1:9/logout is plain text to this machine outside dev mode',
    });
    expect(outboundProblem('http://shop.example/logout', { dev: true })).toMatch(/not encrypted/);
    expect(outboundProblem('https://shop.example/logout', { dev: false })).toBeUndefined();
    const upstreams = createUpstreamRegistry({
      db: t.db,
      keyring: parseKeyring(t.config.masterKeys!),
      clock: t.clock,
      dev: true,
    });
    await upstreams.add({
      id: 'dev-idp',
      name: 'Dev IdP',
      issuer: 'http://localhost:9/',
      clientId: 'c',
      clientSecret: 's',
    });
    expect(await verdict(upstreamChecks(upstreams, true)[0]!)).toMatchObject({ status: 'passing' });
    expect(await verdict(upstreamChecks(upstreams, false)[0]!)).toMatchObject({
      status: 'failing',
      detail: 'dev-idp (http://localhost:9/) is plain text to this machine outside dev mode',
    });
  });

  it('[X8] the served report verifies with the published key; an altered or foreign-signed one fails', async () => {
    const doc = JSON.parse((await probeOf().request('/trust.json')).body);
    expect(await verdict(signatureCheck(async () => doc))).toMatchObject({ status: 'passing' });
    const altered = { ...doc, report: { ...doc.report, instance: 'https://evil.example' } };
    expect(await verdict(signatureCheck(async () => altered))).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/does not match/),
    });
    const other = createReportSigner(Buffer.alloc(32, 2));
    const foreign = { report: doc.report, signature: { ...other.sign(doc.report), kid: doc.signature.kid } };
    expect(await verdict(signatureCheck(async () => foreign))).toMatchObject({ status: 'failing' });
    const unknown = { report: doc.report, signature: other.sign(doc.report) };
    expect(await verdict(signatureCheck(async () => unknown))).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/no published key/),
    });
  });
});

describe('checks of the listener', () => {
  const cert = makeCertificate('ec');
  const server = (opts: tls.TlsOptions) => tls.createServer({ cert: cert.cert, key: cert.key, ...opts });

  it('[T1] the listener options Rampart uses pass; TLS 1.0 or a suite without forward secrecy fails', () => {
    expect(tlsOptionsVerdict(server({ minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS }))).toMatchObject({
      status: 'passing',
    });
    expect(tlsOptionsVerdict(server({ minVersion: 'TLSv1', ciphers: TLS_CIPHERS }))).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/accepts TLSv1:/),
    });
    expect(tlsOptionsVerdict(server({ minVersion: 'TLSv1.2', ciphers: `${TLS_CIPHERS}:AES128-SHA` }))).toMatchObject({
      status: 'failing',
      detail: expect.stringMatching(/AES128-SHA/),
    });
    expect(tlsOptionsVerdict(server({ minVersion: 'TLSv1.2' }))).toMatchObject({ status: 'failing' });
  });

  it('[T1][T2] plain HTTP is not configured; behind a proxy T2 checks whose X-Forwarded-Proto counts', async () => {
    expect(await verdict(tlsCheck(() => t.app.server, t.config))).toMatchObject({ status: 'not_configured' });
    const proxied = await createTestApp({
      RAMPART_TRUSTED_PROXIES: '10.1.2.3',
      RAMPART_BASE_URL: 'https://auth.example.com',
    });
    try {
      const p = () => probeOf(proxied.app);
      expect(await verdict(tlsCheck(() => proxied.app.server, proxied.config))).toMatchObject({
        status: 'not_configured',
        detail: expect.stringMatching(/trusted proxy/),
      });
      expect(await verdict(hstsCheck(() => proxied.app.server, proxied.config, p))).toMatchObject({
        status: 'passing',
      });
      // Break it: the check is told a proxy address the app does not trust, as if the setting were lost.
      const lost = { ...proxied.config, trustedProxies: ['10.9.9.9'] };
      expect(await verdict(hstsCheck(() => proxied.app.server, lost, p))).toMatchObject({
        status: 'failing',
        detail: expect.stringMatching(/no Strict-Transport-Security/),
      });
      const everyone = { ...proxied.config, trustedProxies: ['0.0.0.0/0'] };
      expect(await verdict(hstsCheck(() => proxied.app.server, everyone, p))).toMatchObject({ status: 'failing' });
    } finally {
      await proxied.close();
    }
  });

  it('[T1][T2] a real HTTPS server: the listener and its redirect port pass on the trust report', async () => {
    const [tlsPort, httpPort] = (await freePorts(2)) as [number, number];
    const env = testEnv({
      DATABASE_URL: undefined,
      HOST: '127.0.0.1',
      PORT: String(tlsPort),
      RAMPART_HTTP_PORT: String(httpPort),
      RAMPART_TLS_CERT: cert.certFile,
      RAMPART_TLS_KEY: cert.keyFile,
      RAMPART_DATA_DIR: makeTempDir('rampart-trust-tls-'),
      RAMPART_BASE_URL: `https://localhost:${tlsPort}`,
    });
    const running = await startServer(loadConfig(env), new Writable({ write: (_c, _e, done) => done() }));
    try {
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(
            { host: '127.0.0.1', port: tlsPort, path: '/trust.json', servername: 'localhost', ca: cert.cert },
            (res) => {
              let text = '';
              res
                .setEncoding('utf8')
                .on('data', (c) => (text += c))
                .on('end', () => resolve(text));
            },
          )
          .on('error', reject);
      });
      const doc = JSON.parse(body);
      const checks = doc.report.groups.flatMap((g: { controls: { checks: { id: string }[] }[] }) =>
        g.controls.flatMap((c) => c.checks),
      );
      expect(checks.find((c: { id: string }) => c.id === 'tls-listener')).toMatchObject({ status: 'passing' });
      expect(checks.find((c: { id: string }) => c.id === 'https-hsts')).toMatchObject({
        status: 'passing',
        detail: expect.stringMatching(/308/),
      });
    } finally {
      await running.shutdown();
    }
  }, 120_000);
});
