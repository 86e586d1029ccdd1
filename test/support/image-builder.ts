import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, linkSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { scratchDir } from './tools.ts';

/**
 * Test images made without Docker: OCI image layouts on disk (random tar.gz layers, config,
 * manifest, optionally a multi-arch index), pushed to a real registry with skopeo. Layers are
 * real gzip (level 0) so skopeo keeps their digests, and are streamed to disk, never held whole.
 */

const run = promisify(execFile);

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export interface Blob {
  digest: string;
  size: number;
  mediaType: string;
  path: string;
  diffId?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  platform?: Platform;
  layers: Blob[];
}

let blobDir: string | undefined;
/** Made on first use, so it lands in the scratch folder of whoever set one up first. */
function blobStore(): string {
  blobDir ??= mkdtempSync(join(scratchDir(), 'crossdock-blobs-'));
  return blobDir;
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function storeBytes(bytes: Buffer, mediaType: string): Blob {
  const digest = sha256(bytes);
  const path = join(blobStore(), digest.slice(7));
  writeFileSync(path, bytes);
  return { digest, size: bytes.length, mediaType, path };
}

/** A 512-byte ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/** Random content of `size` bytes, produced in 1 MiB pieces. */
function* tarStream(size: number): Generator<Buffer> {
  yield tarHeader('data.bin', size);
  for (let left = size; left > 0; left -= 1 << 20) yield randomBytes(Math.min(left, 1 << 20));
  const padding = (512 - (size % 512)) % 512;
  yield Buffer.alloc(padding + 1024);
}

/** A real tar.gz layer holding `size` random bytes, written to disk while hashing. */
export async function randomLayer(size: number): Promise<Blob> {
  const tmp = join(blobStore(), `tmp-${randomBytes(8).toString('hex')}`);
  const diff = createHash('sha256');
  const compressed = createHash('sha256');
  let compressedSize = 0;
  await pipeline(
    Readable.from(tarStream(size)),
    new Transform({
      transform(chunk: Buffer, _e, done) {
        diff.update(chunk);
        done(null, chunk);
      },
    }),
    createGzip({ level: 0 }),
    new Transform({
      transform(chunk: Buffer, _e, done) {
        compressed.update(chunk);
        compressedSize += chunk.length;
        done(null, chunk);
      },
    }),
    createWriteStream(tmp),
  );
  const digest = `sha256:${compressed.digest('hex')}`;
  const path = join(blobStore(), digest.slice(7));
  linkSync(tmp, path);
  return { digest, size: compressedSize, mediaType: OCI_LAYER, path, diffId: `sha256:${diff.digest('hex')}` };
}

export function imageManifest(
  layers: Blob[],
  platform: Platform = { os: 'linux', architecture: 'amd64' },
): ManifestInfo & { config: Blob } {
  const config = storeBytes(
    Buffer.from(
      JSON.stringify({
        ...platform,
        created: new Date().toISOString(),
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        config: {},
      }),
    ),
    OCI_CONFIG,
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return {
    digest: sha256(bytes),
    mediaType: OCI_MANIFEST,
    size: bytes.length,
    bytes,
    platform,
    layers: [config, ...layers],
    config,
  };
}

export function imageIndex(manifests: ManifestInfo[]): ManifestInfo {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: manifests.map((m) => ({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        platform: m.platform,
      })),
    }),
  );
  return {
    digest: sha256(bytes),
    mediaType: OCI_INDEX,
    size: bytes.length,
    bytes,
    layers: manifests.flatMap((m) => m.layers),
  };
}

/** Writes an OCI layout holding `top` (and for an index, its children) under the tag `tag`. */
export function writeLayout(top: ManifestInfo, children: ManifestInfo[] = []): string {
  const dir = mkdtempSync(join(scratchDir(), 'crossdock-layout-'));
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const manifest of [top, ...children]) {
    writeFileSync(join(blobs, manifest.digest.slice(7)), manifest.bytes);
    for (const blob of manifest.layers) {
      const target = join(blobs, blob.digest.slice(7));
      if (!existsSync(target)) linkSync(blob.path, target);
    }
  }
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: top.mediaType,
          digest: top.digest,
          size: top.size,
          annotations: { 'org.opencontainers.image.ref.name': 'img' },
        },
      ],
    }),
  );
  return dir;
}

/** `skopeo copy --all` of a layout to `host/repo:tag`. */
export async function pushLayout(dir: string, destination: string, creds?: string): Promise<void> {
  const args = [
    'copy',
    '--all',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${dir}:img`,
    `docker://${destination}`,
  ];
  try {
    await run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new Error(
      `skopeo ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`,
    );
  }
}

export interface PushedImage {
  digest: string;
  mediaType: string;
  size: number;
  /** For an index, its platform manifests. */
  children: ManifestInfo[];
  /** Every blob (configs and layers). */
  blobs: Blob[];
}

/**
 * Pushes a generated image to `host/repo:tag`: one platform, or with `platforms` a multi-arch
 * OCI index whose children each get their own layers plus any `sharedLayers`.
 */
export async function pushImage(
  destination: string,
  options: {
    layers?: Blob[];
    layerCount?: number;
    layerSize?: number;
    platforms?: Platform[];
    creds?: string;
  } = {},
): Promise<PushedImage> {
  const makeLayers = async () => [
    ...(options.layers ?? []),
    ...(await Promise.all(
      Array.from({ length: options.layerCount ?? (options.layers ? 0 : 2) }, () =>
        randomLayer(options.layerSize ?? 4096),
      ),
    )),
  ];
  if (!options.platforms) {
    const manifest = imageManifest(await makeLayers());
    await pushLayout(writeLayout(manifest), destination, options.creds);
    return {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: manifest.size,
      children: [],
      blobs: manifest.layers,
    };
  }
  const children = [];
  for (const platform of options.platforms) children.push(imageManifest(await makeLayers(), platform));
  const index = imageIndex(children);
  await pushLayout(writeLayout(index, children), destination, options.creds);
  return {
    digest: index.digest,
    mediaType: index.mediaType,
    size: index.size,
    children,
    blobs: index.layers,
  };
}
