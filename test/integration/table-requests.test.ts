import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as dispatch } from '../../functions/dispatch/handler.ts';
import { handler as webhook } from '../../functions/webhook/handler.ts';
import { pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { distributionEnvelope, distributionPush } from '../support/webhook-payloads.ts';
import { driveExecution } from '../unit/handlers/drive-execution.ts';
import {
  declareHubAToB,
  HUB_A_AUTH,
  lambdaContext,
  type Pipeline,
  sqsEvent,
  startPipeline,
  webhookEvent,
} from '../unit/handlers/pipeline-fixture.ts';

/**
 * What one replicated tag costs in table requests as the stack deploys the handlers (budgets,
 * slots and claims in the table: `sharedCoordination`), counted on a real dynalite table with
 * real registries — the DynamoDB row of docs/performance.md. The handlers share one app here,
 * as warm invocations each keep theirs; a cold start reads the configuration again.
 */

/** The commands DynamoDB bills as reads; every other one the handlers send writes. */
const READS = new Set(['GetCommand', 'BatchGetCommand', 'QueryCommand', 'ScanCommand']);

describe('the table requests of one replicated tag, as deployed', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let pipeline: Pipeline;
  const counts = new Map<string, number>();

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    pipeline = await startPipeline(
      { runningJobs: 10, perDestination: 4, blobsPerJob: 4 },
      { observe: (command) => counts.set(command, (counts.get(command) ?? 0) + 1) },
    );
    await declareHubAToB(pipeline.app, { source: source.url, destination: destination.url });
  });

  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([source, destination].map((registry) => registry?.stop()));
  });

  /**
   * Delivers the push of `tag` and drives its job as Step Functions would; answers the requests
   * by phase and the lanes FetchManifest dealt.
   */
  async function replicate(tag: string, layers = { layerCount: 2, layerSize: 4096 }) {
    const image = await pushImage(`${source.host}/team-a/app:${tag}`, layers);
    const phases: Record<string, number> = {};
    const kinds = { reads: 0, writes: 0 };
    const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      counts.clear();
      const answer = await work();
      phases[name] = [...counts.values()].reduce((sum, count) => sum + count, 0);
      for (const [command, count] of counts) kinds[READS.has(command) ? 'reads' : 'writes'] += count;
      return answer;
    };
    const sent = pipeline.sent.length;
    await phase('webhook', () =>
      webhook(
        webhookEvent(
          'hub-a',
          distributionEnvelope(
            distributionPush({ id: `e-${tag}`, repository: 'team-a/app', digest: image.digest, tag }),
          ),
          HUB_A_AUTH,
        ),
        lambdaContext('webhook'),
      ),
    );
    const messages = pipeline.sent.slice(sent).map((message) => message.body);
    await phase('dispatch', () => dispatch(sqsEvent(messages), lambdaContext('dispatch')));
    const [started] = pipeline.started.slice(-1);
    if (!started) throw new Error('no execution started');
    const plan = await driveExecution(started, { phase });
    expect(await pipeline.app.jobs.get(started.input.jobId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await manifestDigest(destination, 'team-a/app', tag)).toBe(image.digest);
    return { phases, lanes: plan.lanes.length, ...kinds };
  }

  const sum = (phases: Record<string, number>) => Object.values(phases).reduce((all, n) => all + n, 0);

  // Measured on 2026-12-01: webhook 5 (the source, the policies, the job, its tag lock read and
  // taken), dispatch 9 (the job, the line, the policy, the lease and both slots), FetchManifest 5
  // (RUNNING, its substates and progress), PushManifest 12 (its substate, SUCCEEDED, the slots and
  // tag handed back, the line looked at): 16 reads and 15 writes.
  it('costs a small push at most 31 requests, its functions warm', async () => {
    await replicate('v1'); // the functions' first invocations read the configuration

    const { phases, reads, writes } = await replicate('v2');

    console.log(
      `table requests of one small tag, functions warm: ${JSON.stringify(phases)}, ${sum(phases)} in all (${reads} reads, ${writes} writes)`,
    );
    expect(sum(phases)).toBeLessThanOrEqual(31);
  });

  // Measured on 2026-12-02: FetchManifest 4 (no copy of its own); each lane 2 — its substate and
  // its progress — and each blob of 1 MiB or more (shared) 3: the blob index read, the claim
  // taken (refused while the index names a holder) and the claim given back naming the blob's
  // holder, one write (5 until then: the index read again after the claim, and the blob
  // remembered apart from the release). Four 9 MiB layers take two lanes (a lane more would
  // not save what it costs: lanes.ts): 46 requests, 20 reads and 26 writes; four of 32 MiB
  // take four: 50, 20 reads and 30 writes.
  it('costs a tag of four 9 MiB layers, in two lanes, at most 46 requests (26 writes)', async () => {
    await replicate('v3');

    const { phases, lanes, reads, writes } = await replicate('v4', {
      layerCount: 4,
      layerSize: 9 * 1024 * 1024,
    });

    console.log(
      `table requests of a tag of four 9 MiB layers: ${JSON.stringify(phases)}, ${sum(phases)} in all (${reads} reads, ${writes} writes)`,
    );
    expect(lanes).toBe(2);
    expect(sum(phases)).toBeLessThanOrEqual(46);
    expect(writes).toBeLessThanOrEqual(26);
  });

  it('costs a tag of four 32 MiB layers, in four lanes, at most 50 requests (30 writes)', async () => {
    const { phases, lanes, reads, writes } = await replicate('v5', {
      layerCount: 4,
      layerSize: 32 * 1024 * 1024,
    });

    console.log(
      `table requests of a tag of four 32 MiB layers: ${JSON.stringify(phases)}, ${sum(phases)} in all (${reads} reads, ${writes} writes)`,
    );
    expect(lanes).toBe(4);
    expect(sum(phases)).toBeLessThanOrEqual(50);
    expect(writes).toBeLessThanOrEqual(30);
  });
});
