import { describe, expect, it } from 'vitest';
import { presentJob } from '../../../functions/lib/api/views.ts';
import { queuedJob } from '../../../functions/lib/jobs/transitions.ts';
import { newJob } from '../../support/jobs.ts';

describe('the jobs the API answers', () => {
  const job = {
    ...queuedJob({ ...newJob(), id: 'j1', digest: 'sha256:1' }, '2026-12-01T00:00:00.000Z'),
    status: 'RUNNING' as const,
  };

  it("shows what each unfinished lane left without its open upload's URL, which carries the registry's upload state", () => {
    const upload = {
      digest: 'sha256:a',
      location: 'http://b/v2/x/blobs/uploads/1?_state=secret',
      offset: 64,
    };
    const lanes = {
      0: { started: 's1', blobs: ['sha256:a'], upload },
      1: { started: 's1', blobs: ['sha256:b'] },
    };

    const view = presentJob({ ...job, lanes });

    expect(view.lanes).toEqual({
      0: { started: 's1', blobs: ['sha256:a'], upload: { digest: 'sha256:a', offset: 64 } },
      1: { started: 's1', blobs: ['sha256:b'] },
    });
    expect(JSON.stringify(view)).not.toContain('_state');
    expect(job).not.toHaveProperty('lanes');
  });

  it('answers a job without lanes as it is', () => {
    expect(presentJob(job)).toBe(job);
  });
});
