import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import { UnauthorizedWebhookError, UnknownSourceError } from '../../../functions/lib/events/errors.ts';
import type { JobTarget as NewJob } from '../../../functions/lib/jobs/job.ts';
import type { SubmitMessage } from '../../../functions/lib/jobs/message.ts';
import {
  acceptDelivery,
  INLINE_JOBS,
  type WebhookPorts,
} from '../../../functions/lib/webhook/accept-delivery.ts';
import { submitJobs } from '../../../functions/lib/webhook/submit-jobs.ts';
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

/**
 * Job records in memory: submitting an id twice keeps the first job. Each submission takes a
 * few milliseconds (a record write), so that concurrent submissions interleave.
 */
function ports(replicated: Record<string, string> = {}) {
  const jobs = new Map<string, NewJob>();
  const queued: string[] = [];
  const later: SubmitMessage[] = [];
  const p: WebhookPorts = {
    source: async (name) => config.sources.find((s) => s.name === name),
    policies: async () => config.policies,
    replicatedDigest: async (policy, repository, tag) => replicated[`${policy} ${repository}:${tag}`],
    submitJob: async (job) => {
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 3));
      if (!jobs.has(job.id)) jobs.set(job.id, job);
      return { jobId: job.id, enqueue: true, attempt: 1 };
    },
    enqueue: async (messages) => {
      queued.push(...messages.map((m) => m.jobId));
    },
    submitLater: async (messages) => {
      later.push(...messages);
    },
  };
  return { p, jobs, queued, later };
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
    // Jobs of different policies are submitted concurrently: their order is not the point.
    expect(
      [...jobs.values()].map((j) => [j.policy, j.destinationRegistry, j.destinationRepository]).sort(),
    ).toEqual([
      ['to-b', 'dc-b', 'mirror/team-a/app'],
      ['to-c', 'dc-c', 'team-a/app'],
    ]);
    expect([...queued].sort()).toEqual([...result.jobs].sort());
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

    expect(result).toEqual({ accepted: 0, ignored: 2, jobs: [], deferred: 0 });
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

  describe('a big delivery', () => {
    /** `count` pushes of tags t0… in team-a/app, one event each (only policy to-b takes tags t*). */
    const pushes = (count: number, digest = DIGEST_A) =>
      Array.from({ length: count }, (_, i) =>
        distributionPush({ id: `p${i}`, repository: 'team-a/app', digest, tag: `t${i}` }),
      );

    it('answers the derived job ids at once and leaves the submitting to the queue', async () => {
      const { p, jobs, queued, later } = ports();
      const events = pushes(INLINE_JOBS + 1);

      const result = await acceptDelivery(p, request(distributionEnvelope(...events)));

      expect(result).toMatchObject({ accepted: INLINE_JOBS + 1, ignored: 0, deferred: INLINE_JOBS + 1 });
      expect(jobs.size).toBe(0);
      expect(queued).toEqual([]);
      const carried = later.flatMap((message) => message.submit);
      expect(carried.map((job) => job.id)).toEqual(result.jobs);
      expect(carried.every((job) => job.policy === 'to-b' && job.tag.startsWith('t'))).toBe(true);
    });

    it('keeps every SubmitMessage small enough for ten to fit one SQS batch', async () => {
      const { p, later } = ports();

      await acceptDelivery(p, request(distributionEnvelope(...pushes(1500))));

      expect(later.length).toBeGreaterThan(1);
      for (const message of later) expect(JSON.stringify(message).length).toBeLessThan((256 * 1024) / 10);
    });

    it('makes, submitted from the queue, the same jobs as the same delivery submitted inline', async () => {
      const events = pushes(INLINE_JOBS + 5);
      const deferred = ports();
      await acceptDelivery(deferred.p, request(distributionEnvelope(...events)));

      for (const message of deferred.later) await submitJobs(deferred.p, message.submit);
      const direct = ports();
      for (const chunk of [events.slice(0, 50), events.slice(50)]) {
        await acceptDelivery(direct.p, request(distributionEnvelope(...chunk)));
      }

      expect([...deferred.jobs.values()].sort((x, y) => x.id.localeCompare(y.id))).toEqual(
        [...direct.jobs.values()].sort((x, y) => x.id.localeCompare(y.id)),
      );
      expect(new Set(deferred.queued)).toEqual(new Set(direct.queued));
    });

    it("submits the events of one tag in the delivery's order, in one message", async () => {
      const { p, later, jobs } = ports({ 'to-b team-a/app:same': DIGEST_A });
      const events = [
        ...pushes(INLINE_JOBS),
        distributionPush({ id: 'x1', repository: 'team-a/app', digest: DIGEST_A, tag: 'same' }),
        ...pushes(INLINE_JOBS).map((e, i) => ({ ...e, id: `q${i}`, target: { ...e.target, tag: `u${i}` } })),
        distributionDelete({ id: 'x2', repository: 'team-a/app', tag: 'same' }),
      ];

      await acceptDelivery(p, request(distributionEnvelope(...events)));

      const holding = later.filter((message) => message.submit.some((job) => job.tag === 'same'));
      expect(holding).toHaveLength(1);
      expect(holding[0]?.submit.filter((job) => job.tag === 'same').map((job) => job.action)).toEqual([
        'push',
        'delete',
      ]);
      // The tag delete without a digest takes the replicated one when it is submitted.
      for (const message of later) await submitJobs(p, message.submit);
      expect([...jobs.values()].find((job) => job.tag === 'same' && job.action === 'delete')?.digest).toBe(
        DIGEST_A,
      );
    });
  });

  it("submits the jobs of one tag in the delivery's order while other tags go concurrently", async () => {
    const order: string[] = [];
    const { p } = ports();
    const submit = p.submitJob;
    p.submitJob = async (job) => {
      const result = await submit(job);
      order.push(`${job.tag}@${job.digest}`);
      return result;
    };
    const digests = ['1', '2', '3'].map((hex) => `sha256:${hex.repeat(64)}`);

    await acceptDelivery(
      p,
      request(
        distributionEnvelope(
          ...digests.map((digest, i) =>
            distributionPush({ id: `s${i}`, repository: 'team-a/app', digest, tag: 'same' }),
          ),
          ...Array.from({ length: 20 }, (_, i) =>
            distributionPush({ id: `o${i}`, repository: 'team-a/app', digest: DIGEST_A, tag: `o${i}` }),
          ),
        ),
      ),
    );

    const same = order.filter((entry) => entry.startsWith('same@'));
    // Two policies (to-b, to-c takes no "same"): three submissions, in delivery order.
    expect(same).toEqual(digests.map((digest) => `same@${digest}`));
  });
});
