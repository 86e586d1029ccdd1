import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A self-signed RSA certificate and its key, made by openssl into `dir`. */
export function selfSignedCertificate(
  dir: string,
  commonName: string,
  ipAddress?: string,
): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const san = ipAddress ? ['-addext', `subjectAltName=IP:${ipAddress}`] : [];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      ...san,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
