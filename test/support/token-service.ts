import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { selfSignedCertificate } from './certificates.ts';
import { freePort } from './ports.ts';
import { scratchDir } from './tools.ts';

/**
 * A Docker token service for registries with `auth.token`: checks Basic credentials, grants
 * the requested scopes to known users, and signs RS256 JWTs whose `x5c` header carries the
 * certificate the registry trusts (`rootcertbundle`).
 */
export interface TokenService {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Tokens issued so far. */
  issued(): number;
  stop(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export async function startTokenService(users: Record<string, string>): Promise<TokenService> {
  const dir = mkdtempSync(join(scratchDir(), 'crossdock-token-'));
  const { certFile, keyFile } = selfSignedCertificate(dir, 'crossdock-test-token');
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  const service = 'crossdock-test-registry';
  const issuer = 'crossdock-test-issuer';
  let issued = 0;

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const header = request.headers.authorization ?? '';
    let user: string | undefined;
    if (header.startsWith('Basic ')) {
      const [name = '', password] = Buffer.from(header.slice(6), 'base64').toString().split(/:(.*)/s);
      if (users[name] === undefined || users[name] !== password) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      user = name;
    }
    const access = user
      ? url.searchParams.getAll('scope').flatMap((scope) => {
          const [type, ...rest] = scope.split(':');
          const actions = rest.pop() ?? '';
          return [{ type, name: rest.join(':'), actions: actions.split(',') }];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const head = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = base64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = base64url(sign('RSA-SHA256', Buffer.from(`${head}.${claims}`), key));
    const token = `${head}.${claims}.${signature}`;
    issued++;
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(
        JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    issued: () => issued,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
