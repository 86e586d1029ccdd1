import type { JobAction } from './job.ts';

/**
 * The contract of a tag lock (stores/tag-locks.ts persists it): one lock per (policy,
 * repository, tag), so never two executions for one tag, and the newest digest wins.
 */

export interface TagRef {
  policy: string;
  repository: string;
  tag: string;
}

export interface ClaimRequest extends TagRef {
  digest?: string | undefined;
  action: JobAction;
  jobId: string;
}

export type ClaimResult =
  | {
      claimed: true;
      /** False when the job held the tag already (a claim repeated): its message is on its way. */
      fresh: boolean;
      /** A waiting job this claim took the tag from (its holder had ended): end it as superseded. */
      displaced?: string;
    }
  | {
      claimed: false;
      holder: string;
      /**
       * True: this job carries the newest digest and waits for the holder to end; `release`
       * hands it the tag then (even when it carries the holder's own digest: should the holder
       * fail, the digest still gets replicated). False: the job that already waits carries this
       * digest and action: this one has nothing to do.
       */
      waits: boolean;
      /** The job that waited before this one and no longer will: end it as superseded. */
      displaced?: string;
    };

export interface Handover {
  /** The waiting job that now holds the lock: enqueue it. */
  jobId: string;
  digest?: string;
  action: JobAction;
}

export interface TagLocks {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** The holder's end hands the tag to the waiting job (answered); a waiting job's end gives up its turn. */
  release(request: TagRef & { jobId: string }): Promise<Handover | undefined>;
}
