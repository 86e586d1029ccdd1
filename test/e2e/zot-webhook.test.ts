import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  type CrossdockProcess,
  startCrossdock,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { registryList, replicationPolicy } from '../support/serve-config.ts';

/**
 * A zot registry's events extension (an HTTP sink) calls `serve` with CloudEvents in binary
 * mode, as its CloudEvents SDK sends them, and the sink's Basic credentials. The image lives in
 * a real distribution registry; the deliveries are zot's shape.
 */
describe('crossdock serve: a zot source', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  const basic = `Basic ${Buffer.from('zot-sink:sink-secret').toString('base64')}`;

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    crossdock = await startCrossdock({
      config: {
        registries: registryList({ a: a.url, b: b.url }),
        sources: [
          { name: 'zot-a', registry: 'a', format: 'zot', auth: { header: 'Authorization', value: basic } },
        ],
        policies: [replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b' })],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a, b].map((r) => r?.stop()));
  });

  const deliver = (id: string, data: Record<string, unknown>) =>
    fetch(`${crossdock.url}/webhooks/zot-a`, {
      method: 'POST',
      headers: {
        authorization: basic,
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': id,
        'ce-source': 'zotregistry.dev',
        'ce-type': 'zotregistry.image.updated',
        'ce-time': new Date().toISOString(),
      },
      body: JSON.stringify(data),
    });

  it('replicates the image an image.updated event names, once however often it is delivered', async () => {
    const image = await pushImage(`${a.host}/team/app:v1`);
    const data = { name: 'team/app', reference: 'v1', digest: image.digest, mediaType: image.mediaType };

    const answers = [await deliver('evt-1', data), await deliver('evt-1', data)];

    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    const jobs = await waitForJobs(crossdock, allEnded);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ policy: 'a-to-b', action: 'push', tag: 'v1', status: 'SUCCEEDED' });
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(image.digest);
  });

  it('refuses a delivery without the sink credentials (401)', async () => {
    const answer = await fetch(`${crossdock.url}/webhooks/zot-a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-type': 'zotregistry.image.updated', 'ce-id': 'x' },
      body: JSON.stringify({ name: 'team/app', reference: 'v2' }),
    });

    expect(answer.status).toBe(401);
  });
});
