import type { JobListReply, JobReply, JobView } from '../../functions/lib/api/views.ts';
import type { ApiConnectionOptions, JobsListOptions, ListingOptions } from '../commands.ts';
import { formatBytes, printable } from '../format.ts';
import type { CliIo } from '../io.ts';
import { type ApiClient, runApiCommand } from './client.ts';
import { formatAge, JOB_COLUMNS, jobRow, parseOutput, renderTable } from './table.ts';

/** `crossdock jobs …`: the job table, one job's history, cancel and retry. */

/** Up to `limit` jobs newest first, following the API's cursor. */
export async function fetchJobs(
  client: ApiClient,
  filters: { policy?: string | undefined; status?: string | undefined; repository?: string | undefined },
  limit: number,
): Promise<{ jobs: JobView[]; more: boolean }> {
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.call<JobListReply>('GET', '/api/jobs', {
      query: { ...filters, limit: Math.min(limit - jobs.length, 1000), cursor },
    });
    jobs.push(...page.jobs);
    cursor = page.cursor;
  } while (cursor !== undefined && jobs.length < limit);
  return { jobs: jobs.slice(0, limit), more: cursor !== undefined };
}

export function runJobsList(options: JobsListOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'jobs', options, async (client) => {
    const output = parseOutput(options.output ?? 'table');
    const limit = options.limit ?? 50;
    const { jobs, more } = await fetchJobs(
      client,
      { policy: options.policy, status: options.status?.toUpperCase(), repository: options.repository },
      limit,
    );
    if (output === 'json') {
      io.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
      return 0;
    }
    if (jobs.length === 0) {
      io.stdout.write('no jobs\n');
      return 0;
    }
    const now = Date.now();
    io.stdout.write(
      renderTable(
        JOB_COLUMNS,
        jobs.map((job) => jobRow(job, now)),
      ),
    );
    if (more) io.stderr.write(`(the newest ${limit} shown; more with --limit)\n`);
    return 0;
  });
}

function describeJob(job: JobView, now: number): string {
  const at = (iso: string | undefined) => (iso === undefined ? '-' : `${iso} (${formatAge(iso, now)} ago)`);
  const status = [
    job.status,
    job.substate ? `in ${job.substate}` : '',
    job.cancelRequested && job.status === 'RUNNING' ? '(cancel requested)' : '',
    job.wait?.reason === 'tag' ? `(waits for its tag: job ${job.wait.holder} holds it)` : '',
    job.wait?.reason === 'slot' ? '(waits for a running slot)' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const lines: [string, string][] = [
    ['job', job.id],
    ['policy', job.policy],
    ['action', job.action],
    [
      'source',
      `${job.sourceRegistry}/${job.sourceRepository}:${job.tag}${job.digest ? ` @ ${job.digest}` : ''}`,
    ],
    ['destination', `${job.destinationRegistry}/${job.destinationRepository}:${job.tag}`],
    ['status', status],
    ['attempt', String(job.attempt)],
    [
      'blobs',
      `${job.blobs.copied} copied, ${job.blobs.mounted} mounted, ${job.blobs.present} present; ${formatBytes(job.bytesCopied)} sent`,
    ],
    ['created', at(job.createdAt)],
    ['started', at(job.startedAt)],
    ['finished', at(job.finishedAt)],
  ];
  if (job.error) {
    lines.push([
      'error',
      `${job.error.code}${job.error.state ? ` in ${job.error.state}` : ''}: ${job.error.message}`,
    ]);
  }
  const width = Math.max(...lines.map(([key]) => key.length));
  // The values are the record's: registries' error text among them.
  const head = lines.map(([key, value]) => `${key.padEnd(width)}  ${printable(value)}`).join('\n');
  const history = renderTable(
    ['AT', 'STATUS', 'SUBSTATE', 'ATTEMPT', 'NOTE'],
    job.history.map((entry) => [
      entry.at,
      entry.status,
      entry.substate ?? '-',
      String(entry.attempt),
      entry.note ?? '',
    ]),
  );
  return `${head}\n\nhistory\n${history}`;
}

export function runJobShow(id: string, options: ListingOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'jobs show', options, async (client) => {
    const output = parseOutput(options.output ?? 'table');
    const { job } = await client.call<JobReply>('GET', `/api/jobs/${encodeURIComponent(id)}`);
    io.stdout.write(output === 'json' ? `${JSON.stringify(job, null, 2)}\n` : describeJob(job, Date.now()));
    return 0;
  });
}

export function runJobCancel(id: string, options: ApiConnectionOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'jobs cancel', options, async (client) => {
    const { job } = await client.call<JobReply>('POST', `/api/jobs/${encodeURIComponent(id)}/cancel`);
    io.stdout.write(
      job.status === 'CANCELLED'
        ? `job ${job.id} cancelled\n`
        : `job ${job.id} asked to stop: it is ${job.status} and ends CANCELLED after its current step\n`,
    );
    return 0;
  });
}

export function runJobRetry(id: string, options: ApiConnectionOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'jobs retry', options, async (client) => {
    const { job } = await client.call<JobReply>('POST', `/api/jobs/${encodeURIComponent(id)}/retry`);
    io.stdout.write(`job ${job.id} queued again as attempt ${job.attempt}\n`);
    return 0;
  });
}
