import { createReadStream, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/**
 * Blob storage on another host: the registry redirects blob reads there (distribution's redirect
 * middleware), and a plain file server answers from the registry's own storage folder.
 */
describe('a source registry that redirects blob reads to another host', () => {
  let storage: http.Server;
  let source: TestRegistry;
  let destination: TestRegistry;
  let image: PushedImage;
  const seenAuthorization: (string | undefined)[] = [];

  beforeAll(async () => {
    let root = '';
    storage = http.createServer((request, response) => {
      seenAuthorization.push(request.headers.authorization);
      const file = join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
      if (!existsSync(file)) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(file).pipe(response);
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.2', resolve));
    const { port } = storage.address() as AddressInfo;
    [source, destination] = await Promise.all([
      startRegistry({
        auth: { kind: 'basic', username: 'u', password: 'p' },
        redirectBlobsTo: `http://127.0.0.2:${port}/`,
      }),
      startRegistry(),
    ]);
    root = source.storage;
    image = await pushImage(`${source.host}/team-a/app:v1`, {
      creds: 'u:p',
      layerCount: 2,
      layerSize: 100_000,
    });
  });

  afterAll(async () => {
    await Promise.all([source, destination].map((r) => r?.stop()));
    storage?.close();
  });

  it('follows the redirect for the blob, and never sends the credentials to the other host', async () => {
    const result = await runCli([
      'copy',
      '--src-creds',
      'u:p',
      `${source.host}/team-a/app:v1`,
      `${destination.host}/team-a/app:v1`,
    ]);

    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(await manifestDigest(destination, 'team-a/app', 'v1')).toBe(image.digest);
    expect(seenAuthorization.length).toBeGreaterThanOrEqual(image.blobs.length);
    expect(seenAuthorization.every((header) => header === undefined)).toBe(true);
  });
});
