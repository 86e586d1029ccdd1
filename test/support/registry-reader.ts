import { createHash } from 'node:crypto';
import { request } from 'undici';

/**
 * Independent raw-HTTP access to a test registry for arranging and asserting: it does not use
 * crossdock's client, so a bug there cannot hide itself. Basic credentials are sent as they
 * are; for token auth the challenge is answered with them.
 */

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryAccess {
  url: string;
  creds?: string | undefined;
}

function basic(creds: string): string {
  return `Basic ${Buffer.from(creds).toString('base64')}`;
}

async function authorization(access: RegistryAccess, scope: string): Promise<string | undefined> {
  const ping = await request(`${access.url}/v2/`);
  await ping.body.dump();
  if (ping.statusCode !== 401) return undefined;
  const challenge = String(ping.headers['www-authenticate'] ?? '');
  if (challenge.startsWith('Basic')) return access.creds ? basic(access.creds) : undefined;
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const tokenUrl = new URL(params.realm as string);
  tokenUrl.searchParams.set('service', params.service ?? '');
  tokenUrl.searchParams.set('scope', scope);
  const response = await request(tokenUrl, {
    headers: access.creds ? { authorization: basic(access.creds) } : {},
  });
  const body = (await response.body.json()) as { token: string };
  return `Bearer ${body.token}`;
}

async function call(
  access: RegistryAccess,
  repository: string,
  method: 'GET' | 'HEAD' | 'PUT' | 'POST',
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer } = {},
) {
  const scope = `repository:${repository}:${method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push'}`;
  const auth = await authorization(access, scope);
  return request(new URL(path, access.url), {
    method,
    headers: { ...options.headers, ...(auth ? { authorization: auth } : {}) },
    body: options.body ?? null,
  });
}

/** The sha256 of the manifest bytes a reference resolves to (computed here), or undefined on 404. */
export async function manifestDigest(
  access: RegistryAccess,
  repository: string,
  reference: string,
): Promise<string | undefined> {
  const manifest = await getManifest(access, repository, reference);
  return manifest?.digest;
}

export async function getManifest(
  access: RegistryAccess,
  repository: string,
  reference: string,
): Promise<{ digest: string; json: Record<string, unknown> } | undefined> {
  const response = await call(access, repository, 'GET', `/v2/${repository}/manifests/${reference}`, {
    headers: { accept: ACCEPT },
  });
  if (response.statusCode === 404) {
    await response.body.dump();
    return undefined;
  }
  const bytes = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 200)
    throw new Error(`GET manifest ${repository}:${reference}: ${response.statusCode} ${bytes}`);
  return {
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    json: JSON.parse(bytes.toString()),
  };
}

export async function blobExists(
  access: RegistryAccess,
  repository: string,
  digest: string,
): Promise<boolean> {
  const response = await call(access, repository, 'HEAD', `/v2/${repository}/blobs/${digest}`);
  await response.body.dump();
  return response.statusCode === 200;
}

export async function listTags(access: RegistryAccess, repository: string): Promise<string[]> {
  const response = await call(access, repository, 'GET', `/v2/${repository}/tags/list`);
  if (response.statusCode === 404) {
    await response.body.dump();
    return [];
  }
  return ((await response.body.json()) as { tags: string[] | null }).tags ?? [];
}

