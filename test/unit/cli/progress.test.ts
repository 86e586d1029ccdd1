import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../../../cli/progress.ts';

/** A stream that says it is a terminal, keeping what is written to it. */
function terminal() {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, {
    isTTY: true,
    columns: 120,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  return { stream, text: () => written.join('') };
}

describe('progress on a terminal', () => {
  it('shows a blob’s bytes done and its size, both in units', async () => {
    const { stream, text } = terminal();
    const progress = createProgressReporter(stream);
    const digest = `sha256:${'a'.repeat(64)}`;

    progress.event('team/big', { type: 'blob-start', digest, size: 209_747_759 });
    progress.event('team/big', { type: 'blob-progress', digest, bytes: 20 * 1024 * 1024 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the bars redraw 8 times a second
    progress.stop();

    expect(text()).toMatch(/team\/big \S+ \[[^\]]*\] \d+% 20\.0 MiB\/200\.0 MiB/);
    expect(text()).not.toContain('209747759');
  });
});
