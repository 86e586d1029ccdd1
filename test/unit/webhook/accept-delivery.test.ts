import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import { UnauthorizedWebhookError, UnknownSourceError } from '../../../functions/lib/events/errors.ts';
import type { JobTarget as NewJob } from '../../../functions/lib/jobs/job.ts';
import { acceptDelivery, type WebhookPorts } from '../../../functions/lib/webhook/accept-delivery.ts';
import {
  DISTRIBUTION_EVENTS_TYPE,
  distributionDelete,
  distributionEnvelope,
  distributionPush,
} from '../../support/webhook-payloads.ts';
import { DIGEST_A } from '../events/fixtures.ts';

const config = parseConfig(
  `
registries:
  - { name: hub-a, url: "http://127.0.0.1:5001" }
  - { name: dc-b, url: "http://127.0.0.1:5002" }
  - { name: dc-c, url: "http://127.0.0.1:5003" }
sources:
  - { name: hub-a, registry: hub-a, format: distribution, auth: { header: Authorization, value: "Bearer s3cret" } }
policies:
  - { name: to-b, source: { registry: hub-a, project: team-a }, destination: { registry: dc-b, namespace: mirror }, replicateDeletes: true }
  - { name: to-c, source: { registry: hub-a, project: team-a }, destination: { registry: dc-c }, filters: { tags: ["v*"] } }
  - { name: off, source: { registry: hub-a, project: team-a }, destination: { registry: dc-c }, enabled: false }
`,
  { env: {} },
);

/** Job records in memory: submitting an id twice keeps the first job. */
function ports(replicated: Record<string, string> = {}) {
  const jobs = new Map<string, NewJob>();
  const queued: string[] = [];
  const p: WebhookPorts = {
    source: async (name) => config.sources.find((s) => s.name === name),
    policies: async () => config.policies,
    replicatedDigest: async (policy, repository, tag) => replicated[`${policy} ${repository}:${tag}`],
    submitJob: async (job) => {
      if (!jobs.has(job.id)) jobs.set(job.id, job);
      return { jobId: job.id, enqueue: true, attempt: 1 };
    },
    enqueue: async (messages) => {
      queued.push(...messages.map((m) => m.jobId));
    },
  };
  return { p, jobs, queued };
}

const request = (body: unknown, authorization = 'Bearer s3cret') => ({
  source: 'hub-a',
  headers: { authorization, 'content-type': DISTRIBUTION_EVENTS_TYPE },
  query: {},
  rawBody: Buffer.from(JSON.stringify(body)),
});

describe('acceptDelivery', () => {
  it('fans a push out to one job per matching enabled policy, under each destination', async () => {
    const { p, jobs, queued } = ports();

    const result = await acceptDelivery(
      p,
      request(
        distributionEnvelope(
          distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
        ),
      ),
    );

    expect(result).toMatchObject({ accepted: 1, ignored: 0 });
    expect([...jobs.values()].map((j) => [j.policy, j.destinationRegistry, j.destinationRepository])).toEqual(
      [
        ['to-b', 'dc-b', 'mirror/team-a/app'],
        ['to-c', 'dc-c', 'team-a/app'],
      ],
    );
    expect(queued).toEqual(result.jobs);
  });

  it('makes one job of the same delivery sent twice', async () => {
    const { p, jobs } = ports();
    const body = distributionEnvelope(
      distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'latest' }),
    );

    const first = await acceptDelivery(p, request(body));
    const second = await acceptDelivery(p, request(body));

    expect(second.jobs).toEqual(first.jobs);
    expect(jobs.size).toBe(1);
  });

  it('counts events no policy wants as ignored, without refusing them', async () => {
    const { p, jobs } = ports();

    const result = await acceptDelivery(
      p,
      request(
        distributionEnvelope(
          distributionPush({ id: 'e1', repository: 'team-b/app', digest: DIGEST_A, tag: 'v1' }),
          distributionPush({ id: 'e2', repository: 'team-a/app', digest: DIGEST_A }),
        ),
      ),
    );

    expect(result).toEqual({ accepted: 0, ignored: 2, jobs: [] });
    expect(jobs.size).toBe(0);
  });

  it('turns a tag delete into a delete of the digest the policy replicated, for policies that replicate deletes', async () => {
    const { p, jobs } = ports({ 'to-b team-a/app:v1': DIGEST_A });

    const result = await acceptDelivery(
      p,
      request(
        distributionEnvelope(
          distributionDelete({ id: 'd1', repository: 'team-a/app', digest: DIGEST_A }),
          distributionDelete({ id: 'd2', repository: 'team-a/app', tag: 'v1' }),
        ),
      ),
    );

    expect(result).toMatchObject({ accepted: 1, ignored: 1 });
    expect([...jobs.values()]).toEqual([
      expect.objectContaining({
        policy: 'to-b',
        action: 'delete',
        tag: 'v1',
        digest: DIGEST_A,
        destinationRepository: 'mirror/team-a/app',
      }),
    ]);
  });

  it('refuses an unknown source with 404 and a wrong secret with 401', async () => {
    const { p } = ports();

    await expect(acceptDelivery(p, { ...request(distributionEnvelope()), source: 'nope' })).rejects.toThrow(
      UnknownSourceError,
    );
    await expect(acceptDelivery(p, request(distributionEnvelope(), 'Bearer wrong'))).rejects.toThrow(
      UnauthorizedWebhookError,
    );
  });
});
