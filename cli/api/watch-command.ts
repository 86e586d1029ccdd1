import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '#replication/limit.ts';
import type { JobReply, JobView } from '../../functions/lib/api/views.ts';
import { isTerminal } from '../../functions/lib/jobs/job.ts';
import type { WatchOptions } from '../commands.ts';
import { interruptSignal } from '../context.ts';
import { formatBytes, printable } from '../format.ts';
import type { CliIo } from '../io.ts';
import { runApiCommand } from './client.ts';
import { fetchJobs } from './jobs-command.ts';
import { JOB_COLUMNS, jobRow, renderTable } from './table.ts';

/**
 * `crossdock jobs watch [ID…]`: follows jobs until every one has ended, reading them again every
 * second. Without ids it follows the queued and running jobs (of `--policy`) as they are at the
 * start. On a terminal the table is redrawn in place; otherwise (a pipe, CI) one line is
 * written per change. Exit code 1 when any of them FAILED.
 */

const CONCURRENCY = 8;

function changeLine(job: JobView): string {
  const time = new Date().toISOString().slice(11, 19);
  const parts = [
    time,
    job.id,
    `${job.sourceRepository}:${job.tag}`,
    job.status,
    job.substate && !isTerminal(job.status) ? job.substate : '',
    job.bytesCopied > 0 ? formatBytes(job.bytesCopied) : '',
    job.error ? `${job.error.code}: ${job.error.message}` : '',
  ];
  return `${printable(parts.filter(Boolean).join(' '))}\n`;
}

const fingerprint = (job: JobView) =>
  [job.status, job.substate, job.attempt, job.bytesCopied, job.cancelRequested].join('|');

export function runJobsWatch(ids: string[], options: WatchOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'jobs watch', options, async (client) => {
    const interval = options.interval ?? 1000;
    const tty = (io.stdout as NodeJS.WriteStream).isTTY === true;
    const jobs = new Map<string, JobView>();
    if (ids.length > 0) {
      for (const id of ids) {
        const { job } = await client.call<JobReply>('GET', `/api/jobs/${encodeURIComponent(id)}`);
        jobs.set(job.id, job);
      }
    } else {
      const limit = options.limit ?? 100;
      for (const status of ['RUNNING', 'QUEUED']) {
        const { jobs: found } = await fetchJobs(
          client,
          { policy: options.policy, status },
          limit - jobs.size,
        );
        for (const job of found) jobs.set(job.id, job);
        if (jobs.size >= limit) break;
      }
      if (jobs.size === 0) {
        io.stdout.write('no queued or running jobs\n');
        return 0;
      }
    }

    const interrupt = interruptSignal();
    const shown = new Map<string, string>();
    let drawnLines = 0;
    const draw = () => {
      const list = [...jobs.values()];
      if (tty) {
        const now = Date.now();
        const text = renderTable(
          JOB_COLUMNS,
          list.map((job) => jobRow(job, now)),
        );
        const up = drawnLines > 0 ? `\x1b[${drawnLines}F` : '';
        io.stdout.write(`${up}${text.replace(/\n/g, '\x1b[K\n')}\x1b[J`);
        drawnLines = text.split('\n').length - 1;
        return;
      }
      for (const job of list) {
        const now = fingerprint(job);
        if (shown.get(job.id) !== now) {
          shown.set(job.id, now);
          io.stdout.write(changeLine(job));
        }
      }
    };
    try {
      draw();
      while ([...jobs.values()].some((job) => !isTerminal(job.status))) {
        await sleep(interval, undefined, { signal: interrupt.signal });
        const open = [...jobs.values()].filter((job) => !isTerminal(job.status));
        await mapLimit(open, CONCURRENCY, async (job) => {
          const { job: now } = await client.call<JobReply>('GET', `/api/jobs/${encodeURIComponent(job.id)}`);
          jobs.set(now.id, now);
        });
        draw();
      }
    } catch (error) {
      if (interrupt.signal.aborted) return 130;
      throw error;
    } finally {
      interrupt.dispose();
    }
    const count = (status: string) => [...jobs.values()].filter((job) => job.status === status).length;
    io.stdout.write(
      `${jobs.size} jobs ended: ${count('SUCCEEDED')} succeeded, ${count('SKIPPED')} skipped, ${count('FAILED')} failed, ${count('CANCELLED')} cancelled\n`,
    );
    return count('FAILED') > 0 ? 1 : 0;
  });
}
