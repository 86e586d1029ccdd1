import type { NewJob } from '../../functions/lib/jobs/job.ts';

let counter = 0;

/**
 * A push job for the next tag of `team-a/app` (hub-a → dc-b, into `mirror/`), policy
 * `team-a-to-dc-b`, with a digest of its own; `overrides` change any field.
 */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  counter++;
  return {
    policy: 'team-a-to-dc-b',
    action: 'push',
    sourceRegistry: 'hub-a',
    sourceRepository: 'team-a/app',
    tag: `v${counter}`,
    digest: `sha256:${String(counter).padStart(64, '0')}`,
    destinationRegistry: 'dc-b',
    destinationRepository: 'mirror/team-a/app',
    ...overrides,
  };
}
