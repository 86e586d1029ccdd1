import { chmod, mkdtemp, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigStore } from '../../functions/lib/stores/config-store.ts';
import { startLocalRecords } from '../../infra/local/records.ts';
import {
  allEnded,
  type CrossdockProcess,
  crossdockPort,
  startCrossdock,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { filesContaining } from '../support/files-containing.ts';
import { pushImage } from '../support/image-builder.ts';
import { listeningTcpPorts } from '../support/listening-ports.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { replicationPolicy } from '../support/serve-config.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * `crossdock serve` keeps registry passwords and webhook secrets in its vault (secrets.json,
 * 0600) and only references to them in the records; the state folder is its owner's alone; and
 * the records answer nobody but the runtime (docs/security.md, "Local secrets and records").
 */

/** Every file under `dir` and its mode, folders included. */
async function modes(dir: string): Promise<{ path: string; folder: boolean; mode: number }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const all = [{ path: dir, folder: true }];
  for (const entry of entries) {
    if (entry.isDirectory() || entry.isFile())
      all.push({ path: join(entry.parentPath, entry.name), folder: entry.isDirectory() });
  }
  return Promise.all(
    all.map(async ({ path, folder }) => ({ path, folder, mode: (await stat(path)).mode & 0o777 })),
  );
}

const widerThanPrivate = (entries: { folder: boolean; mode: number; path: string }[]) =>
  entries.filter(({ folder, mode }) => mode !== (folder ? 0o700 : 0o600)).map(({ path }) => path);

/**
 * An unauthenticated DynamoDB Scan of the table, as any local user could send it: dynalite only
 * checks that an Authorization header is there, never its signature, so a made-up one does.
 */
async function scanThrough(port: number): Promise<{ status: number; body: string }> {
  try {
    const response = await request(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.Scan',
        'x-amz-date': '20250101T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=anyone/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
        origin: 'http://evil.example',
      },
      body: JSON.stringify({ TableName: 'crossdock' }),
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    return { status: response.statusCode, body: await response.body.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

describe('crossdock serve: local secrets apart from the records', () => {
  const PASSWORD_A = 'pass-a-5e0c91d2';
  const PASSWORD_B = 'pass-b-77ad04b3';
  const WEBHOOK_SECRET = 'hook-secret-c3f81a6e';
  const API_PASSWORD = 'api-pass-190b6d4f';
  const API_HMAC = 'api-hmac-8a2e57c0';
  const SECRETS = [PASSWORD_A, PASSWORD_B, WEBHOOK_SECRET, API_PASSWORD, API_HMAC];
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    const port = await crossdockPort();
    [a, b] = await Promise.all([
      startRegistry({
        auth: { kind: 'basic', username: 'robot', password: PASSWORD_A },
        notifications: {
          url: `http://127.0.0.1:${port}/webhooks/a`,
          headers: { Authorization: `Bearer ${WEBHOOK_SECRET}` },
        },
      }),
      startRegistry({ auth: { kind: 'basic', username: 'robot', password: PASSWORD_B } }),
    ]);
    crossdock = await startCrossdock({
      port,
      config: {
        registries: [
          { name: 'a', url: a.url, credentials: { username: 'robot', password: PASSWORD_A } },
          { name: 'b', url: b.url, credentials: { username: 'robot', password: PASSWORD_B } },
        ],
        sources: [
          {
            name: 'a',
            registry: 'a',
            format: 'distribution',
            auth: { header: 'Authorization', value: `Bearer ${WEBHOOK_SECRET}` },
          },
        ],
        policies: [replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b' })],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('keeps every password and webhook secret in the vault only, in a 0700 folder of 0600 files, and still uses them', async () => {
    // Arrange: secrets from the config (above) and through the API.
    const registry = await crossdock.api('POST', '/api/registries', {
      name: 'c',
      url: b.url,
      credentials: { username: 'robot', password: API_PASSWORD },
    });
    const source = await crossdock.api('POST', '/api/sources', {
      name: 'c',
      registry: 'c',
      format: 'harbor',
      auth: { hmacSecret: API_HMAC },
    });
    expect([registry.status, source.status]).toEqual([201, 201]);

    // Act: a push to A, announced with the webhook secret, replicated with both passwords.
    await pushImage(`${a.host}/team/app:v1`, { creds: `robot:${PASSWORD_A}` });
    const [job] = await waitForJobs(crossdock, allEnded);

    // Assert
    expect(job?.status).toBe('SUCCEEDED');
    for (const secret of SECRETS) {
      expect({ secret, files: await filesContaining(crossdock.stateDir, secret) }).toEqual({
        secret,
        files: [join(crossdock.stateDir, 'secrets.json')],
      });
    }
    expect(widerThanPrivate(await modes(crossdock.stateDir))).toEqual([]);
  });

  it('answers no records to an unauthenticated Scan on any TCP port the serve process listens on', async () => {
    const pid = crossdock.pid();
    expect(pid).toBeDefined();
    const ports = listeningTcpPorts(pid as number);
    expect(ports).toContain(crossdock.port);

    const answers = await Promise.all(ports.map(async (port) => ({ port, ...(await scanThrough(port)) })));

    for (const answer of answers) {
      expect(answer.body).not.toContain('"Items"');
      expect(answer.body).not.toMatch(/registry#|job#/);
    }
    expect(ports).toEqual([crossdock.port]);
  });
});

describe('crossdock serve: records an older crossdock left with secrets in clear', () => {
  const OLD_PASSWORD = 'old-pass-3b9d2e71';
  const OLD_HOOK = 'old-hook-f04c8a15';
  let crossdock: CrossdockProcess | undefined;
  afterAll(() => crossdock?.stop());

  it('tightens the folder, moves the secrets into the vault and compacts them out of the records’ files', async () => {
    // Arrange: records as the old runtime wrote them (secrets inline), in a 0755 folder of 0644 files.
    const stateDir = join(await mkdtemp(join(scratchDir(), 'crossdock-old-state-')), 'state');
    const records = await startLocalRecords({ dir: join(stateDir, 'records') });
    const config = new ConfigStore(records.client, records.tableName);
    await config.putRegistry({
      name: 'old',
      url: 'http://127.0.0.1:1',
      credentials: { username: 'u', password: OLD_PASSWORD },
    });
    await config.putSource({
      name: 'old',
      registry: 'old',
      format: 'distribution',
      auth: { query: 'token', value: OLD_HOOK },
    });
    await records.close();
    for (const { path, folder } of await modes(stateDir)) await chmod(path, folder ? 0o755 : 0o644);
    expect(await filesContaining(stateDir, OLD_PASSWORD)).not.toEqual([]);

    // Act
    crossdock = await startCrossdock({ stateDir, config: {} });

    // Assert
    for (const secret of [OLD_PASSWORD, OLD_HOOK]) {
      expect(await filesContaining(stateDir, secret)).toEqual([join(stateDir, 'secrets.json')]);
    }
    expect(widerThanPrivate(await modes(stateDir))).toEqual([]);
    const logs = crossdock.logs();
    expect(logs).toContain('the state folder was readable by others');
    expect(logs).toContain('moved to the vault');
    const registry = await crossdock.api<{ registry: { credentials?: { password: string } } }>(
      'GET',
      '/api/registries/old',
    );
    expect(registry.body.registry.credentials?.password).toBe('***');
  });
});
