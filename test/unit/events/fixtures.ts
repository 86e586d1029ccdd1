/**
 * Webhook bodies as registries send them. Distribution ones are copied from a real
 * docker-registry 2.8.2 (see test/integration/events/distribution-capture.test.ts), with blob,
 * pull and mount events as it sends them when no `ignore` rule filters them. Harbor ones follow
 * Harbor's documented payloads (default and CloudEvents).
 */

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
export const DIGEST_C = `sha256:${'c'.repeat(64)}`;

const REQUEST = {
  id: 'r1',
  addr: '127.0.0.1:57028',
  host: 'hub-a:5000',
  method: 'PUT',
  useragent: 'skopeo/1.9.3',
};
const SOURCE = { addr: 'vm:5000', instanceID: '11d7c76c-dc96-4e5f-9dea-b85c510f550a' };

interface DistributionTarget {
  repository: string;
  mediaType?: string;
  digest?: string;
  tag?: string;
  url?: string;
  [key: string]: unknown;
}

export function distributionEvent(id: string, action: string, target: DistributionTarget) {
  return {
    id,
    timestamp: '2026-11-25T04:16:15.048427042Z',
    action,
    target: { size: 557, length: 557, ...target },
    request: REQUEST,
    actor: {},
    source: SOURCE,
  };
}

export const manifestPush = (
  id: string,
  repository: string,
  digest: string,
  tag?: string,
  mediaType?: string,
) =>
  distributionEvent(id, 'push', {
    mediaType: mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    digest,
    repository,
    url: `http://hub-a:5000/v2/${repository}/manifests/${digest}`,
    ...(tag === undefined ? {} : { tag }),
  });

export const blobPush = (
  id: string,
  repository: string,
  digest: string,
  mediaType = 'application/octet-stream',
) =>
  distributionEvent(id, 'push', {
    mediaType,
    digest,
    repository,
    url: `http://hub-a:5000/v2/${repository}/blobs/${digest}`,
  });

/** A manifest delete: the digest first, then one event per tag the manifest had. */
export const manifestDelete = (id: string, repository: string, digest: string) =>
  distributionEvent(id, 'delete', { digest, repository });
export const tagDelete = (id: string, repository: string, tag: string) =>
  distributionEvent(id, 'delete', { repository, tag });

export const envelope = (...events: unknown[]) => ({ events });

export const HARBOR_PUSH = {
  type: 'PUSH_ARTIFACT',
  occur_at: 1737446601,
  operator: 'admin',
  event_data: {
    resources: [{ digest: DIGEST_A, tag: 'v1', resource_url: 'harbor.example.com/team-a/app:v1' }],
    repository: {
      date_created: 1737446600,
      name: 'app',
      namespace: 'team-a',
      repo_full_name: 'team-a/app',
      repo_type: 'private',
    },
  },
};

export const HARBOR_DELETE = {
  type: 'DELETE_ARTIFACT',
  occur_at: 1737446700,
  operator: 'admin',
  event_data: {
    resources: [
      { digest: DIGEST_B, tag: 'v2', resource_url: 'harbor.example.com/team-a/x/app:v2' },
      { digest: DIGEST_B, tag: 'latest', resource_url: 'harbor.example.com/team-a/x/app:latest' },
    ],
    repository: { name: 'x/app', namespace: 'team-a', repo_full_name: 'team-a/x/app', repo_type: 'private' },
  },
};

export const HARBOR_CLOUDEVENT_PUSH = {
  specversion: '1.0',
  requestid: '2eedfab8-61d3-4f3c-8ec3-8f82d1ec4c84',
  id: '4b2f89a6-548d-4c12-9993-a1f5790b97d2',
  source: '/projects/1/webhook/policies/1',
  type: 'harbor.artifact.pushed',
  datacontenttype: 'application/json',
  time: '2025-03-06T06:08:43Z',
  data: {
    resources: [{ digest: DIGEST_C, tag: 'v3', resource_url: 'harbor.example.com/team-a/app:v3' }],
    repository: { name: 'app', namespace: 'team-a', repo_full_name: 'team-a/app', repo_type: 'public' },
  },
  operator: 'robot$ci',
};
