import { repositoryScope } from './auth.ts';
import { digestOf, hashAlgorithm, verifyDigest } from './digest.ts';
import { ProtocolError, UnsupportedManifestError } from './errors.ts';
import {
  isIndexMediaType,
  isManifestMediaType,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.ts';
import type { RegistryTransport } from './transport.ts';

/** Manifest operations: GET/HEAD/PUT/DELETE by tag or digest, every byte checked against its digest. */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

/** The parts of a manifest document replication needs. */
export interface ManifestDocument {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
}

export interface Manifest {
  mediaType: string;
  digest: string;
  size: number;
  /** The exact bytes: pushing these (not a re-serialisation) keeps the digest. */
  bytes: Buffer;
  document: ManifestDocument;
}

export interface ManifestPushResult {
  digest: string;
  /** The registry set OCI-Subject: it indexes referrers itself (no fallback tag needed). */
  subjectIndexed: boolean;
}

/** Larger than any real manifest; stops a hostile or broken registry from filling memory. */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

function manifestPath(repository: string, reference: string): string {
  return `/v2/${repository}/manifests/${reference}`;
}

function isDigest(reference: string): boolean {
  return reference.includes(':');
}

/** Reads a manifest's media type from the document when the Content-Type header is generic. */
export function parseManifest(
  bytes: Buffer,
  contentType: string | undefined,
  what: string,
): Omit<Manifest, 'digest'> {
  let document: ManifestDocument;
  try {
    document = JSON.parse(bytes.toString('utf8')) as ManifestDocument;
  } catch {
    throw new UnsupportedManifestError(`${what} is not JSON`);
  }
  if (typeof document !== 'object' || document === null)
    throw new UnsupportedManifestError(`${what} is not a JSON object`);
  const headerType = contentType?.split(';')[0]?.trim();
  let mediaType =
    document.mediaType ?? (headerType && isManifestMediaType(headerType) ? headerType : undefined);
  if (mediaType === undefined) {
    if (Array.isArray(document.manifests)) mediaType = OCI_INDEX;
    else if (document.config !== undefined) mediaType = OCI_MANIFEST;
  }
  if (mediaType === undefined || !isManifestMediaType(mediaType)) {
    throw new UnsupportedManifestError(
      `${what} has media type ${mediaType ?? headerType ?? 'unknown'}; supported: OCI and Docker schema 2 manifests and indexes`,
    );
  }
  if (isIndexMediaType(mediaType) && !Array.isArray(document.manifests)) {
    throw new UnsupportedManifestError(`${what} is an index without a manifests list`);
  }
  if (!isIndexMediaType(mediaType) && (document.config === undefined || !Array.isArray(document.layers))) {
    throw new UnsupportedManifestError(`${what} is an image manifest without config or layers`);
  }
  return { mediaType, size: bytes.length, bytes, document };
}

/** Every blob an image manifest names (config first, then layers; foreign layers with URLs left out). */
export function manifestBlobs(document: ManifestDocument): Descriptor[] {
  const blobs: Descriptor[] = [];
  if (document.config) blobs.push(document.config);
  for (const layer of document.layers ?? []) {
    if (!layer.urls || layer.urls.length === 0) blobs.push(layer);
  }
  return blobs;
}

export class ManifestOperations {
  readonly #transport: RegistryTransport;

  constructor(transport: RegistryTransport) {
    this.#transport = transport;
  }

  /** GET by tag or digest. By digest the bytes must hash to it; by tag they must match Docker-Content-Digest. */
  async get(repository: string, reference: string, signal?: AbortSignal): Promise<Manifest> {
    const what = `manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const response = await this.#transport.send({
      method: 'GET',
      path: manifestPath(repository, reference),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [repositoryScope(repository, 'pull')],
      expect: [200],
      what,
      signal,
    });
    const declared = Number(response.headers['content-length']);
    if (declared > MANIFEST_SIZE_LIMIT) {
      response.body.destroy();
      throw new UnsupportedManifestError(
        `${what} is ${declared} bytes, over the ${MANIFEST_SIZE_LIMIT}-byte limit`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MANIFEST_SIZE_LIMIT) {
        response.body.destroy();
        throw new UnsupportedManifestError(`${what} is over the ${MANIFEST_SIZE_LIMIT}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const headerDigest = response.headers['docker-content-digest'];
    const expected = isDigest(reference)
      ? reference
      : typeof headerDigest === 'string'
        ? headerDigest
        : undefined;
    if (expected !== undefined) verifyDigest(bytes, expected, what);
    const digest = expected ?? digestOf(bytes, 'sha256');
    const contentType = response.headers['content-type'];
    return {
      ...parseManifest(bytes, typeof contentType === 'string' ? contentType : undefined, what),
      digest,
    };
  }

  /** HEAD: the descriptor a tag or digest resolves to, or undefined when there is none. */
  async head(repository: string, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    const what = `manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const response = await this.#transport.send({
      method: 'HEAD',
      path: manifestPath(repository, reference),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [repositoryScope(repository, 'pull')],
      expect: [200, 404],
      what,
      signal,
    });
    await response.body.dump();
    if (response.status === 404) return undefined;
    const digest = response.headers['docker-content-digest'];
    const contentType = response.headers['content-type'];
    if (typeof digest !== 'string') {
      // Some registries omit the digest on HEAD: fall back to reading the manifest.
      const manifest = await this.get(repository, reference, signal);
      return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    }
    if (isDigest(reference) && digest !== reference) {
      throw new ProtocolError(`${what}: the registry answered for ${digest}`);
    }
    return {
      mediaType: typeof contentType === 'string' ? (contentType.split(';')[0] ?? '').trim() : '',
      digest,
      size: Number(response.headers['content-length'] ?? 0),
    };
  }

  /** PUT the exact bytes under a tag or their digest; checks the digest the registry computed. */
  async put(
    repository: string,
    reference: string,
    manifest: Pick<Manifest, 'mediaType' | 'bytes'>,
    signal?: AbortSignal,
  ): Promise<ManifestPushResult> {
    const what = `manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const algorithm = isDigest(reference) ? hashAlgorithm(reference) : 'sha256';
    const digest = digestOf(manifest.bytes, algorithm);
    if (isDigest(reference) && reference !== digest) {
      throw new UnsupportedManifestError(`${what}: the content hashes to ${digest}`);
    }
    const response = await this.#transport.send({
      method: 'PUT',
      path: manifestPath(repository, reference),
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      scopes: [repositoryScope(repository, 'pull', 'push')],
      expect: [200, 201, 202],
      what,
      signal,
    });
    await response.body.dump();
    const stored = response.headers['docker-content-digest'];
    if (typeof stored === 'string' && stored !== digest && stored.startsWith(`${algorithm}:`)) {
      throw new ProtocolError(`${what}: the registry stored ${stored}, we sent ${digest}`);
    }
    return { digest, subjectIndexed: response.headers['oci-subject'] !== undefined };
  }

  /** DELETE by digest (distribution deletes manifests by digest only). */
  async delete(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.#transport.send({
      method: 'DELETE',
      path: manifestPath(repository, digest),
      scopes: [repositoryScope(repository, 'pull', 'push', 'delete')],
      expect: [202, 200, 404],
      what: `manifest ${repository}@${digest}`,
      signal,
    });
    await response.body.dump();
    return response.status !== 404;
  }
}
