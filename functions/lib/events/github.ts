import { z } from 'zod';
import {
  hashedEventId,
  oneEvent,
  type ParsedEvents,
  type ParseOptions,
  validEvent,
} from './registry-event.ts';
import { parseShape } from './shape.ts';

/**
 * GitHub Packages webhooks for ghcr.io: the `registry_package` event (and the newer `package`
 * event, the same shape under `package`), actions `published` and `updated`, signed with
 * `X-Hub-Signature-256` (the source's `auth: { hmacSecret }`). A container version names its
 * tag and digest in `package_version.container_metadata.tag`; the repository is
 * `<namespace>/<name>` in lower case, as ghcr.io names it. Versions of other package types,
 * versions without a tag (a platform image of a multi-arch push) and other actions are counted
 * as ignored. The id is GitHub's delivery id (`X-GitHub-Delivery`, kept when a delivery is sent
 * again), else a hash of (repository, tag, digest, arrival time): without the time, a tag moved
 * back to an earlier digest would be taken for that earlier push. Written from GitHub's
 * documented payload; not tried against GitHub.
 */

const ACTIONS = new Set(['published', 'updated']);

const packageSchema = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  package_type: z.string().optional(),
  ecosystem: z.string().optional(),
  package_version: z
    .looseObject({
      version: z.string().optional(),
      container_metadata: z
        .looseObject({
          tag: z.looseObject({ name: z.string().optional(), digest: z.string().optional() }).nullish(),
        })
        .nullish(),
    })
    .nullish(),
});

const envelopeSchema = z.looseObject({ action: z.string() });

export function parseGitHubEvents(payload: unknown, options: ParseOptions): ParsedEvents {
  const { action } = parseShape(envelopeSchema, payload, 'GitHub webhook payload');
  const body = payload as { registry_package?: unknown; package?: unknown };
  const raw = body.registry_package ?? body.package;
  if (!ACTIONS.has(action) || raw === undefined) return { events: [], ignored: 1 };
  const pkg = parseShape(packageSchema, raw, 'GitHub package');
  const type = (pkg.package_type ?? pkg.ecosystem ?? '').toLowerCase();
  const tag = pkg.package_version?.container_metadata?.tag?.name;
  if (type !== 'container' || !tag) return { events: [], ignored: 1 };
  const version = pkg.package_version?.version;
  const digest =
    pkg.package_version?.container_metadata?.tag?.digest ||
    (version?.startsWith('sha256:') ? version : undefined);
  const repository = `${pkg.namespace}/${pkg.name}`.toLowerCase();
  const event = validEvent({
    id:
      options.headers?.['x-github-delivery'] ||
      hashedEventId(['github', repository, tag, digest ?? '', options.receivedAt ?? '']),
    registry: options.registry,
    repository,
    action: 'push',
    tag,
    ...(digest ? { digest } : {}),
  });
  return oneEvent(event);
}
