import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { listTags, manifestDigest, pushReferrer } from '../support/registry-reader.ts';
import { scratchDir } from '../support/tools.ts';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(scratchDir(), 'crossdock-config-')), 'crossdock.yaml');
  writeFileSync(file, text);
  return file;
}

describe('crossdock sync', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let app1: PushedImage;
  let app2: PushedImage;
  let config: string;

  beforeAll(async () => {
    [source, destination] = await Promise.all([
      startRegistry({ auth: { kind: 'basic', username: 'src', password: 'src-secret' } }),
      startRegistry(),
    ]);
    const creds = 'src:src-secret';
    const shared = await randomLayer(300_000);
    app1 = await pushImage(`${source.host}/team-a/app1:v1`, { layers: [shared], layerCount: 1, creds });
    app2 = await pushImage(`${source.host}/team-a/x/app2:v1`, { layers: [shared], layerCount: 1, creds });
    await pushImage(`${source.host}/team-a/app1:v2-rc1`, { creds });
    await pushImage(`${source.host}/team-a/app1:latest`, { creds });
    await pushImage(`${source.host}/team-ab/other:v1`, { creds });
    config = writeConfig(`
registries:
  - name: src
    url: ${source.url}
    credentials: { username: "\${SRC_USER}", password: "\${SRC_PASSWORD}" }
  - name: dst
    url: ${destination.url}
policies:
  - name: team-a
    source: { registry: src, project: team-a }
    destination: { registry: dst, namespace: mirror }
    filters: { tags: ["v*"], excludeTags: ["*-rc*"] }
  - name: disabled
    source: { registry: src, project: team-ab }
    destination: { registry: dst }
    enabled: false
limits: { runningJobs: 2, perDestination: 2, blobsPerJob: 2 }
`);
  });

  afterAll(async () => {
    await Promise.all([source, destination].map((r) => r?.stop()));
  });

  const env = { SRC_USER: 'src', SRC_PASSWORD: 'src-secret' };

  it('shows what it would copy in a dry run, and writes nothing', async () => {
    const result = await runCli(['sync', '--config', config, '--dry-run'], { env });

    expect(result.code).toBe(0);
    // Each image: its config, its own layer and the shared layer, which a real run copies once.
    expect(result.stdout).toMatch(
      /dry run: 2 tags to copy, 0 up to date, 0 failed; 5 blobs \([^)]+\) to copy, 1 to mount, 0 present; nothing was written/,
    );
    expect(destination.requests().filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
  });

  it('replicates what the enabled policies cover, under the namespace, and mounts a shared layer', async () => {
    const mark = destination.mark();

    const result = await runCli(['sync', '--config', config], { env });

    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(await manifestDigest(destination, 'mirror/team-a/app1', 'v1')).toBe(app1.digest);
    expect(await manifestDigest(destination, 'mirror/team-a/x/app2', 'v1')).toBe(app2.digest);
    expect(await listTags(destination, 'mirror/team-a/app1')).toEqual(['v1']);
    expect(await listTags(destination, 'team-ab/other')).toEqual([]);
    expect(await listTags(destination, 'mirror/team-ab/other')).toEqual([]);
    // The layer both images share crosses the wire once; the second repository mounts it.
    const mounts = destination.requests(mark).filter((r) => r.method === 'POST' && r.path.includes('mount='));
    expect(mounts.filter((r) => r.status === 201)).toHaveLength(1);
    expect(result.stdout).toMatch(/tags: 2 copied, 0 skipped, 0 failed; blobs: \d+ copied, 1 mounted/);
  });

  it('copies nothing on a second run', async () => {
    const mark = destination.mark();

    const result = await runCli(['sync', '--config', config], { env });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tags: 0 copied, 2 skipped, 0 failed/);
    expect(destination.requests(mark).filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
  });

  it('refuses an invalid config, naming the path of each error, with exit code 1', async () => {
    const bad = writeConfig(`
registries:
  - { name: src, url: "${source.url}" }
policies:
  - { name: p, source: { registry: src, project: team-a }, destination: { registry: nowhere }, filters: { tagz: ["*"] } }
`);

    const result = await runCli(['sync', '--config', bad]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/crossdock.yaml:5:\d+: policies\[0\]\.filters\.tagz: unknown key/);
    expect(result.stderr).toMatch(/policies\[0\]\.destination\.registry: unknown registry "nowhere"/);
  });

  it('names a policy whose source cannot be listed, with exit code 1', async () => {
    const result = await runCli(['sync', '--config', config], {
      env: { SRC_USER: 'src', SRC_PASSWORD: 'wrong' },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FAILED team-a: listing src: registry src refused user "src"/);
  });

  it('says where credentials go when a registry wants some and the config gives none', async () => {
    const anonymous = writeConfig(`
registries:
  - { name: src, url: "${source.url}" }
  - { name: dst, url: "${destination.url}" }
policies:
  - name: team-a
    source: { registry: src, project: team-a }
    destination: { registry: dst, namespace: mirror }
`);

    const result = await runCli(['sync', '--config', anonymous]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /FAILED team-a: listing src: registry src requires credentials for .*: give registry src credentials in the config \(credentials: \{ username, password \}\)\n/,
    );
  });
});

