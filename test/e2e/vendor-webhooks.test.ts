import { createHmac } from 'node:crypto';
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
 * Webhooks of other registries than distribution, each as its vendor sends it: zot's events
 * extension (an HTTP sink: CloudEvents in binary mode, the sink's Basic credentials), Quay's and
 * Docker Hub's (no header of crossdock's choosing: a secret in the URL, `auth: { query, value }`),
 * GitHub's (a signed body, `X-Hub-Signature-256`, `auth: { hmacSecret }`). The images live in a
 * real distribution registry; the deliveries are those vendors' shapes.
 */
describe('crossdock serve: zot, Quay, Docker Hub and GitHub sources', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  const zotSink = `Basic ${Buffer.from('zot-sink:sink-secret').toString('base64')}`;

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    crossdock = await startCrossdock({
      config: {
        registries: registryList({ a: a.url, b: b.url }),
        sources: [
          { name: 'quay-a', registry: 'a', format: 'quay', auth: { query: 'token', value: 'quay-secret' } },
          {
            name: 'hub-a',
            registry: 'a',
            format: 'dockerhub',
            auth: { query: 'token', value: 'hub-secret' },
          },
          { name: 'gh-a', registry: 'a', format: 'github', auth: { hmacSecret: 'gh-secret' } },
          { name: 'zot-a', registry: 'a', format: 'zot', auth: { header: 'Authorization', value: zotSink } },
        ],
        policies: [replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b' })],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a, b].map((r) => r?.stop()));
  });

  const post = (path: string, body: unknown) =>
    fetch(`${crossdock.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** Waits until the jobs of `repository` (at least `count`) have all ended; answers them. */
  const jobsOf = async (repository: string, count = 1) =>
    (
      await waitForJobs(crossdock, (all) => {
        const mine = all.filter((job) => job.sourceRepository === repository);
        return mine.length >= count && allEnded(mine);
      })
    ).filter((job) => job.sourceRepository === repository);

  it('replicates the image a zot image.updated event names, once however often it is delivered', async () => {
    const image = await pushImage(`${a.host}/team/zot-app:v1`);
    const deliver = () =>
      fetch(`${crossdock.url}/webhooks/zot-a`, {
        method: 'POST',
        headers: {
          authorization: zotSink,
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': 'evt-1',
          'ce-source': 'zotregistry.dev',
          'ce-type': 'zotregistry.image.updated',
          'ce-time': new Date().toISOString(),
        },
        body: JSON.stringify({
          name: 'team/zot-app',
          reference: 'v1',
          digest: image.digest,
          mediaType: image.mediaType,
        }),
      });

    const answers = [await deliver(), await deliver()];

    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    const jobs = await jobsOf('team/zot-app');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ policy: 'a-to-b', action: 'push', tag: 'v1', status: 'SUCCEEDED' });
    expect(await manifestDigest({ url: b.url }, 'team/zot-app', 'v1')).toBe(image.digest);
  });

  it('replicates the tags a Quay repository push lists, and those a Docker Hub push names', async () => {
    const quayImage = await pushImage(`${a.host}/team/quay-app:v1`);
    const hubImage = await pushImage(`${a.host}/team/hub-app:v2`);

    const answers = [
      await post('/webhooks/quay-a?token=quay-secret', {
        name: 'quay-app',
        repository: 'team/quay-app',
        namespace: 'team',
        docker_url: `${a.host}/team/quay-app`,
        updated_tags: ['v1'],
      }),
      await post('/webhooks/hub-a?token=hub-secret', {
        callback_url: 'https://registry.hub.docker.com/u/team/hub-app/hook/x/',
        push_data: { pushed_at: Math.floor(Date.now() / 1000), pusher: 'someone', tag: 'v2' },
        repository: { repo_name: 'team/hub-app', name: 'hub-app', namespace: 'team' },
      }),
    ];

    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    const jobs = [...(await jobsOf('team/quay-app')), ...(await jobsOf('team/hub-app'))];
    expect(jobs.map((job) => job.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await manifestDigest({ url: b.url }, 'team/quay-app', 'v1')).toBe(quayImage.digest);
    expect(await manifestDigest({ url: b.url }, 'team/hub-app', 'v2')).toBe(hubImage.digest);
  });

  it('replicates the tagged container version a signed GitHub registry_package event names', async () => {
    const image = await pushImage(`${a.host}/team/gh-app:v3`);
    const body = JSON.stringify({
      action: 'published',
      registry_package: {
        name: 'GH-App',
        namespace: 'Team',
        package_type: 'CONTAINER',
        package_version: {
          version: image.digest,
          container_metadata: { tag: { name: 'v3', digest: image.digest } },
        },
      },
    });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const deliver = (signature: string) =>
      fetch(`${crossdock.url}/webhooks/gh-a`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'registry_package',
          'x-github-delivery': 'd1',
          'x-hub-signature-256': signature,
        },
        body,
      });

    const forged = await deliver(sign('not-the-secret'));
    const signed = await deliver(sign('gh-secret'));

    expect([forged.status, signed.status]).toEqual([401, 202]);
    const jobs = await jobsOf('team/gh-app');
    expect(jobs).toEqual([expect.objectContaining({ status: 'SUCCEEDED', tag: 'v3' })]);
    expect(await manifestDigest({ url: b.url }, 'team/gh-app', 'v3')).toBe(image.digest);
  });

  it("refuses a delivery without the sender's secret (401): a wrong URL token, no sink credentials", async () => {
    const wrongToken = await post('/webhooks/hub-a?token=wrong', {
      push_data: { tag: 'v3' },
      repository: { repo_name: 'team/hub-app' },
    });
    const noCredentials = await fetch(`${crossdock.url}/webhooks/zot-a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-type': 'zotregistry.image.updated', 'ce-id': 'x' },
      body: JSON.stringify({ name: 'team/zot-app', reference: 'v2' }),
    });

    expect([wrongToken.status, noCredentials.status]).toEqual([401, 401]);
  });
});
