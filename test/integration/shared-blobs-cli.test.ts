import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type CountingProxy, startCountingProxy } from '../support/fault-proxy.ts';
import { type Blob, type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * Issue 14: a layer the destination registry holds in another repository is mounted by the
 * next `crossdock copy` run too, because runs share a blob-location cache (as skopeo's
 * blob-info cache). Bytes are counted at the destination, by a proxy in front of it.
 */

const MiB = 1024 * 1024;

describe('crossdock copy with the blob-location cache', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let proxy: CountingProxy;
  let shared: Blob;
  const images: Record<string, PushedImage> = {};
  /** XDG_CACHE_HOME of the runs that share a cache, as one user's runs do. */
  let cacheHome: string;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    proxy = await startCountingProxy(destination);
    shared = await randomLayer(8 * MiB);
    for (const name of ['one', 'two', 'three', 'four'])
      images[name] = await pushImage(`${source.host}/team/${name}:v1`, { layers: [shared], layerCount: 1 });
    cacheHome = mkdtempSync(join(scratchDir(), 'crossdock-xdg-'));
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([source, destination].map((r) => r?.stop()));
  });

  const copy = (name: string, ...flags: string[]) =>
    runCli(['copy', ...flags, `${source.host}/team/${name}:v1`, `${proxy.host}/mirror/${name}:v1`], {
      env: { XDG_CACHE_HOME: cacheHome },
    });
  /** Mount requests for the shared layer the destination served (its access log), query decoded. */
  const mountsOf = (since: number) =>
    destination
      .requests(since)
      .map((r) => ({ ...r, path: decodeURIComponent(r.path) }))
      .filter((r) => r.method === 'POST' && r.path.includes(`mount=${shared.digest}`));

  it('mounts, in a second run, the layer the first run copied into another repository', async () => {
    const first = await copy('one');
    expect(first.code).toBe(0);
    const mark = proxy.mark();
    const logMark = destination.mark();

    const second = await copy('two');

    expect(second.stderr).not.toMatch(/FAILED/);
    expect(second.code).toBe(0);
    expect(await manifestDigest(destination, 'mirror/two', 'v1')).toBe(images.two?.digest);
    const uploaded = proxy.uploadedBytes(mark);
    console.log(`second run: ${uploaded} bytes uploaded; the shared layer is ${shared.size}`);
    expect(uploaded).toBeLessThan(MiB); // its own small layer, config and manifest only
    expect(mountsOf(logMark).map((r) => r.status)).toEqual([201]);
    expect(mountsOf(logMark)[0]?.path).toContain('from=mirror/one');
    expect(second.stdout).toMatch(/1 mounted/);
    const file = JSON.parse(readFileSync(join(cacheHome, 'crossdock', 'blob-locations.json'), 'utf8'));
    expect(file.registries[proxy.host][shared.digest].repositories).toEqual(['mirror/two', 'mirror/one']);
  });

  it('says in a dry run that it would mount the layer the cache knows, and writes neither the registry nor the cache', async () => {
    const cacheFile = join(cacheHome, 'crossdock', 'blob-locations.json');
    const before = readFileSync(cacheFile, 'utf8');
    const logMark = destination.mark();

    const dry = await copy('three', '--dry-run');

    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /dry run: 1 tags to copy, 0 up to date, 0 failed; 2 blobs \([^)]+\) to copy, 1 to mount, 0 present; nothing was written/,
    );
    expect(destination.requests(logMark).filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual(
      [],
    );
    expect(readFileSync(cacheFile, 'utf8')).toBe(before);
  });

  it('uploads the layer again with --no-cache', async () => {
    const mark = proxy.mark();

    const third = await copy('three', '--no-cache');

    expect(third.code).toBe(0);
    const uploaded = proxy.uploadedBytes(mark);
    console.log(`--no-cache run: ${uploaded} bytes uploaded; the shared layer is ${shared.size}`);
    expect(uploaded).toBeGreaterThanOrEqual(shared.size);
    const file = JSON.parse(readFileSync(join(cacheHome, 'crossdock', 'blob-locations.json'), 'utf8'));
    expect(file.registries[proxy.host][shared.digest].repositories).not.toContain('mirror/three');
  });

  it('pays one refused mount for a stale entry (its repository deleted), copies, and forgets it', async () => {
    // The newest entry names mirror/two: delete that repository at the destination.
    rmSync(join(destination.storage, 'docker/registry/v2/repositories/mirror/two'), { recursive: true });
    const mark = proxy.mark();
    const logMark = destination.mark();

    const fourth = await copy('four');

    expect(fourth.stderr).not.toMatch(/FAILED/);
    expect(fourth.code).toBe(0);
    expect(await manifestDigest(destination, 'mirror/four', 'v1')).toBe(images.four?.digest);
    expect(mountsOf(logMark).map((r) => r.status)).toEqual([202]);
    const uploaded = proxy.uploadedBytes(mark);
    console.log(`stale entry: ${mountsOf(logMark).length} refused mount, ${uploaded} bytes uploaded`);
    expect(uploaded).toBeGreaterThanOrEqual(shared.size);
    const file = JSON.parse(readFileSync(join(cacheHome, 'crossdock', 'blob-locations.json'), 'utf8'));
    expect(file.registries[proxy.host][shared.digest].repositories).toEqual(['mirror/four', 'mirror/one']);
  });

  it('looks at every blob and manifest of a multi-arch index once: one HEAD each at the destination', async () => {
    const multi = await pushImage(`${source.host}/team/multi:v1`, {
      layers: [shared],
      layerCount: 1,
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    const logMark = destination.mark();

    const result = await copy('multi');

    expect(result.code).toBe(0);
    expect(await manifestDigest(destination, 'mirror/multi', 'v1')).toBe(multi.digest);
    const heads = destination.requests(logMark).filter((r) => r.method === 'HEAD');
    const perPath = new Map<string, number>();
    for (const head of heads) perPath.set(head.path, (perPath.get(head.path) ?? 0) + 1);
    console.log(`multi-arch copy: ${heads.length} HEADs for ${perPath.size} paths`);
    expect([...perPath.values()].every((count) => count === 1)).toBe(true);
  });
});

