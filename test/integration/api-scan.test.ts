import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScanPorts, scanJobId, scanPolicyJobs } from '../../functions/lib/api/policy-scan.ts';
import { parseConfig } from '../../functions/lib/config/load.ts';
import type { PolicyConfig } from '../../functions/lib/config/schema.ts';
import type { JobMessage } from '../../functions/lib/jobs/message.ts';
import { RegistryClient } from '../../functions/lib/registry/client.ts';
import { JobStore } from '../../functions/lib/stores/jobs.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { type LocalTable, startLocalTable } from '../unit/stores/local-table.ts';

/**
 * The background scan of an enabled policy against a real registry: one push job per covered
 * tag, with the digest the tag has now, recorded in real job records (dynalite) and sent to the
 * queue in batches; the same scan again submits the same ids.
 */
describe('scanPolicyJobs', () => {
  let source: TestRegistry;
  let client: RegistryClient;
  let local: LocalTable;
  let jobs: JobStore;
  const pushed: Record<string, PushedImage> = {};
  let policy: PolicyConfig;

  beforeAll(async () => {
    [source, local] = await Promise.all([startRegistry(), startLocalTable()]);
    client = new RegistryClient({ url: source.url, name: 'hub-a' });
    jobs = new JobStore(local.client, local.tableName);
    for (const ref of [
      'team-a/app:v1',
      'team-a/app:v2',
      'team-a/app:v2-rc1',
      'team-a/x/y:v1',
      'team-ab/app:v1',
    ]) {
      pushed[ref] = await pushImage(`${source.host}/${ref}`);
    }
    const config = parseConfig(
      `
registries:
  - { name: hub-a, url: "${source.url}" }
  - { name: dc-b, url: "http://127.0.0.1:1" }
policies:
  - name: team-a-to-dc-b
    source: { registry: hub-a, project: team-a }
    destination: { registry: dc-b, namespace: mirror }
    filters: { tags: ["v*"], excludeTags: ["*-rc*"] }
`,
      { env: {} },
    );
    policy = config.policies[0] as PolicyConfig;
  });

  afterAll(async () => {
    await client?.close();
    await Promise.all([source?.stop(), local?.close()]);
  });

  /** Ports on real job records; `submitJob` records a job once, as the webhook's does. */
  function ports(current: () => PolicyConfig | undefined = () => policy) {
    const batches: JobMessage[][] = [];
    const p: ScanPorts = {
      policy: async () => current(),
      registryClient: async () => client,
      submitJob: async (job) => {
        const existing = await jobs.get(job.id);
        const recorded = existing ?? (await jobs.create(job));
        return { jobId: recorded.id, enqueue: existing === undefined, attempt: recorded.attempt };
      },
      enqueue: async (messages) => {
        batches.push(messages);
      },
    };
    return { p, batches };
  }

  it('submits one push job per covered tag, with its digest now, sent in batches', async () => {
    const { p, batches } = ports();

    const result = await scanPolicyJobs(p, { policy: policy.name, scanId: 'scan-1' }, { batchSize: 2 });

    expect(result).toEqual({
      policy: 'team-a-to-dc-b',
      scanId: 'scan-1',
      tags: 3,
      jobs: 3,
      enqueued: 3,
      vanished: 0,
    });
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
    const recorded = await Promise.all(batches.flat().map((m) => jobs.get(m.jobId)));
    const byRef = Object.fromEntries(recorded.map((j) => [`${j?.sourceRepository}:${j?.tag}`, j]));
    expect(Object.keys(byRef).sort()).toEqual(['team-a/app:v1', 'team-a/app:v2', 'team-a/x/y:v1']);
    for (const [ref, job] of Object.entries(byRef)) {
      const [repository, tag] = ref.split(':') as [string, string];
      expect(job).toMatchObject({
        id: scanJobId('scan-1', policy.name, repository, tag, pushed[ref]?.digest),
        policy: 'team-a-to-dc-b',
        action: 'push',
        status: 'QUEUED',
        sourceRegistry: 'hub-a',
        digest: pushed[ref]?.digest,
        destinationRegistry: 'dc-b',
        destinationRepository: `mirror/${repository}`,
      });
    }
    expect(batches.flat().every((m) => m.attempt === 1)).toBe(true);
  });

  it('makes no new jobs when the same scan runs again; another scan makes its own', async () => {
    const again = ports();
    const other = ports();

    const rerun = await scanPolicyJobs(again.p, { policy: policy.name, scanId: 'scan-1' });
    const next = await scanPolicyJobs(other.p, { policy: policy.name, scanId: 'scan-2' });

    expect([rerun.jobs, rerun.enqueued]).toEqual([3, 0]);
    expect([next.jobs, next.enqueued]).toEqual([3, 3]);
    const firstIds = ['team-a/app:v1', 'team-a/app:v2', 'team-a/x/y:v1'].map((ref) => {
      const [repository, tag] = ref.split(':') as [string, string];
      return scanJobId('scan-1', policy.name, repository, tag, pushed[ref]?.digest);
    });
    const nextIds = other.batches.flat().map((m) => m.jobId);
    expect(nextIds.filter((id) => firstIds.includes(id))).toEqual([]);
  });

  it('stops listing once the policy is disabled, sending what it had submitted', async () => {
    let enabled = true;
    const { p, batches } = ports(() => ({ ...policy, enabled }));
    const enqueue = p.enqueue;
    p.enqueue = async (messages) => {
      await enqueue(messages);
      enabled = false;
    };

    const result = await scanPolicyJobs(
      p,
      { policy: policy.name, scanId: 'scan-3' },
      { batchSize: 1, concurrency: 1 },
    );

    expect(result.stopped).toBe('policy disabled');
    expect(result.jobs).toBe(1);
    expect(batches.flat()).toHaveLength(1);
  });

  it('does nothing for a policy that is disabled or gone', async () => {
    const disabled = ports(() => ({ ...policy, enabled: false }));
    const gone = ports(() => undefined);

    const a = await scanPolicyJobs(disabled.p, { policy: policy.name, scanId: 'scan-4' });
    const b = await scanPolicyJobs(gone.p, { policy: policy.name, scanId: 'scan-4' });

    expect([a.stopped, a.jobs, b.stopped, b.jobs]).toEqual(['policy disabled', 0, 'policy deleted', 0]);
    expect([...disabled.batches, ...gone.batches]).toEqual([]);
  });
});
