import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as scan } from '../../../functions/scan/handler.ts';
import { DIGEST_A } from '../events/fixtures.ts';
import { lambdaContext, type Pipeline, startPipelineToB } from './pipeline-fixture.ts';

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipelineToB({ runningJobs: 2, perDestination: 2, blobsPerJob: 2 });
});
afterEach(() => pipeline.close());

describe('the scan function', () => {
  it('cancels a disabled policy’s jobs when asked to (kind cancel), then forgets the request', async () => {
    const ids: string[] = [];
    for (const tag of ['c1', 'c2', 'c3']) {
      const submitted = await pipeline.app.lifecycle.submit({
        policy: 'to-b',
        action: 'push',
        sourceRegistry: 'hub-a',
        sourceRepository: 'team-a/app',
        tag,
        digest: DIGEST_A,
        destinationRegistry: 'dc-b',
        destinationRepository: 'team-a/app',
      });
      ids.push(submitted.jobId);
    }
    await pipeline.app.config.setPolicyEnabled('to-b', false);
    const request = { policy: 'to-b', scanId: 'cancel-1', kind: 'cancel' as const };
    await pipeline.app.scans.started(request);

    const result = await scan(request, lambdaContext('scan'));

    expect(result).toMatchObject({ policy: 'to-b', kind: 'cancel', queued: 3, running: 0 });
    for (const id of ids) expect((await pipeline.app.jobs.get(id))?.status).toBe('CANCELLED');
    expect(await pipeline.app.scans.unfinished()).toEqual([]);
  });
});
