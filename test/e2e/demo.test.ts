import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/cli.ts';
import { freePort } from '../support/ports.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { scratchDir } from '../support/tools.ts';

const run = promisify(execFile);

/** `npm start` in a folder without crossdock.yaml: the demo the README walks a newcomer through. */
describe('crossdock start without a config (the demo)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('prints the API token and one push command; running it replicates the image from demo-a to demo-b; Ctrl-C stops', async () => {
    const cwd = mkdtempSync(join(scratchDir(), 'crossdock-demo-'));
    const port = await freePort();
    child = spawn(process.execPath, [CLI, 'start', '--port', String(port)], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout?.resume();
    const pushCommand = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no push command printed:\n${stderr}`)), 60_000);
      child?.stderr?.on('data', (chunk) => {
        stderr += chunk;
        const line = /^ {2}(skopeo copy .+)$/m.exec(stderr);
        if (line) {
          clearTimeout(timer);
          resolve(line[1] as string);
        }
      });
      child?.once('exit', (code) => reject(new Error(`crossdock start exited with ${code}:\n${stderr}`)));
    });
    const demoB = /registry demo-b at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1] as string;
    expect(stderr).toContain(`http://127.0.0.1:${port}/webhooks/demo-a`);
    expect(pushCommand).toContain(join(cwd, '.crossdock', 'demo', 'image'));
    // The API's token, made now: shown once, and kept where `npx crossdock jobs` run here finds it.
    const token = readFileSync(join(cwd, '.crossdock', 'api-token'), 'utf8').trim();
    expect(stderr).toContain(`  ${token}\n`);
    expect(stderr).toContain('the CLI run in this folder reads it from there');

    const [command, ...args] = pushCommand.split(' ');
    await run(command as string, args);

    const deadline = Date.now() + 20_000;
    let jobs: { status: string; policy: string }[] = [];
    while (Date.now() < deadline) {
      const response = await request(`http://127.0.0.1:${port}/api/jobs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      jobs = ((await response.body.json()) as { jobs: typeof jobs }).jobs;
      if (jobs.some((job) => job.status === 'SUCCEEDED')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(jobs).toEqual([expect.objectContaining({ policy: 'demo-a-to-b', status: 'SUCCEEDED' })]);
    const demoA = /docker:\/\/(127\.0\.0\.1:\d+)\//.exec(pushCommand)?.[1] as string;
    expect(await manifestDigest({ url: demoB }, 'demo/hello', 'v1')).toBe(
      await manifestDigest({ url: `http://${demoA}` }, 'demo/hello', 'v1'),
    );

    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
