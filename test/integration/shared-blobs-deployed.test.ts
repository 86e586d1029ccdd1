import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as dispatch } from '../../functions/dispatch/handler.ts';
import { handler as webhook } from '../../functions/webhook/handler.ts';
import { type CountingProxy, startCountingProxy } from '../support/fault-proxy.ts';
import { type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
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
 * Shared blobs through the handlers as deployed (`sharedCoordination`: the blob index and the
 * copy claims in the table, one item per blob — docs/architecture.md, "Mounts"): jobs that need
 * the same big blob at the same time upload it once, whichever lane's claim wins, and the
 * others mount it. Each job is driven as Step Functions would (drive-execution.ts); bytes are
 * counted at the destination by a proxy.
 */

const MiB = 1024 * 1024;

describe('shared blobs with the claims in the table', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let proxy: CountingProxy;
  let pipeline: Pipeline;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    proxy = await startCountingProxy(destination);
    pipeline = await startPipeline({ runningJobs: 10, perDestination: 8, blobsPerJob: 4 });
    await declareHubAToB(pipeline.app, { source: source.url, destination: proxy.url });
  });

  afterAll(async () => {
    await pipeline?.close();
    await proxy?.stop();
    await Promise.all([source, destination].map((registry) => registry?.stop()));
  });

  it('uploads a big base shared by jobs running at once one time; the other jobs mount it', async () => {
    const base = await randomLayer(40 * MiB); // over what FetchManifest copies itself: the lanes copy it
    const repositories = ['team-a/one', 'team-a/two', 'team-a/three'];
    const images: PushedImage[] = [];
    for (const repository of repositories)
      images.push(await pushImage(`${source.host}/${repository}:v1`, { layers: [base], layerCount: 1 }));
    const sent = pipeline.sent.length;
    for (const [i, repository] of repositories.entries()) {
      const image = images[i] as PushedImage;
      await webhook(
        webhookEvent(
          'hub-a',
          distributionEnvelope(
            distributionPush({ id: `e-${i}`, repository, digest: image.digest, tag: 'v1' }),
          ),
          HUB_A_AUTH,
        ),
        lambdaContext('webhook'),
      );
    }
    const started = pipeline.started.length;
    await dispatch(
      sqsEvent(pipeline.sent.slice(sent).map((message) => message.body)),
      lambdaContext('dispatch'),
    );
    const executions = pipeline.started.slice(started);
    expect(executions).toHaveLength(3);
    const mark = proxy.mark();

    await Promise.all(executions.map((execution) => driveExecution(execution)));

    for (const [i, repository] of repositories.entries())
      expect(await manifestDigest(destination, repository, 'v1')).toBe(images[i]?.digest);
    const uploaded = proxy.uploadedBytes(mark);
    expect(uploaded).toBeGreaterThanOrEqual(base.size);
    expect(uploaded).toBeLessThan(base.size + 4 * MiB); // the base once, the small layers and manifests
    const mounts = proxy.requests(mark).filter((request) => request.path.includes('mount='));
    expect(mounts.length).toBeGreaterThanOrEqual(2);
    expect(await pipeline.app.blobIndex.holders(proxy.host, base.digest)).not.toEqual([]);
  });
});
