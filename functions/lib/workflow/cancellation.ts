import { JobCancelledError } from './errors.ts';
import type { WorkflowJobs } from './ports.ts';

/**
 * Polls the job's cancel flag while a long copy runs; when set, aborts the copy's signal with
 * JobCancelledError, which the copy throws between chunks.
 */
export function watchCancellation(
  jobs: WorkflowJobs,
  jobId: string,
  intervalMs: number,
): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    jobs.isCancelRequested(jobId).then(
      (cancelled) => {
        if (cancelled) controller.abort(new JobCancelledError(`job ${jobId} was cancelled`));
      },
      () => undefined, // A failed read is not a cancel; the next poll tries again.
    );
  }, intervalMs);
  timer.unref();
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}
