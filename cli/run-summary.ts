import { ConfigError, configErrorText } from '#config/errors.ts';
import type { ReplicateResult } from '#replication/types.ts';
import { addStats, emptyStats, type ReplicationStats } from '#replication/types.ts';
import { formatBytes, formatSeconds, printable } from './format.ts';

export interface Failure {
  label: string;
  error: unknown;
}

/** Totals of a `copy` or `sync` run, for the closing summary and the exit code. */
export class RunSummary {
  readonly startedAt = Date.now();
  tagsCopied = 0;
  tagsSkipped = 0;
  readonly stats: ReplicationStats = emptyStats();
  readonly failures: Failure[] = [];
  /**
   * Dry runs: the blobs a real run would copy (registry and digest → size), each once however
   * many tags need it — the first copies it, the others mount it — and the mounts.
   */
  readonly #blobsToCopy = new Map<string, number>();
  #blobsToMount = 0;

  /** Records a tag's result and says it in one word: copied, up to date, would copy. */
  record(result: ReplicateResult, dryRun = false): string {
    if (result.outcome === 'copied') this.tagsCopied++;
    else this.tagsSkipped++;
    addStats(this.stats, result.stats);
    for (const { blob, mountable } of result.blobsMissing) {
      const key = `${result.registry} ${blob.digest}`;
      if (mountable || this.#blobsToCopy.has(key)) this.#blobsToMount++;
      else this.#blobsToCopy.set(key, blob.size);
    }
    if (result.outcome === 'skipped') return 'up to date';
    return dryRun ? 'would copy' : 'copied';
  }

  fail(label: string, error: unknown): void {
    this.failures.push({ label, error });
  }

  get exitCode(): number {
    return this.failures.length > 0 ? 1 : 0;
  }

  /** The closing lines: failures named one per line, then the totals. */
  lines(options: { dryRun?: boolean } = {}): string[] {
    const elapsed = Date.now() - this.startedAt;
    const s = this.stats;
    const lines = this.failures.map((f) => `FAILED ${f.label}: ${describeError(f.error)}`);
    if (options.dryRun) {
      const bytes = [...this.#blobsToCopy.values()].reduce((sum, size) => sum + size, 0);
      lines.push(
        `dry run: ${this.tagsCopied} tags to copy, ${this.tagsSkipped} up to date, ${this.failures.length} failed; ` +
          `${this.#blobsToCopy.size} blobs (${formatBytes(bytes)}) to copy, ${this.#blobsToMount} to mount, ${s.blobsPresent} present; nothing was written`,
      );
      return lines;
    }
    const rate = elapsed > 0 ? ` (${formatBytes((s.bytesCopied / elapsed) * 1000)}/s)` : '';
    lines.push(
      `tags: ${this.tagsCopied} copied, ${this.tagsSkipped} skipped, ${this.failures.length} failed; ` +
        `blobs: ${s.blobsCopied} copied, ${s.blobsMounted} mounted, ${s.blobsPresent} present; ` +
        `referrers: ${s.referrersCopied} copied; ${formatBytes(s.bytesCopied)} in ${formatSeconds(elapsed)}${rate}`,
    );
    return lines;
  }
}

/**
 * An error to print, in one line: registries' text in it has its control characters escaped
 * (a line break too, so none can pass itself off as crossdock's own line). A config's problems
 * are crossdock's own list, one per line, each line escaped the same way.
 */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError) return configErrorText(error.issues, error.file, printable);
  return printable(error instanceof Error ? error.message || error.name : String(error));
}