describe('crossdock sync of tags of one repository sharing their base layers', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let proxy: CountingProxy;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    proxy = await startCountingProxy(destination);
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([source, destination].map((r) => r?.stop()));
  });

  it('uploads the shared base once: the tags that waited for it find it in their own repository', async () => {
    const base = await Promise.all([randomLayer(4 * MiB), randomLayer(4 * MiB)]);
    const tags = ['v1', 'v2', 'v3', 'v4'];
    const images = [];
    for (const tag of tags)
      images.push(
        await pushImage(`${source.host}/team/app:${tag}`, {
          layers: [...base, await randomLayer(64 * 1024)],
        }),
      );
    const dir = mkdtempSync(join(scratchDir(), 'crossdock-sync-'));
    const config = join(dir, 'crossdock.yaml');
    writeFileSync(
      config,
      `registries:
  - { name: src, url: "${source.url}" }
  - { name: dst, url: "http://${proxy.host}" }
policies:
  - { name: team, source: { registry: src, project: team }, destination: { registry: dst } }
`,
    );

    const result = await runCli(['sync', '--config', config, '--no-cache'], {
      env: { XDG_CACHE_HOME: dir },
    });

    expect(result.code, result.stderr).toBe(0);
    for (const [i, tag] of tags.entries())
      expect(await manifestDigest(destination, 'team/app', tag)).toBe(images[i]?.digest);
    const uploaded = proxy.uploadedBytes(0);
    const baseBytes = base[0].size + base[1].size;
    console.log(`4 tags sharing an ${baseBytes}-byte base: ${uploaded} bytes uploaded`);
    expect(uploaded).toBeGreaterThanOrEqual(baseBytes);
    expect(uploaded).toBeLessThan(baseBytes + MiB); // the base once, the small layers, configs, manifests
  });
});
