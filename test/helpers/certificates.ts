import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { makeTempDir } from './process.js';

export interface TestCertificate {
  cert: Buffer;
  key: Buffer;
  /** Where they are on disk (for servers configured by file path). */
  certFile: string;
  keyFile: string;
}

/**
 * A self-signed certificate (its own CA) for localhost and 127.0.0.1, or for `names`, one day long, made by
 * openssl.
 */
export function makeCertificate(key: 'ec' | 'rsa' = 'ec', names = ['localhost', '127.0.0.1']): TestCertificate {
  const dir = makeTempDir('rampart-test-tls-');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const keyArgs = key === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      `/CN=${names[0]}`,
      '-days',
      '1',
      '-addext',
      `subjectAltName=${names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
}
