import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { LinkLocalRefusedError } from '#registry/errors.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';

const METADATA = '169.254.169.254';

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('a registry whose blob reads redirect to the cloud metadata address', () => {
  let registry: TestRegistry;
  let image: PushedImage;
  const clients: RegistryClient[] = [];
  const clientFor = (options: { allowLinkLocal?: boolean } = {}) => {
    const client = new RegistryClient(
      { url: registry.url, ...options },
      { retry: { attempts: 1 }, connectTimeoutMs: 500 },
    );
    clients.push(client);
    return client;
  };
  const layerDigest = () => (image.blobs[0] as { digest: string }).digest;

  beforeAll(async () => {
    registry = await startRegistry({ redirectBlobsTo: `http://${METADATA}/` });
    image = await pushImage(`${registry.host}/team-a/app:v1`, { layerCount: 1 });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await registry?.stop();
  });

  it('refuses to follow the redirect, naming the address', async () => {
    const failure = await failureOf(clientFor().blobs.get('team-a/app', layerDigest()));

    expect(failure).toBeInstanceOf(LinkLocalRefusedError);
    expect((failure as Error).message).toContain(
      `redirected blob team-a/app@${layerDigest()} to ${METADATA}`,
    );
  });

  it('follows it for a registry that allows link-local addresses', async () => {
    const failure = await failureOf(
      clientFor({ allowLinkLocal: true }).blobs.get('team-a/app', layerDigest()),
    );

    // Nothing answers there in the test: the point is that the request went out.
    expect(failure).toBeDefined();
    expect(failure).not.toBeInstanceOf(LinkLocalRefusedError);
  });
});

/** A hostile registry: every request gets a Bearer challenge whose realm is a metadata host name. */
describe('a registry whose challenge names a token realm on a metadata host', () => {
  let hostile: http.Server;
  let url = '';

  beforeAll(async () => {
    hostile = http.createServer((request, response) => {
      request.resume();
      response
        .writeHead(401, {
          'www-authenticate': 'Bearer realm="http://metadata.google.internal/token",service="x"',
        })
        .end();
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => hostile?.close(() => resolve())));

  it('never asks that realm for a token, with or without credentials', async () => {
    const client = new RegistryClient(
      { url, credentials: { username: 'u', password: 'p' } },
      { retry: { attempts: 1 }, connectTimeoutMs: 500 },
    );
    try {
      const failure = await failureOf(client.manifests.get('team-a/app', 'v1'));

      expect(failure).toBeInstanceOf(LinkLocalRefusedError);
      expect((failure as Error).message).toContain('metadata.google.internal is a cloud metadata host name');
    } finally {
      await client.close();
    }
  });
});
