import { isJobStatus, isTerminal, JOB_STATUSES, type Job, type JobStatus } from '../jobs/job.ts';
import { ApiConflictError, ApiNotFoundError, type Issue } from './errors.ts';
import { listJobs } from './job-listing.ts';
import type { ApiPorts, ApiResponse } from './ports.ts';
import { invalid } from './validation.ts';
import { type JobListReply, type JobReply, presentJob } from './views.ts';

/**
 * Jobs: list (`?policy=&status=&repository=&limit=&cursor=`, newest first), show (the record
 * with its history), cancel (202) and retry (202: a new attempt, sent to the queue).
 */

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

export async function listJobsRoute(
  ports: ApiPorts,
  query: Record<string, string | undefined>,
): Promise<ApiResponse> {
  const issues: Issue[] = [];
  const known = ['policy', 'status', 'repository', 'limit', 'cursor'];
  for (const key of Object.keys(query)) {
    if (!known.includes(key))
      issues.push({ path: key, message: `unknown parameter; known: ${known.join(', ')}` });
  }
  const { policy, status, repository, cursor } = query;
  if (status !== undefined && !isJobStatus(status)) {
    issues.push({ path: 'status', message: `must be one of: ${JOB_STATUSES.join(', ')}` });
  }
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!/^\d+$/.test(query.limit) || limit < 1 || limit > MAX_LIMIT) {
      issues.push({ path: 'limit', message: `must be a whole number from 1 to ${MAX_LIMIT}` });
    }
  }
  for (const [key, value] of Object.entries({ policy, repository, cursor })) {
    if (value === '') issues.push({ path: key, message: 'must not be empty' });
  }
  if (issues.length > 0) throw invalid('query', issues);
  const page = await listJobs(ports.jobs, {
    policy,
    status: status as JobStatus | undefined,
    repository,
    limit,
    cursor,
  });
  const body: JobListReply = {
    jobs: page.jobs.map(presentJob),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  };
  return { statusCode: 200, body };
}

async function mustGetJob(ports: ApiPorts, id: string): Promise<Job> {
  const job = await ports.jobs.get(id);
  if (!job) throw new ApiNotFoundError(`no job with id "${id}"`);
  return job;
}

const reply = (statusCode: number, job: Job): ApiResponse => ({
  statusCode,
  body: { job: presentJob(job) } satisfies JobReply,
});

export async function getJob(ports: ApiPorts, id: string): Promise<ApiResponse> {
  return reply(200, await mustGetJob(ports, id));
}

/**
 * A QUEUED job ends CANCELLED at once; a RUNNING one is flagged and stops between chunks.
 * 409 for a job that has ended already.
 */
export async function cancelJob(ports: ApiPorts, id: string): Promise<ApiResponse> {
  const job = await mustGetJob(ports, id);
  if (isTerminal(job.status)) throw new ApiConflictError(`job ${id} is ${job.status}: it has ended already`);
  return reply(202, await ports.jobs.cancel(id));
}

/**
 * A FAILED or CANCELLED job queued again as a new attempt, and sent to the queue. 409 for a job
 * in any other status (also when another retry won the race: JobTransitionError), or whose
 * policy is disabled or deleted (the dispatcher would cancel it).
 */
export async function retryJob(ports: ApiPorts, id: string): Promise<ApiResponse> {
  const job = await mustGetJob(ports, id);
  if (job.status !== 'FAILED' && job.status !== 'CANCELLED') {
    throw new ApiConflictError(`job ${id} is ${job.status}: only FAILED or CANCELLED jobs are retried`);
  }
  const policy = await ports.config.getPolicy(job.policy);
  if (!policy) throw new ApiConflictError(`job ${id}: its policy "${job.policy}" no longer exists`);
  if (!policy.enabled)
    throw new ApiConflictError(`job ${id}: its policy "${job.policy}" is disabled; enable it first`);
  return reply(202, await ports.jobs.retry(id));
}
