import { harborCloudEvent, harborPayload } from '../../support/webhook-payloads.ts';

/**
 * Sample digests and Harbor payloads the unit tests share, built as Harbor documents them
 * (default and CloudEvents). Distribution events are built where they are used, with
 * test/support/webhook-payloads.ts.
 */

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
export const DIGEST_C = `sha256:${'c'.repeat(64)}`;

export const HARBOR_PUSH = harborPayload({
  type: 'PUSH_ARTIFACT',
  occurAt: 1737446601,
  repository: 'team-a/app',
  resources: [{ digest: DIGEST_A, tag: 'v1' }],
  dateCreated: 1737446600,
});

export const HARBOR_DELETE = harborPayload({
  type: 'DELETE_ARTIFACT',
  occurAt: 1737446700,
  repository: 'team-a/x/app',
  resources: [
    { digest: DIGEST_B, tag: 'v2' },
    { digest: DIGEST_B, tag: 'latest' },
  ],
});

export const HARBOR_CLOUDEVENT_PUSH = harborCloudEvent({
  type: 'harbor.artifact.pushed',
  id: '4b2f89a6-548d-4c12-9993-a1f5790b97d2',
  requestId: '2eedfab8-61d3-4f3c-8ec3-8f82d1ec4c84',
  time: '2025-03-06T06:08:43Z',
  operator: 'robot$ci',
  repository: 'team-a/app',
  resources: [{ digest: DIGEST_C, tag: 'v3' }],
  repoType: 'public',
});
