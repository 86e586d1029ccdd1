import { PassThrough, type Readable } from 'node:stream';
import { repositoryScope, type Scope } from './auth.ts';
import { ProtocolError, StalledReadError } from './errors.ts';
import { networkErrorCode } from './retry.ts';
import type { RegistryResponse, RegistryTransport } from './transport.ts';

/**
 * Blob operations of the distribution API: HEAD, ranged streaming GET, and the upload
 * session (POST with optional cross-repository mount, PATCH chunks, status, PUT to complete).
 * Bodies are streams end to end: a blob is never held whole in memory.
 */

export interface BlobStream {
  body: Readable;
  /** Offset of the first byte of `body` within the blob. */
  start: number;
  /** Bytes in `body`. */
  length: number;
}

/** An upload the registry holds open: where to send the next bytes. */
export interface UploadSession {
  location: string;
  /** Bytes the registry holds for this upload (the next byte to send). */
  offset: number;
}

export type UploadStart = { mounted: true } | ({ mounted: false } & UploadSession);

const OCTET_STREAM = 'application/octet-stream';

function blobPath(repository: string, digest: string): string {
  return `/v2/${repository}/blobs/${digest}`;
}

function locationOf(response: RegistryResponse, what: string): string {
  const location = response.headers.location;
  if (typeof location !== 'string' || location === '')
    throw new ProtocolError(`${what}: the registry sent no Location`);
  return location;
}

/**
 * The upload offset from a `Range: 0-<last byte>` header (`bytes=` tolerated). Distribution
 * sends `0-0` for an empty upload too, so `0-0` reads as 0: at worst one byte is sent again.
 */
function offsetOf(response: RegistryResponse): number {
  const range = response.headers.range;
  if (typeof range !== 'string') return 0;
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
  const last = match ? Number(match[1]) : 0;
  return last === 0 ? 0 : last + 1;
}

export class BlobOperations {
  readonly #transport: RegistryTransport;

  constructor(transport: RegistryTransport) {
    this.#transport = transport;
  }

