import { randomUUID } from 'node:crypto';
import { request } from 'undici';

/**
 * Webhook payloads as registries send them, for every test that parses or posts one.
 *
 * Distribution: the `{events: [...]}` envelope of docker-registry's notifications. What a test
 * does not set is what docker-registry 2.8.2 sent in a capture (the parser is checked against
 * the real thing in test/integration/events/distribution-capture.test.ts). Harbor: its default
 * payload and its CloudEvents form, as Harbor documents them.
 */

/** The content type distribution (up to 2.x) posts its notifications with. */
export const DISTRIBUTION_EVENTS_TYPE = 'application/vnd.docker.distribution.events.v1+json';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The registry an event names as its origin (the parser ignores it: the source config names it). */
export interface EventRegistry {
  url: string;
  host: string;
}

/** The captured notification's values, for the fields a test leaves out. */
const CAPTURED = {
  timestamp: '2026-11-25T04:16:15.048427042Z',
  registry: { url: 'http://hub-a:5000', host: 'hub-a:5000' },
  size: 557,
  instanceID: '11d7c76c-dc96-4e5f-9dea-b85c510f550a',
};

export interface EventOrigin {
  /** What dedupe keys on; a fresh UUID (a new event) when left out. */
  id?: string;
  timestamp?: string;
  registry?: EventRegistry;
}

export interface DistributionTarget {
  repository: string;
  mediaType?: string;
  digest?: string;
  tag?: string;
  url?: string;
  [key: string]: unknown;
}

/** One event of any action (pull, mount, …), its target as given. */
export function distributionEvent({
  action,
  target,
  ...origin
}: EventOrigin & { action: string; target: DistributionTarget }) {
  const registry = origin.registry ?? CAPTURED.registry;
  return {
    id: origin.id ?? randomUUID(),
    timestamp: origin.timestamp ?? CAPTURED.timestamp,
    action,
    target: { size: CAPTURED.size, length: CAPTURED.size, ...target },
    request: {
      id: randomUUID(),
      addr: '127.0.0.1:57028',
      host: registry.host,
      method: 'PUT',
      useragent: 'skopeo/1.9.3',
    },
    actor: {},
    source: { addr: registry.host, instanceID: CAPTURED.instanceID },
  };
}

export interface ManifestPush extends EventOrigin {
  repository: string;
  digest: string;
  /** Left out for a push by digest (the children of an index are pushed so). */
  tag?: string;
  mediaType?: string;
  size?: number;
}

/** A manifest pushed, by tag or by digest. */
export function distributionPush({ repository, digest, tag, mediaType, size, ...origin }: ManifestPush) {
  const registry = origin.registry ?? CAPTURED.registry;
  return distributionEvent({
    ...origin,
    action: 'push',
    target: {
      mediaType: mediaType ?? OCI_MANIFEST,
      digest,
      repository,
      ...(tag === undefined ? {} : { tag }),
      ...(size === undefined ? {} : { size, length: size }),
      url: `${registry.url}/v2/${repository}/manifests/${digest}`,
    },
  });
}

/** A blob (layer or config) pushed: distribution notifies those too unless told to ignore them. */
export function distributionBlobPush({
  repository,
  digest,
  mediaType = 'application/octet-stream',
  ...origin
}: EventOrigin & { repository: string; digest: string; mediaType?: string }) {
  const registry = origin.registry ?? CAPTURED.registry;
  return distributionEvent({
    ...origin,
    action: 'push',
    target: { mediaType, digest, repository, url: `${registry.url}/v2/${repository}/blobs/${digest}` },
  });
}

/**
 * A delete. Distribution reports a manifest delete as one event `{repository, digest}`, then one
 * `{repository, tag}` per tag the manifest had: give the digest or the tag.
 */
export const distributionDelete = ({
  repository,
  digest,
  tag,
  ...origin
}: EventOrigin & { repository: string } & (
    | { digest: string; tag?: never }
    | { tag: string; digest?: never }
  )) =>
  distributionEvent({
    ...origin,
    action: 'delete',
    target: digest === undefined ? { repository, tag } : { digest, repository },
  });

/** The body distribution posts: its events, in order. */
export const distributionEnvelope = (...events: ReturnType<typeof distributionEvent>[]) => ({ events });

/**
 * The notification a running registry sends now for `image` pushed as `repository:tag`: a new
 * event id, the current time, the registry's own address.
 */
export const pushNotification = (
  registry: EventRegistry,
  repository: string,
  tag: string,
  image: { digest: string; mediaType: string; size: number },
) =>
  distributionEnvelope(
    distributionPush({
      registry,
      repository,
      tag,
      digest: image.digest,
      mediaType: image.mediaType,
      size: image.size,
      timestamp: new Date().toISOString(),
    }),
  );

/**
 * Posts `body` (an object, or a string sent as it is) to a crossdock webhook URL as distribution
 * does; answers the status and the body, parsed when it is JSON.
 */
/**
 * Posts a notification as a registry delivers it: an answer of 429 (past the gateway's request
 * budget) is sent again a second later, up to 10 times. Answers the last answer and how many
 * times it was sent again.
 */
export async function deliverNotification(url: string, body: unknown, authorization: string) {
  for (let retries = 0; ; retries++) {
    const answer = await postNotification(url, body, authorization);
    if (answer.status !== 429 || retries === 9) return { ...answer, retries };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function postNotification(url: string, body: unknown, authorization: string) {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': DISTRIBUTION_EVENTS_TYPE, authorization },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  const json = response.headers['content-type']?.includes('json') === true;
  return { status: response.statusCode, body: json ? JSON.parse(text) : text };
}

/** Artifacts of one Harbor repository, as a Harbor event's `event_data` (or CloudEvent `data`). */
export interface HarborArtifacts {
  /** `namespace/name`: Harbor's repo_full_name, what crossdock takes as the repository. */
  repository: string;
  /** One resource per tag; resource_url is derived. */
  resources: { digest: string; tag: string }[];
  repoType?: 'private' | 'public';
  /** Unix seconds; Harbor sends it on some events only. */
  dateCreated?: number;
}

function harborEventData({ repository, resources, repoType = 'private', dateCreated }: HarborArtifacts) {
  const slash = repository.indexOf('/');
  return {
    resources: resources.map(({ digest, tag }) => ({
      digest,
      tag,
      resource_url: `harbor.example.com/${repository}:${tag}`,
    })),
    repository: {
      ...(dateCreated === undefined ? {} : { date_created: dateCreated }),
      name: repository.slice(slash + 1),
      namespace: repository.slice(0, slash),
      repo_full_name: repository,
      repo_type: repoType,
    },
  };
}

/** Harbor's default payload: `type` (PUSH_ARTIFACT, DELETE_ARTIFACT, …) at `occurAt` (unix s). */
export const harborPayload = ({
  type,
  occurAt,
  operator = 'admin',
  ...artifacts
}: HarborArtifacts & { type: string; occurAt: number; operator?: string }) => ({
  type,
  occur_at: occurAt,
  operator,
  event_data: harborEventData(artifacts),
});

/** Harbor's CloudEvents payload (structured mode): `type` is harbor.artifact.pushed, … */
export const harborCloudEvent = ({
  type,
  id,
  requestId,
  time,
  operator,
  ...artifacts
}: HarborArtifacts & { type: string; id: string; requestId: string; time: string; operator: string }) => ({
  specversion: '1.0',
  requestid: requestId,
  id,
  source: '/projects/1/webhook/policies/1',
  type,
  datacontenttype: 'application/json',
  time,
  data: harborEventData(artifacts),
  operator,
});
