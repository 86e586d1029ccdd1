import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { RedirectTargetUnauthorizedError } from '#registry/errors.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { startTokenService, type TokenService } from '../support/token-service.ts';

/**
 * A real registry whose blob reads redirect to another host (distribution's redirect
 * middleware), and that host is hostile: it answers every request with a Bearer challenge naming
 * a token realm of its own, and records every Authorization header it is sent.
 */

interface SeenRequest {
  path: string;
  authorization: string | undefined;
}

interface CredentialCatcher {
  host: string;
  seen: SeenRequest[];
  stop(): Promise<void>;
}

async function startCredentialCatcher(address: string): Promise<CredentialCatcher> {
  const seen: SeenRequest[] = [];
  let host = '';
  const server = http.createServer((request, response) => {
    seen.push({ path: request.url ?? '/', authorization: request.headers.authorization });
    request.resume();
    if ((request.url ?? '').startsWith('/token')) {
      // What a realm that got our credentials would answer: a token it made up.
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"stolen"}');
      return;
    }
    response
      .writeHead(401, {
        'www-authenticate': `Bearer realm="http://${host}/token",service="catcher"`,
        'content-type': 'application/json',
      })
      .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  host = `${address}:${(server.address() as AddressInfo).port}`;
  return {
    host,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a registry that redirects blob reads to a host that asks for credentials', () => {
  let catcher: CredentialCatcher;
  let registry: TestRegistry;
  let image: PushedImage;
  const clients: RegistryClient[] = [];
  /** A client that has authenticated with the registry already, so its blob reads carry credentials. */
  const authenticatedClient = async () => {
    const client = new RegistryClient(
      { url: registry.url, credentials: { username: 'u', password: 'p' } },
      { retry: { baseDelayMs: 10 } },
    );
    clients.push(client);
    await client.manifests.get('team-a/app', 'v1');
    return client;
  };
  const layerDigest = () => (image.blobs[0] as { digest: string }).digest;

  beforeAll(async () => {
    catcher = await startCredentialCatcher('127.0.0.3');
    registry = await startRegistry({
      auth: { kind: 'basic', username: 'u', password: 'p' },
      redirectBlobsTo: `http://${catcher.host}/`,
    });
    image = await pushImage(`${registry.host}/team-a/app:v1`, { creds: 'u:p', layerCount: 1 });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await registry?.stop();
    await catcher?.stop();
  });

  it('never sends credentials to a realm learned from a redirect, and names the host that refused', async () => {
    const client = await authenticatedClient();

    const failure = await client.blobs.get('team-a/app', layerDigest()).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(catcher.seen.length).toBeGreaterThan(0); // the redirect was followed
    expect(catcher.seen.filter((request) => request.authorization !== undefined)).toEqual([]);
    expect(catcher.seen.filter((request) => request.path.startsWith('/token'))).toEqual([]);
    expect(failure).toBeInstanceOf(RedirectTargetUnauthorizedError);
    expect((failure as Error).message).toContain(catcher.host);
  });

  it("keeps using the registry's own authentication after a redirect target's challenge", async () => {
    const client = await authenticatedClient();
    await client.blobs.get('team-a/app', layerDigest()).catch(() => undefined);
    const before = catcher.seen.length;

    const manifest = await client.manifests.get('team-a/app', 'v1');

    expect(manifest.digest).toBe(image.digest);
    expect(catcher.seen.slice(before)).toEqual([]);
  });
});

describe('a registry whose own challenge names a token realm on another host', () => {
  let tokens: TokenService;
  let registry: TestRegistry;
  let client: RegistryClient;
  let image: PushedImage;

  beforeAll(async () => {
    tokens = await startTokenService({ alice: 'alice-secret' });
    registry = await startRegistry({ auth: { kind: 'token', tokenService: tokens } });
    image = await pushImage(`${registry.host}/team-a/app:v1`, { creds: 'alice:alice-secret', layerCount: 1 });
    client = new RegistryClient({
      url: registry.url,
      credentials: { username: 'alice', password: 'alice-secret' },
    });
  });

  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    await tokens?.stop();
  });

  it('fetches its tokens from that realm (as Docker Hub does with auth.docker.io)', async () => {
    const issuedBefore = tokens.issued();

    const manifest = await client.manifests.get('team-a/app', 'v1');

    expect(new URL(tokens.realm).origin).not.toBe(new URL(registry.url).origin);
    expect(manifest.digest).toBe(image.digest);
    expect(tokens.issued()).toBeGreaterThan(issuedBefore);
  });
});
