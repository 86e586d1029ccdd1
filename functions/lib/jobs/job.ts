/** What every job is about, wherever it is handled: one action on one tag for one policy. */

export type JobAction = 'push' | 'delete';
export type TerminalStatus = 'SUCCEEDED' | 'SKIPPED' | 'FAILED' | 'CANCELLED';

export interface JobTarget {
  id: string;
  policy: string;
  action: JobAction;
  sourceRegistry: string;
  sourceRepository: string;
  tag: string;
  /** For a delete: the digest deleted at the source. For a push: the digest the event named. */
  digest?: string | undefined;
  destinationRegistry: string;
  destinationRepository: string;
  /** The policy's `override`: replace a destination tag that points at another digest. */
  override?: boolean | undefined;
}
