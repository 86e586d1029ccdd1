import type { PolicyRunView } from '../../functions/lib/api/ports.ts';
import type { DriftReport } from '../../functions/lib/drift/drift-report.ts';
import type { DriftEntry } from '../../functions/lib/drift/policy-drift.ts';
import type { ApiConnectionOptions, ListingOptions } from '../commands.ts';
import { printable } from '../format.ts';
import type { CliIo } from '../io.ts';
import { runApiCommand } from './client.ts';
import { formatAge, parseOutput, renderTable } from './table.ts';

/**
 * `crossdock policies check NAME` (what a reconciliation run would copy and delete now; changes
 * nothing), `policies sync NAME` (a run now, in the background: its id), `policies runs NAME`
 * (the policy's runs and what each found). docs/architecture.md, "Drift and reconciliation runs".
 */

const path = (name: string, what: string) => `/api/policies/${encodeURIComponent(name)}/${what}`;

export function runPolicyCheck(
  name: string,
  options: ListingOptions & { limit?: string | undefined },
  io: CliIo,
): Promise<number> {
  return runApiCommand(io, 'policies check', options, async (client) => {
    const format = parseOutput(options.output);
    const { drift } = await client.call<{ drift: DriftReport }>('GET', path(name, 'drift'), {
      query: { limit: options.limit },
    });
    if (format === 'json') {
      io.stdout.write(`${JSON.stringify(drift, null, 2)}\n`);
      return 0;
    }
    const { counts } = drift;
    io.stdout.write(
      `policy ${printable(name)}: ${counts.tagsCompared} tags compared in ${counts.repositories} repositories` +
        ` (${(drift.durationMs / 1000).toFixed(1)} s)${drift.partial ? `, PARTIAL: ${printable(drift.partial.reason)}` : ''}\n` +
        `drift: ${counts.missing} missing, ${counts.moved} moved, ${counts.extra} extra at the destination\n` +
        `a sync would copy ${drift.wouldCopy} and delete ${drift.wouldDelete}\n`,
    );
    const rows = [...drift.missing, ...drift.moved, ...drift.extra].map((entry) => entryRow(entry));
    if (rows.length > 0) {
      io.stdout.write(renderTable(['DRIFT', 'REPOSITORY', 'TAG', 'SOURCE', 'DESTINATION'], rows));
    }
    return 0;
  });
}

const short = (digest: string | undefined) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-');

function entryRow(entry: DriftEntry): string[] {
  return [
    entry.kind,
    printable(entry.sourceRepository),
    printable(entry.tag),
    short(entry.sourceDigest),
    short(entry.destinationDigest),
  ];
}

export function runPolicySync(name: string, options: ApiConnectionOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'policies sync', options, async (client) => {
    const { run } = await client.call<{ run: { id: string } }>('POST', path(name, 'sync'));
    io.stdout.write(
      `policy ${printable(name)}: run ${run.id} started; \`crossdock policies runs ${printable(name)}\` shows what it found\n`,
    );
    return 0;
  });
}

export function runPolicyRuns(name: string, options: ListingOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'policies runs', options, async (client) => {
    const format = parseOutput(options.output);
    const { runs } = await client.call<{ runs: PolicyRunView[] }>('GET', path(name, 'runs'));
    if (format === 'json') {
      io.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      return 0;
    }
    if (runs.length === 0) {
      io.stdout.write('no runs\n');
      return 0;
    }
    io.stdout.write(
      renderTable(
        ['RUN', 'TRIGGER', 'STATUS', 'STARTED', 'TOOK', 'COMPARED', 'MISSING', 'MOVED', 'EXTRA', 'JOBS'],
        runs.map((run) => [
          run.runId,
          run.trigger,
          run.status === 'failed' ? `failed: ${printable(run.error ?? '')}` : run.status,
          formatAge(run.startedAt),
          run.durationMs === undefined ? '-' : `${(run.durationMs / 1000).toFixed(1)} s`,
          String(run.result?.tagsCompared ?? '-'),
          String(run.result?.missing ?? '-'),
          String(run.result?.moved ?? '-'),
          String(run.result?.extra ?? '-'),
          run.result ? String(run.result.jobs.push + run.result.jobs.delete) : '-',
        ]),
      ),
    );
    return 0;
  });
}
