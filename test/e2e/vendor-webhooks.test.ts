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
 * Quay's and Docker Hub's webhooks set no header of crossdock's choosing: each source proves
 * itself with a secret in the URL (`auth: { query, value }`); GitHub signs its body
 * (`X-Hub-Signature-256`, `auth: { hmacSecret }`). The images live in a real distribution
 * registry; the deliveries are those vendors' shapes.
 */
describe('crossdock serve: Quay, Docker Hub and GitHub sources', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

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
    const jobs = await waitForJobs(crossdock, (all) => all.length === 2 && allEnded(all));
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
    const jobs = await waitForJobs(crossdock, (all) => all.some((job) => job.tag === 'v3') && allEnded(all));
    expect(jobs.find((job) => job.tag === 'v3')).toMatchObject({
      status: 'SUCCEEDED',
      sourceRepository: 'team/gh-app',
    });
    expect(await manifestDigest({ url: b.url }, 'team/gh-app', 'v3')).toBe(image.digest);
  });

  it('refuses a delivery whose URL lacks the secret (401)', async () => {
    const answer = await post('/webhooks/hub-a?token=wrong', {
      push_data: { tag: 'v3' },
      repository: { repo_name: 'team/hub-app' },
    });

    expect(answer.status).toBe(401);
  });
});