describe('crossdock sync of images with and without referrers', () => {
  let source: TestRegistry;
  let destination: TestRegistry;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  });

  afterAll(async () => {
    await Promise.all([source, destination].map((r) => r?.stop()));
  });

  it('copies a referrer its source tag list shows, and asks nothing about referrers the list shows absent', async () => {
    const signed = await pushImage(`${source.host}/refs/signed:v1`);
    const plain = await pushImage(`${source.host}/refs/plain:v1`);
    const sbom = await pushReferrer(source, 'refs/signed', {
      digest: signed.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: signed.size,
    });
    const config = writeConfig(`
registries:
  - name: src
    url: ${source.url}
  - name: dst
    url: ${destination.url}
policies:
  - name: refs
    source: { registry: src, project: refs }
    destination: { registry: dst }
`);
    const mark = source.mark();

    const result = await runCli(['sync', '--config', config]);

    expect(result.code).toBe(0);
    expect(await manifestDigest(destination, 'refs/signed', sbom)).toBe(sbom);
    expect(await manifestDigest(destination, 'refs/plain', 'v1')).toBe(plain.digest);
    const fallbackOf = (digest: string) => `/manifests/${digest.replace(':', '-')}`;
    expect(source.requests(mark).filter((r) => r.path.endsWith(fallbackOf(plain.digest)))).toEqual([]);
    expect(source.requests(mark).some((r) => r.path.endsWith(fallbackOf(signed.digest)))).toBe(true);
  });
});

describe('crossdock sync with a registry behind TLS', () => {
  let source: TestRegistry;
  let secure: TestRegistry;

  beforeAll(async () => {
    [source, secure] = await Promise.all([startRegistry(), startRegistry({ tls: true })]);
    await pushImage(`${source.host}/team-a/app:v1`);
  });

  afterAll(async () => {
    await Promise.all([source, secure].map((r) => r?.stop()));
  });

  const configFor = (destination: string) =>
    writeConfig(`
registries:
  - { name: src, url: "${source.url}" }
  - ${destination}
policies:
  - { name: p, source: { registry: src, project: team-a }, destination: { registry: dst } }
`);

  it('trusts the certificate of caFile', async () => {
    const result = await runCli([
      'sync',
      '--config',
      configFor(`{ name: dst, url: "${secure.url}", caFile: "${secure.caFile}" }`),
    ]);

    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tags: 1 copied/);
    expect(
      secure
        .requests()
        .some((r) => r.method === 'PUT' && r.path === '/v2/team-a/app/manifests/v1' && r.status === 201),
    ).toBe(true);
  });

  it('skips certificate checks for an insecure registry', async () => {
    const result = await runCli([
      'sync',
      '--config',
      configFor(`{ name: dst, url: "${secure.url}", insecure: true }`),
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tags: 0 copied, 1 skipped/);
  });

  it('refuses a certificate it cannot verify, naming the registry', async () => {
    const result = await runCli(['sync', '--config', configFor(`{ name: dst, url: "${secure.url}" }`)]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /registry dst could not be reached \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/,
    );
  });
});
