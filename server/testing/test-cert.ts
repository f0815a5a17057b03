import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** TestCertificate is a self-signed P-256 certificate for 127.0.0.1 and localhost, as files and as PEM text. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * createTestCertificate writes cert.pem and key.pem into `dir` with openssl: a
 * self-signed certificate valid for one day whose subjectAltName holds
 * IP:127.0.0.1 and DNS:localhost, so that it also serves as its own CA
 * (`kdig +tls-ca=<certFile>`, `curl --cacert <certFile>`). Rejects with
 * openssl's stderr when openssl fails.
 */
export function createTestCertificate(dir: string): Promise<TestCertificate> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ];
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 10000 }, (err, _stdout, stderr) => {
      if (err !== null) return reject(new Error(`openssl req: ${stderr.trim() || err.message}`));
      resolve({ certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') });
    });
  });
}
