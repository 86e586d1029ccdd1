import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/program.ts';
import { capturedIo } from '../cli-api/api-server.ts';

const { version } = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8'),
) as {
  version: string;
};

async function crossdock(args: string[]) {
  const { io, out } = capturedIo();
  const code = await runCli(['node', 'crossdock', ...args], io);
  return { code, ...out };
}

describe('the crossdock command line', () => {
  it.each([['--version'], ['-V']])(
    'prints the version package.json names with %s, and exits 0',
    async (flag) => {
      const result = await crossdock([flag]);

      expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    },
  );

  it('lists --version in its help', async () => {
    const result = await crossdock(['--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/-V, --version\s+print crossdock's version/);
  });
});
