import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '#config/schema.ts';
import { checkBody } from '../../../functions/lib/events/limits.ts';
import { parseEvents, type RegistryEvent } from '../../../functions/lib/events/normalize.ts';
import { verifySender } from '../../../functions/lib/events/verify.ts';
import { type PushedImage, pushImage } from '../../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../../support/registry-process.ts';

/**
 * Real notifications from a real distribution registry, captured by a small HTTP server and fed
 * through the webhook pipeline (verify → checkBody → parseEvents), so the parser's drop rules
 * are checked against what the registry actually sends, not against our idea of it.
 */

interface Delivery {
  headers: Record<string, string | undefined>;
  body: Buffer;
}

const TOKEN = 'Bearer capture-test-token';
const SOURCE: SourceConfig = {
  name: 'hub-a',
  registry: 'hub-a',
  format: 'distribution',
  auth: { header: 'Authorization', value: TOKEN },
};

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]),
  );
}

async function startCaptureServer(): Promise<{ server: Server; url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: flatHeaders(req.headers), body: Buffer.concat(chunks) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/webhooks/hub-a`, deliveries };
}

/** Every delivery through the pipeline the webhook function runs. */
function parseAll(deliveries: Delivery[]): { events: RegistryEvent[]; ignored: number } {
  const events: RegistryEvent[] = [];
  let ignored = 0;
  for (const delivery of deliveries) {
    verifySender(SOURCE, { headers: delivery.headers, query: {}, rawBody: delivery.body });
    const parsed = parseEvents('distribution', checkBody(delivery.headers, delivery.body), {
      registry: SOURCE.registry,
    });
    events.push(...parsed.events);
    ignored += parsed.ignored;
  }
  return { events, ignored };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('real distribution notifications', () => {
  let capture: Awaited<ReturnType<typeof startCaptureServer>>;
  let registry: TestRegistry;
  let single: PushedImage;
  let multi: PushedImage;

  beforeAll(async () => {
    capture = await startCaptureServer();
    registry = await startRegistry({
      notifications: { url: capture.url, headers: { Authorization: TOKEN } },
    });
    single = await pushImage(`${registry.host}/team-a/app:v1`);
    multi = await pushImage(`${registry.host}/team-a/multi:v1`, {
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    const deleted = await request(`${registry.url}/v2/team-a/app/manifests/${single.digest}`, {
      method: 'DELETE',
    });
    await deleted.body.dump();
    expect(deleted.statusCode).toBe(202);
    // Deliveries go out one at a time, in order: the tag delete is the last one expected.
    await waitFor(
      () => parseAll(capture.deliveries).events.some((e) => e.action === 'delete' && e.tag === 'v1'),
      'the tag-delete notification',
    );
  });

  afterAll(async () => {
    await registry?.stop();
    await new Promise((resolve) => capture?.server.close(resolve));
  });

  it('sends the events envelope media type and the configured auth header', () => {
    for (const delivery of capture.deliveries) {
      expect(delivery.headers['content-type']).toMatch(
        /^application\/vnd\.docker\.distribution\.events\.v[12]\+json/,
      );
      expect(delivery.headers.authorization).toBe(TOKEN);
    }
  });

  it('yields one push per tag, children of the index dropped, and both kinds of delete', () => {
    // Act
    const { events, ignored } = parseAll(capture.deliveries);

    // Assert
    const summary = events.map(({ action, repository, tag, digest }) => ({
      action,
      repository,
      tag,
      digest,
    }));
    expect(summary).toEqual([
      { action: 'push', repository: 'team-a/app', tag: 'v1', digest: single.digest },
      { action: 'push', repository: 'team-a/multi', tag: 'v1', digest: multi.digest },
      { action: 'delete', repository: 'team-a/app', tag: undefined, digest: single.digest },
      { action: 'delete', repository: 'team-a/app', tag: 'v1', digest: undefined },
    ]);
    expect(events.every((e) => e.registry === 'hub-a' && e.id !== '')).toBe(true);
    expect(events[1]?.mediaType).toBe(multi.mediaType);
    // The two tagless child-manifest pushes (pulls and blobs are ignored by the registry's config).
    expect(ignored).toBe(2);
  });
});
