import type { Job, KeptLane, OpenUpload } from '../jobs/job.ts';

/**
 * What the API answers for jobs: the types the CLI and users' scripts read. A job is the
 * record (functions/lib/jobs/job.ts) without its open uploads' URLs, which carry the
 * registry's upload state; the field names are a contract (`id`, `status`, `substate`,
 * `createdAt`, `startedAt`, `finishedAt`, …), new fields may be added.
 */

type LaneView = Omit<KeptLane, 'upload'> & { upload?: Omit<OpenUpload, 'location'> | undefined };

export type JobView = Omit<Job, 'lanes'> & { lanes?: Record<string, LaneView> | undefined };

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
  if (!job.lanes) return job;
  const lanes = Object.entries(job.lanes).map(([index, { upload, ...lane }]) => {
    if (!upload) return [index, lane];
    const { location: _location, ...open } = upload;
    return [index, { ...lane, upload: open }];
  });
  return { ...job, lanes: Object.fromEntries(lanes) };
}
