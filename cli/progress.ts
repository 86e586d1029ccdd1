import cliProgress from 'cli-progress';
import type { ReplicationEvent } from '#replication/types.ts';
import { formatBytes, printable, shortDigest } from './format.ts';

/**
 * Shows progress: bars on a terminal, plain lines otherwise (CI logs, pipes). Lines are
 * written for finished tags and copied blobs, and every 10 % of a blob over 64 MiB.
 */
export interface ProgressReporter {
  event(label: string, event: ReplicationEvent): void;
  line(text: string): void;
  stop(): void;
}

const LARGE_BLOB = 64 * 1024 * 1024;

function stallLine(label: string, event: Extract<ReplicationEvent, { type: 'blob-stalled' }>): string {
  return `${label}: ${event.message}; ${event.givingUp ? 'giving up' : 'resuming'}`;
}

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return stream.isTTY ? new BarReporter(stream) : new LineReporter(stream);
}

class LineReporter implements ProgressReporter {
  readonly #stream: NodeJS.WritableStream;
  readonly #blobs = new Map<string, { size: number; done: number; reported: number }>();

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
  }

  event(label: string, event: ReplicationEvent): void {
    const key = `${label} ${event.digest}`;
    if (event.type === 'blob-start') this.#blobs.set(key, { size: event.size, done: 0, reported: 0 });
    if (event.type === 'blob-progress') {
      const blob = this.#blobs.get(key);
      if (!blob || blob.size < LARGE_BLOB) return;
      blob.done += event.bytes;
      const tenth = Math.floor((blob.done / blob.size) * 10);
      if (tenth > blob.reported && tenth < 10) {
        blob.reported = tenth;
        this.line(`${label}: blob ${shortDigest(event.digest)} ${tenth * 10}% of ${formatBytes(blob.size)}`);
      }
    }
    if (event.type === 'blob-stalled') this.line(stallLine(label, event));
    if (event.type === 'blob-done') {
      this.#blobs.delete(key);
      if (event.outcome !== 'present') {
        this.line(`${label}: blob ${shortDigest(event.digest)} ${formatBytes(event.size)} ${event.outcome}`);
      }
    }
  }

  line(text: string): void {
    this.#stream.write(`${printable(text)}\n`);
  }

  stop(): void {}
}

class BarReporter implements ProgressReporter {
  readonly #bars: cliProgress.MultiBar;
  readonly #active = new Map<string, { bar: cliProgress.SingleBar; done: number }>();

  constructor(stream: NodeJS.WriteStream) {
    this.#bars = new cliProgress.MultiBar(
      {
        stream,
        clearOnComplete: true,
        hideCursor: true,
        // `{total}` is cli-progress's own (the raw byte count): the size goes in as `{size}`.
        format: '{label} {digest} [{bar}] {percentage}% {done}/{size}',
        barsize: 24,
        fps: 8,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  event(label: string, event: ReplicationEvent): void {
    const key = `${label} ${event.digest}`;
    if (event.type === 'blob-start') {
      const payload = {
        label: printable(label),
        digest: shortDigest(event.digest),
        done: '0 B',
        size: formatBytes(event.size),
      };
      this.#active.set(key, { bar: this.#bars.create(Math.max(event.size, 1), 0, payload), done: 0 });
    } else if (event.type === 'blob-progress') {
      const active = this.#active.get(key);
      if (!active) return;
      active.done += event.bytes;
      active.bar.update(active.done, { done: formatBytes(active.done) });
    } else if (event.type === 'blob-stalled') {
      this.line(stallLine(label, event));
    } else if (event.type === 'blob-done') {
      const active = this.#active.get(key);
      if (active) {
        this.#bars.remove(active.bar);
        this.#active.delete(key);
      }
    }
  }

  line(text: string): void {
    this.#bars.log(`${printable(text)}\n`);
  }

  stop(): void {
    this.#bars.stop();
  }
}
