import { type ChildProcess, spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';

/**
 * Runs an ES module snippet in a separate Node process (the same Node 22, from the repository
 * root so bare imports resolve) and resolves once it prints `marker`. The process is killed
 * with SIGKILL when the test finishes, if it still runs.
 */
export async function startChild(code: string, marker: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', code], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before "${marker}":\n${output}`)));
  });
  return child;
}

/** SIGKILL, as a crash: no exit handlers, nothing flushed or closed. */
export async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
