import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import {
  blobExists,
  getManifest,
  listTags,
  manifestDigest,
  pushReferrer,
} from '../support/registry-reader.ts';
import { startTokenService, type TokenService } from '../support/token-service.ts';
import { scratchDir } from '../support/tools.ts';

const isUpload = (r: { method: string; path: string }) =>
  (r.method === 'PATCH' || r.method === 'PUT') && r.path.includes('/blobs/uploads/');

describe('crossdock copy', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let basic: TestRegistry;
  let tokens: TokenService;
  let tokenRegistry: TestRegistry;
  let single: PushedImage;
  let multi: PushedImage;
  let referrer: string;

  beforeAll(async () => {
    tokens = await startTokenService({ alice: 'alice-secret' });
    [source, destination, basic, tokenRegistry] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startRegistry({ auth: { kind: 'basic', username: 'bob', password: 'bob-secret' } }),
      startRegistry({ auth: { kind: 'token', tokenService: tokens } }),
    ]);
    single = await pushImage(`${source.host}/team-a/app:v1`, { layerCount: 2, layerSize: 200_000 });
    multi = await pushImage(`${source.host}/team-a/multi:v1`, {
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    });
    referrer = await pushReferrer(source, 'team-a/app', single);
  });

  afterAll(async () => {
    await Promise.all([source, destination, basic, tokenRegistry].map((r) => r?.stop()));
    await tokens?.stop();
  });

  it('copies a single-arch image with the same digest, and its referrer with it', async () => {
    const result = await runCli([
      'copy',
      `${source.host}/team-a/app:v1`,
      `docker://${destination.host}/mirror/app:v1`,
    ]);

    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(await manifestDigest(destination, 'mirror/app', 'v1')).toBe(single.digest);
    expect(await manifestDigest(destination, 'mirror/app', referrer)).toBe(referrer);
    const fallback = await getManifest(destination, 'mirror/app', single.digest.replace(':', '-'));
    expect(fallback?.json.manifests).toEqual([expect.objectContaining({ digest: referrer })]);
    // 3 blobs of the image (config, 2 layers) and 2 of the SBOM (empty config, document).
    expect(result.stdout).toMatch(
      /tags: 1 copied, 0 skipped, 0 failed; blobs: 5 copied.*referrers: 1 copied/,
    );
  });

  it('copies every platform of a multi-arch index', async () => {
    const result = await runCli([
      'copy',
      `${source.host}/team-a/multi:v1`,
      `${destination.host}/team-a/multi`,
    ]);

    expect(result.code).toBe(0);
    expect(await manifestDigest(destination, 'team-a/multi', 'v1')).toBe(multi.digest);
    for (const child of multi.children) {
      expect(await manifestDigest(destination, 'team-a/multi', child.digest)).toBe(child.digest);
    }
    for (const blob of multi.blobs)
      expect(await blobExists(destination, 'team-a/multi', blob.digest)).toBe(true);
  });

  it('moves no blob bytes on a second run and reports the tag skipped', async () => {
    await runCli(['copy', `${source.host}/team-a/app:v1`, `${destination.host}/again/app:v1`]);
    const mark = destination.mark();

    const result = await runCli(['copy', `${source.host}/team-a/app:v1`, `${destination.host}/again/app:v1`]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tags: 0 copied, 1 skipped/);
    expect(destination.requests(mark).filter(isUpload)).toEqual([]);
    expect(
      source.requests().filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).length,
    ).toBeGreaterThan(0);
  });

  it('writes nothing in a dry run, and says what it would copy', async () => {
    const mark = destination.mark();

    const result = await runCli([
      'copy',
      '--dry-run',
      `${source.host}/team-a/app:v1`,
      `${destination.host}/dry/app:v1`,
    ]);

    expect(result.code).toBe(0);
    // The image's config and two layers, and its referrer's (a signature's) config and layer.
    expect(result.stdout).toMatch(
      /dry run: 1 tags to copy.*; 5 blobs \([^)]+\) to copy, 0 to mount, 0 present/,
    );
    expect(destination.requests(mark).filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
    expect(await listTags(destination, 'dry/app')).toEqual([]);
  });

  it('copies into a Basic-auth registry with --dest-creds', async () => {
    const result = await runCli([
      'copy',
      '--dest-creds',
      'bob:bob-secret',
      `${source.host}/team-a/app:v1`,
      `${basic.host}/team-a/app:v1`,
    ]);

    expect(result.code).toBe(0);
    expect(await manifestDigest(basic, 'team-a/app', 'v1')).toBe(single.digest);
  });

  it("takes credentials from Docker's config.json for a token-auth registry", async () => {
    const dockerConfig = mkdtempSync(join(scratchDir(), 'crossdock-docker-'));
    const auth = Buffer.from('alice:alice-secret').toString('base64');
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [tokenRegistry.host]: { auth } } }),
    );

    const push = await runCli(
      ['copy', `${source.host}/team-a/multi:v1`, `${tokenRegistry.host}/team-a/multi:v1`],
      {
        env: { DOCKER_CONFIG: dockerConfig },
      },
    );
    const back = await runCli(
      ['copy', `${tokenRegistry.host}/team-a/multi:v1`, `${destination.host}/from-token/multi:v1`],
      {
        env: { DOCKER_CONFIG: dockerConfig },
      },
    );

    expect(push.stderr).not.toMatch(/FAILED/);
    expect(push.code).toBe(0);
    expect(back.code).toBe(0);
    expect(await manifestDigest(destination, 'from-token/multi', 'v1')).toBe(multi.digest);
    expect(tokens.issued()).toBeGreaterThan(0);
  });

  /**
   * A Docker credential helper as `docker login` leaves one: `docker-credential-<name> get` reads
   * the server address on stdin and answers `{ Username, Secret }`, or fails when it has none.
   * Each address it is asked for is appended to `asked`.
   */
  function credentialHelper(name: string, server: string, username: string, secret: string) {
    const dir = mkdtempSync(join(scratchDir(), 'crossdock-helper-'));
    const asked = join(dir, 'asked');
    writeFileSync(
      join(dir, `docker-credential-${name}`),
      [
        '#!/bin/sh',
        'read -r server',
        `echo "$1 $server" >> '${asked}'`,
        `if [ "$1" = get ] && [ "$server" = '${server}' ]; then`,
        `  echo '{"ServerURL":"${server}","Username":"${username}","Secret":"${secret}"}'`,
        '  exit 0',
        'fi',
        'echo "credentials not found in native keychain"',
        'exit 1',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return { path: `${dir}:${process.env.PATH}`, asked: () => readFileSync(asked, 'utf8') };
  }

  it("takes credentials from Docker's credential helper (credsStore), as docker login on a desktop leaves them", async () => {
    const helper = credentialHelper('crossdock-test', basic.host, 'bob', 'bob-secret');
    const dockerConfig = mkdtempSync(join(scratchDir(), 'crossdock-docker-'));
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [basic.host]: {} }, credsStore: 'crossdock-test' }),
    );

    const result = await runCli(['copy', `${source.host}/team-a/app:v1`, `${basic.host}/team-a/helper:v1`], {
      env: { DOCKER_CONFIG: dockerConfig, PATH: helper.path },
    });

    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(await manifestDigest(basic, 'team-a/helper', 'v1')).toBe(single.digest);
    expect(helper.asked()).toContain(`get ${basic.host}\n`);
  });

  it("prefers a registry's own helper (credHelpers) and copies anonymously from a registry whose helper is not installed", async () => {
    const helper = credentialHelper('crossdock-test', basic.host, 'bob', 'bob-secret');
    const dockerConfig = mkdtempSync(join(scratchDir(), 'crossdock-docker-'));
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ credsStore: 'not-installed', credHelpers: { [basic.host]: 'crossdock-test' } }),
    );

    const result = await runCli(['copy', `${source.host}/team-a/app:v1`, `${basic.host}/team-a/helper2:v1`], {
      env: { DOCKER_CONFIG: dockerConfig, PATH: helper.path },
    });

    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(await manifestDigest(basic, 'team-a/helper2', 'v1')).toBe(single.digest);
  });

  it('names the flag that gives credentials when a registry wants some and none were given', async () => {
    const result = await runCli(['copy', `${source.host}/team-a/app:v1`, `${basic.host}/team-a/nocreds:v1`]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `registry ${basic.host} requires credentials for manifest team-a/nocreds:v1: give --dest-creds USER:PASSWORD, or log in with docker login ${basic.host}`,
    );
  });

  it('names the flag that gives credentials when a token service gives anonymous access no rights', async () => {
    const result = await runCli([
      'copy',
      `${tokenRegistry.host}/team-a/private:v1`,
      `${destination.host}/from-token/private:v1`,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `registry ${tokenRegistry.host} refused anonymous access for manifest team-a/private:v1: give --src-creds USER:PASSWORD, or log in with docker login ${tokenRegistry.host}`,
    );
  });

  it('fails with exit code 1 naming the user when the registry refuses the credentials', async () => {
    const basicResult = await runCli([
      'copy',
      '--dest-creds',
      'bob:wrong',
      `${source.host}/team-a/app:v1`,
      `${basic.host}/team-a/denied:v1`,
    ]);
    const tokenResult = await runCli([
      'copy',
      '--src-creds',
      'alice:wrong',
      `${tokenRegistry.host}/team-a/multi:v1`,
      `${destination.host}/x/y:v1`,
    ]);

    expect(basicResult.code).toBe(1);
    expect(basicResult.stderr).toMatch(new RegExp(`FAILED .*registry ${basic.host} refused user "bob"`));
    expect(tokenResult.code).toBe(1);
    expect(tokenResult.stderr).toMatch(/token service refused the credentials of user "alice"/);
  });

  it('fails with exit code 1 and says why for a bad reference or bad credentials flag', async () => {
    const badName = await runCli(['copy', `${source.host}/Team-A/app:v1`, `${destination.host}/x:v1`]);
    const badCreds = await runCli([
      'copy',
      '--src-creds',
      'nocolon',
      `${source.host}/team-a/app:v1`,
      `${destination.host}/x:v1`,
    ]);

    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/invalid reference ".*Team-A.*": repository names must be lowercase/);
    expect(badCreds.code).toBe(1);
    expect(badCreds.stderr).toMatch(/--src-creds must be USER:PASSWORD/);
  });

  it('fails with exit code 1 for a repository or tag that does not exist', async () => {
    const result = await runCli([
      'copy',
      `${source.host}/team-a/nothing:v1`,
      `${destination.host}/x/nothing:v1`,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FAILED .*manifest team-a\/nothing:v1 not found in registry/);
  });

  it('fails with exit code 1 when the registry cannot be reached', async () => {
    const result = await runCli(['copy', '127.0.0.1:9/team-a/app:v1', `${destination.host}/x/app:v1`]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/registry 127\.0\.0\.1:9 could not be reached \(ECONNREFUSED\)/);
  });
});
