import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveApiToken } from '../../../infra/local/api-token.ts';
import { ApiTokenFileError } from '../../../infra/local/errors.ts';
import { tempDir } from './temp-dir.ts';

describe("the local API's token", () => {
  it('is generated at the first start into <state-dir>/api-token: one line, 0600, the folder made 0700', async () => {
    const stateDir = join(await tempDir(), 'state');

    const first = await resolveApiToken({ configured: undefined, stateDir });

    expect(first.origin).toBe('created');
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await readFile(join(stateDir, 'api-token'), 'utf8')).toBe(`${first.token}\n`);
    expect((await stat(join(stateDir, 'api-token'))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });

  it('is read back from the file at later starts', async () => {
    const stateDir = await tempDir();
    const first = await resolveApiToken({ configured: undefined, stateDir });

    const later = await resolveApiToken({ configured: undefined, stateDir });

    expect(later).toEqual({ ...first, origin: 'file' });
  });

  it("is the config's api.token when it sets one, and then no file is written", async () => {
    const stateDir = await tempDir();

    const token = await resolveApiToken({ configured: 'from-the-config', stateDir });

    expect(token).toMatchObject({ token: 'from-the-config', origin: 'config' });
    await expect(stat(join(stateDir, 'api-token'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses an empty token file rather than running without a token', async () => {
    const stateDir = await tempDir();
    await writeFile(join(stateDir, 'api-token'), '\n');

    await expect(resolveApiToken({ configured: undefined, stateDir })).rejects.toThrow(ApiTokenFileError);
  });
});
