import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const out = mkdtempSync(join(tmpdir(), 'crossdock-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('cdk synth', () => {
  it('synthesises the app offline, bundling each handler with esbuild and passing cdk-nag', async () => {
    // The real CLI as a user runs it (cdk.json): no credentials, no Docker, no network.
    const { stderr } = await run(
      join(ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', out],
      {
        cwd: ROOT,
        env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );

    expect(stderr).not.toMatch(/AwsSolutions-/);
    const template = JSON.parse(readFileSync(join(out, 'Crossdock.template.json'), 'utf8'));
    const functions = Object.values(template.Resources).filter(
      (r) => (r as { Type: string }).Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(15);
    // Every function's code is a bundle on disk; the workflow's functions share one (one module, a handler each).
    const assets = functions.map((fn) => {
      const metadata = (fn as { Metadata?: Record<string, string> }).Metadata ?? {};
      return metadata['aws:asset:path'] as string;
    });
    for (const asset of assets) expect(existsSync(join(out, asset, 'index.mjs')), asset).toBe(true);
    const bundles = readdirSync(out).filter((name) => existsSync(join(out, name, 'index.mjs')));
    expect(new Set(assets).size).toBe(bundles.length);
    expect(bundles).toHaveLength(11);
  }, 300_000);

  it('refuses an indexMigrationStep it does not know, naming the steps and where they are explained', async () => {
    const attempt = run(
      join(ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', join(out, 'refused'), '-c', 'indexMigrationStep=4'],
      {
        cwd: ROOT,
        env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 240_000,
      },
    );

    await expect(attempt).rejects.toMatchObject({
      stderr: expect.stringMatching(/indexMigrationStep=4: must be 1, 2, 3 \(docs\/deploy\.md/),
    });
  }, 300_000);
});