  /** The blob's size when the repository has it, else undefined. */
  async head(repository: string, digest: string, signal?: AbortSignal): Promise<number | undefined> {
    const response = await this.#transport.send({
      method: 'HEAD',
      path: blobPath(repository, digest),
      scopes: [repositoryScope(repository, 'pull')],
      expect: [200, 404],
      what: `blob ${repository}@${digest}`,
      signal,
    });
    await response.body.dump();
    if (response.status === 404) return undefined;
    return Number(response.headers['content-length'] ?? 0);
  }

  /** Streams the blob from `start` (a Range request) to its end, or `length` bytes when given. */
  async get(
    repository: string,
    digest: string,
    options: { start?: number; length?: number; size?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<BlobStream> {
    const start = options.start ?? 0;
    const headers: Record<string, string> = {};
    const ranged = start > 0 || options.length !== undefined;
    if (ranged) {
      const end = options.length === undefined ? '' : String(start + options.length - 1);
      headers.range = `bytes=${start}-${end}`;
    }
    const response = await this.#transport.send({
      method: 'GET',
      path: blobPath(repository, digest),
      headers,
      scopes: [repositoryScope(repository, 'pull')],
      expect: ranged ? [206, 200] : [200],
      what: `blob ${repository}@${digest}`,
      signal: options.signal,
    });
    if (ranged && response.status === 200 && start > 0) {
      response.body.destroy();
      throw new ProtocolError(`blob ${repository}@${digest}: the registry ignored the Range request`);
    }
    const contentLength = Number(response.headers['content-length']);
    const length = Number.isFinite(contentLength)
      ? contentLength
      : (options.length ?? (options.size === undefined ? -1 : options.size - start));
    return { body: this.#stallNamed(response.body, `blob ${repository}@${digest}`), start, length };
  }

  /**
   * The body, with a read that went idle failing as StalledReadError naming the registry and the
   * blob (undici's own error says neither). Destroying the result frees the connection.
   */
  #stallNamed(body: Readable, what: string): Readable {
    const named = new PassThrough();
    const idleMs = this.#transport.readIdleTimeoutMs;
    body.on('error', (error: Error) => {
      if (networkErrorCode(error) !== 'UND_ERR_BODY_TIMEOUT') {
        named.destroy(error);
        return;
      }
      const registry = this.#transport.name;
      named.destroy(
        new StalledReadError(
          `registry ${registry} stalled: no bytes for ${idleMs / 1000} s reading ${what}`,
          { registry, idleMs, cause: error },
        ),
      );
    });
    named.on('close', () => body.destroy());
    return body.pipe(named);
  }

  /**
   * Opens an upload session. With `mountFrom`, asks the registry to link the blob from another
   * repository instead (201, nothing to send); a registry that cannot mount opens a session.
   */
  async startUpload(
    repository: string,
    options: { mount?: { digest: string; from: string }; signal?: AbortSignal | undefined } = {},
  ): Promise<UploadStart> {
    const scopes: Scope[] = [repositoryScope(repository, 'pull', 'push')];
    const query: Record<string, string> = {};
    if (options.mount) {
      query.mount = options.mount.digest;
      query.from = options.mount.from;
      // Under token auth the token must also grant pull on the repository mounted from.
      scopes.push(repositoryScope(options.mount.from, 'pull'));
    }
    const what = options.mount
      ? `mount of ${options.mount.digest} from ${options.mount.from} into ${repository}`
      : `upload to ${repository}`;
    const response = await this.#transport.send({
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/`,
      query,
      headers: { 'content-length': '0' },
      scopes,
      expect: [201, 202],
      what,
      signal: options.signal,
    });
    await response.body.dump();
    if (response.status === 201) return { mounted: true };
    return { mounted: false, location: locationOf(response, what), offset: offsetOf(response) };
  }

  /** How much of an upload the registry holds: where a cut-off upload resumes. */
  async uploadStatus(repository: string, location: string, signal?: AbortSignal): Promise<UploadSession> {
    const what = `upload status of ${repository}`;
    const response = await this.#transport.send({
      method: 'GET',
      path: location,
      scopes: [repositoryScope(repository, 'pull', 'push')],
      expect: [204],
      what,
      signal,
    });
    await response.body.dump();
    return { location: locationOf(response, what), offset: offsetOf(response) };
  }

  /** PATCHes `length` bytes at `offset`; returns the registry's new offset and Location. */
  async uploadChunk(
    repository: string,
    location: string,
    body: Readable,
    range: { offset: number; length: number },
    signal?: AbortSignal,
  ): Promise<UploadSession> {
    const what = `chunk ${range.offset}-${range.offset + range.length - 1} of an upload to ${repository}`;
    const response = await this.#transport.send({
      method: 'PATCH',
      path: location,
      headers: {
        'content-type': OCTET_STREAM,
        'content-length': String(range.length),
        'content-range': `${range.offset}-${range.offset + range.length - 1}`,
      },
      body,
      scopes: [repositoryScope(repository, 'pull', 'push')],
      expect: [202],
      what,
      signal,
    });
    await response.body.dump();
    return { location: locationOf(response, what), offset: offsetOf(response) };
  }

  /** PUT ?digest= closes the upload, with the last bytes as body (or none); the registry checks the digest. */
  async completeUpload(
    repository: string,
    location: string,
    digest: string,
    body?: { stream: Readable; length: number },
    signal?: AbortSignal,
  ): Promise<void> {
    const what = `blob ${repository}@${digest}`;
    const response = await this.#transport.send({
      method: 'PUT',
      path: location,
      query: { digest },
      headers: { 'content-type': OCTET_STREAM, 'content-length': String(body?.length ?? 0) },
      ...(body ? { body: body.stream } : {}),
      scopes: [repositoryScope(repository, 'pull', 'push')],
      expect: [201, 204],
      what,
      signal,
    });
    await response.body.dump();
    const stored = response.headers['docker-content-digest'];
    if (typeof stored === 'string' && stored !== digest) {
      throw new ProtocolError(`${what}: the registry stored ${stored}`);
    }
  }

  /** Abandons an upload session (best effort: a registry purges stale sessions anyway). */
  async cancelUpload(repository: string, location: string): Promise<void> {
    const response = await this.#transport.send({
      method: 'DELETE',
      path: location,
      scopes: [repositoryScope(repository, 'pull', 'push')],
      expect: [204, 200, 404],
      what: `cancel of an upload to ${repository}`,
    });
    await response.body.dump();
  }
}
