import type { Job, OpenUpload } from '../jobs/job.ts';

/**
 * What the API answers for jobs: the types the CLI and users' scripts read. A job is the
 * record (functions/lib/jobs/job.ts) without its open upload's URL, which carries the
 * registry's upload state; the field names are a contract (`id`, `status`, `substate`,
 * `createdAt`, `startedAt`, `finishedAt`, …), new fields may be added.
 */

export type JobView = Omit<Job, 'upload'> & { upload?: Omit<OpenUpload, 'location'> | undefined };

/** `GET /api/jobs` */
export interface JobListReply {
  jobs: JobView[];
  /** Present when more may follow: pass it back as `cursor`. */
  cursor?: string;
}

/** `GET /api/jobs/{id}`, and the 202 of `/cancel` and `/retry`. */
export interface JobReply {
  job: JobView;
}

export function presentJob(job: Job): JobView {
  if (!job.upload) return job;
  const { location: _location, ...upload } = job.upload;
  return { ...job, upload };
}
