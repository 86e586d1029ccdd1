import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEnded, type CrossdockProcess, waitForJobs } from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/** A push to A reaches B through A's own notifications: the whole pipeline, one machine. */
describe('crossdock serve: a push is replicated', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror();
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  it('copies the pushed image to B with the same digest, the job SUCCEEDED with every substate recorded', async () => {
    const image = await pushImage(`${a.host}/team/app:v1`);

    const [job] = await waitForJobs(crossdock, allEnded);

    expect(job).toMatchObject({ policy: 'a-to-b', action: 'push', status: 'SUCCEEDED', tag: 'v1' });
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(image.digest);
    const substates = job?.history.map((entry) => entry.substate).filter(Boolean);
    expect(new Set(substates)).toEqual(
      new Set(['FetchManifest', 'CheckManifest', 'CheckBlobs', 'MountOrCopyBlobs', 'PushManifest']),
    );
    expect(job?.history.map((entry) => entry.status)).toEqual(
      expect.arrayContaining(['QUEUED', 'RUNNING', 'SUCCEEDED']),
    );
  });
});
