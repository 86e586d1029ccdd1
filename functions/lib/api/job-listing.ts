import { JOB_STATUSES, type Job, type JobStatus } from '../jobs/job.ts';
import { InvalidCursorError } from '../stores/errors.ts';
import type { JobPage } from '../stores/jobs.ts';
import { BadRequestError } from './errors.ts';
import type { ApiJobs } from './ports.ts';

/**
 * `GET /api/jobs`: newest first, filtered by policy, status and repository, a page at a time
 * with an opaque cursor.
 *
 * The records have two indexes of jobs, by policy and by status, each newest first. A listing
 * reads one or more *streams* from them and merges them newest first: by policy (with or without
 * a status), by status, or, with no filter, every status's stream at once. The repository filter
 * is applied while reading; it scans at most `SCAN_BUDGET` records per page, so a page may hold
 * fewer than `limit` jobs and still have a cursor.
 *
 * The cursor holds, for each stream, the store's cursor where its last read began and how many
 * jobs of that read were used. A listing reads what the records hold as it goes: jobs that
 * change status between pages can show on two pages or on none (the status index moves them).
 */

export interface JobQuery {
  policy?: string | undefined;
  status?: JobStatus | undefined;
  /** The job's source or destination repository, exactly. */
  repository?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface JobListing {
  jobs: Job[];
  cursor?: string;
}

const SCAN_BUDGET = 2000;
const MIN_READ = 20;

type Fetch = (cursor: string | undefined, limit: number) => Promise<JobPage>;

/** Where a stream goes on: `skip` jobs after the store's cursor `start` (undefined: the newest). */
interface Position {
  start?: string | undefined;
  skip: number;
}

interface CursorState {
  /** The query the cursor belongs to. */
  q: [string, string, string];
  /** Per stream: its position, or null once it is read to the end. */
  s: Record<string, Position | null>;
}

const orderKey = (job: Job) => `${job.createdAt}#${job.id}`;

class StreamReader {
  readonly #fetch: Fetch;
  readonly #read: number;
  position: Position | null;
  #buffer: Job[] = [];
  #used = 0;
  #base: Position = { skip: 0 };
  #after: string | undefined;

  constructor(fetch: Fetch, position: Position | null, read: number) {
    this.#fetch = fetch;
    this.position = position;
    this.#read = read;
  }

  async fill(): Promise<void> {
    if (this.position === null || this.#used < this.#buffer.length) return;
    const { start, skip } = this.position;
    const page = await this.#fetch(start, skip + this.#read);
    this.#buffer = page.jobs.slice(skip);
    this.#used = 0;
    this.#base = { start, skip };
    this.#after = page.cursor;
    // The store answers a cursor only with a full page, so an empty read is the end.
    if (this.#buffer.length === 0) this.position = null;
  }

  head(): Job | undefined {
    return this.#buffer[this.#used];
  }

  take(): Job {
    const job = this.#buffer[this.#used++] as Job;
    if (this.#used < this.#buffer.length) {
      this.position = { start: this.#base.start, skip: this.#base.skip + this.#used };
    } else {
      this.position = this.#after === undefined ? null : { start: this.#after, skip: 0 };
      this.#buffer = [];
      this.#used = 0;
    }
    return job;
  }
}

function streamsFor(store: ApiJobs, query: JobQuery): Record<string, Fetch> {
  const { policy, status } = query;
  if (policy !== undefined) {
    return { policy: (cursor, limit) => store.listByPolicy(policy, { limit, cursor, status }) };
  }
  const statuses = status === undefined ? JOB_STATUSES : [status];
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      (cursor: string | undefined, limit: number) => store.listByStatus(s, { limit, cursor }),
    ]),
  );
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(cursor: string, query: CursorState['q'], streams: string[]): CursorState['s'] {
  const refuse = () => new BadRequestError('cursor: is not one this listing gave (same filters, please)');
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const s = (state as Partial<CursorState> | null)?.s;
  const q = (state as Partial<CursorState> | null)?.q;
  if (!Array.isArray(q) || q.join('\n') !== query.join('\n') || typeof s !== 'object' || s === null)
    throw refuse();
  for (const name of streams) {
    const position = (s as Record<string, unknown>)[name];
    if (position === null) continue;
    const p = position as Partial<Position> | undefined;
    const valid =
      typeof p === 'object' &&
      Number.isInteger(p.skip) &&
      (p.skip as number) >= 0 &&
      (p.start === undefined || typeof p.start === 'string');
    if (!valid) throw refuse();
  }
  return s as CursorState['s'];
}

export async function listJobs(store: ApiJobs, query: JobQuery): Promise<JobListing> {
  const streams = streamsFor(store, query);
  const names = Object.keys(streams);
  const q: CursorState['q'] = [query.policy ?? '', query.status ?? '', query.repository ?? ''];
  const positions = query.cursor === undefined ? undefined : decodeCursor(query.cursor, q, names);
  const read = Math.max(MIN_READ, query.limit);
  const readers = names.map(
    (name) =>
      new StreamReader(
        streams[name] as Fetch,
        positions === undefined ? { skip: 0 } : (positions[name] ?? null),
        read,
      ),
  );
  const matches = (job: Job) =>
    query.repository === undefined ||
    job.sourceRepository === query.repository ||
    job.destinationRepository === query.repository;

  const jobs: Job[] = [];
  const seen = new Set<string>();
  try {
    for (let scanned = 0; jobs.length < query.limit && scanned < SCAN_BUDGET; scanned++) {
      await Promise.all(readers.map((reader) => reader.fill()));
      let newest: StreamReader | undefined;
      for (const reader of readers) {
        const head = reader.head();
        if (head && (!newest || orderKey(head) > orderKey(newest.head() as Job))) newest = reader;
      }
      if (!newest) break;
      const job = newest.take();
      // A job that changed status meanwhile can be in two status streams: show it once.
      if (matches(job) && !seen.has(job.id)) {
        seen.add(job.id);
        jobs.push(job);
      }
    }
  } catch (error) {
    // The stores refuse a cursor of theirs that was tampered with.
    if (error instanceof InvalidCursorError)
      throw new BadRequestError('cursor: is not one this listing gave');
    throw error;
  }
  if (readers.every((reader) => reader.position === null)) return { jobs };
  const s = Object.fromEntries(names.map((name, i) => [name, (readers[i] as StreamReader).position]));
  return { jobs, cursor: encodeCursor({ q, s }) };
}