async function uploadBlob(
  access: RegistryAccess,
  repository: string,
  bytes: Buffer,
): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const start = await call(access, repository, 'POST', `/v2/${repository}/blobs/uploads/`);
  await start.body.dump();
  const location = new URL(String(start.headers.location), access.url);
  location.searchParams.set('digest', digest);
  const done = await call(access, repository, 'PUT', `${location.pathname}${location.search}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  await done.body.dump();
  if (done.statusCode !== 201) throw new Error(`blob upload to ${repository}: ${done.statusCode}`);
  return { digest, size: bytes.length };
}

async function putManifest(
  access: RegistryAccess,
  repository: string,
  reference: string,
  mediaType: string,
  bytes: Buffer,
): Promise<void> {
  const response = await call(access, repository, 'PUT', `/v2/${repository}/manifests/${reference}`, {
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  const text = await response.body.text();
  if (response.statusCode !== 201)
    throw new Error(`PUT manifest ${repository}:${reference}: ${response.statusCode} ${text}`);
}

/**
 * An SBOM-like OCI artifact referring to `subject`, pushed as an OCI 1.1 client does on a
 * registry without the referrers API: the artifact by digest, then the `sha256-<hex>` tag
 * listing it. Returns the artifact's digest.
 */
export async function pushReferrer(
  access: RegistryAccess,
  repository: string,
  subject: { digest: string; mediaType: string; size: number },
  content = '{"spdxVersion":"SPDX-2.3"}',
): Promise<string> {
  const config = await uploadBlob(access, repository, Buffer.from('{}'));
  const layer = await uploadBlob(access, repository, Buffer.from(content));
  const artifactType = 'application/spdx+json';
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
      layers: [{ mediaType: artifactType, ...layer }],
      subject,
    }),
  );
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await putManifest(access, repository, digest, 'application/vnd.oci.image.manifest.v1+json', bytes);
  const tag = subject.digest.replace(':', '-');
  const existing = await getManifest(access, repository, tag);
  const listed = ((existing?.json.manifests as unknown[]) ?? []) as unknown[];
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        ...listed,
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: bytes.length, artifactType },
      ],
    }),
  );
  await putManifest(access, repository, tag, 'application/vnd.oci.image.index.v1+json', index);
  return digest;
}

/**
 * Deletes a manifest at a distribution registry, by digest (the only way it deletes), as a
 * user would on a registry without auth (no ping first: nothing but the DELETE is served).
 */
export async function deleteManifest(
  registry: { url: string },
  repository: string,
  digest: string,
): Promise<void> {
  const response = await request(`${registry.url}/v2/${repository}/manifests/${digest}`, {
    method: 'DELETE',
  });
  const text = await response.body.text();
  if (response.statusCode !== 202)
    throw new Error(`DELETE ${repository}@${digest}: ${response.statusCode} ${text}`);
}

/** Puts the manifest `reference` resolves to in `from` under each of `tags` in `to` (the same bytes). */
async function putManifestAs(
  access: RegistryAccess,
  from: string,
  reference: string,
  to: string,
  tags: string[],
): Promise<void> {
  const response = await call(access, from, 'GET', `/v2/${from}/manifests/${reference}`, {
    headers: { accept: ACCEPT },
  });
  const bytes = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 200)
    throw new Error(`GET manifest ${from}:${reference}: ${response.statusCode}`);
  const mediaType = response.headers['content-type'] as string;
  for (const tag of tags) {
    const put = await call(access, to, 'PUT', `/v2/${to}/manifests/${tag}`, {
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    await put.body.dump();
    if (put.statusCode !== 201) throw new Error(`PUT manifest ${to}:${tag}: ${put.statusCode}`);
  }
}

/**
 * Tags what `reference` resolves to in `repository` again under each of `tags` (manifest PUTs,
 * the same bytes): many tags of one image in seconds, all sharing its blobs.
 */
export function tagImage(
  access: RegistryAccess,
  repository: string,
  reference: string,
  tags: string[],
): Promise<void> {
  return putManifestAs(access, repository, reference, repository, tags);
}

/**
 * Puts `from:tag` under `to:tag` in the same registry without moving bytes: each blob is
 * mounted (an index's children are not: single-platform images only), then the manifest put.
 */
export async function mountImage(
  access: RegistryAccess,
  from: string,
  to: string,
  tag: string,
  blobs: string[],
): Promise<void> {
  for (const digest of blobs) {
    const mount = await call(access, to, 'POST', `/v2/${to}/blobs/uploads/?mount=${digest}&from=${from}`);
    await mount.body.dump();
    if (mount.statusCode !== 201)
      throw new Error(`mount ${digest} from ${from} to ${to}: ${mount.statusCode}`);
  }
  await putManifestAs(access, from, tag, to, [tag]);
}
