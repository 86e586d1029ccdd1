import { createHash } from 'node:crypto';
import { destinationRepository, matchingPolicies } from '#config/policy.ts';
import type { PolicyConfig, SourceConfig } from '#config/schema.ts';
import { deliveryKey } from '../events/dedupe.ts';
import { UnknownSourceError } from '../events/errors.ts';
import { checkBody } from '../events/limits.ts';
import { parseEvents } from '../events/normalize.ts';
import type { RegistryEvent } from '../events/registry-event.ts';
import { type VerifiableRequest, verifySender } from '../events/verify.ts';
import type { JobTarget } from '../jobs/job.ts';
import type { SubmitMessage } from '../jobs/message.ts';
import { groupByTag, type SubmitPorts, submitJobs } from './submit-jobs.ts';

/**
 * A webhook delivery, from the request to the jobs it makes: find the source, verify the
 * sender, check and parse the body, drop what is irrelevant, match the enabled policies, and
 * submit one job per (event, policy). Irrelevant events are counted, never refused: a
 * distribution registry retries a refused delivery forever.
 *
 * The same delivery twice makes one job because a job's id is derived from the event's delivery
 * key and the policy, and submitting an existing job changes nothing. Unlike a "seen" marker
 * written first, this loses nothing when the request fails half-way: the registry's retry
 * submits the same ids again.
 */

export interface WebhookPorts extends SubmitPorts {
  source(name: string): Promise<SourceConfig | undefined>;
  policies(): Promise<PolicyConfig[]>;
  /** Sends a big delivery's jobs to the queue, for the dispatcher to submit. */
  submitLater(messages: SubmitMessage[]): Promise<void>;
}

/** A request to `POST /webhooks/{source}`: header names lower-case, the body exactly as received. */
export interface WebhookRequest extends VerifiableRequest {
  source: string;
}

export interface DeliveryResult {
  accepted: number;
  ignored: number;
  /** The jobs' ids (derived from the delivery: known before they are recorded). */
  jobs: string[];
  /** Of those, how many are submitted in the background (a big delivery), 0 otherwise. */
  deferred: number;
}

/**
 * Jobs a delivery submits while the request waits. Beyond that they go to the queue in
 * SubmitMessages, so that a registry's delivery of thousands of events is answered in about a
 * second rather than timing out (API Gateway's integration limit is 30 s) and being re-sent.
 */
export const INLINE_JOBS = 100;

/** A SubmitMessage's size bound: ten of them fit in one SQS batch (256 KiB). */
const SUBMIT_MESSAGE_BYTES = 24 * 1024;

/** 24 hex digits (96 bits) of sha256(delivery key, policy): the same event and policy, the same job. */
export function jobIdFor(deliveryKey: string, policy: string): string {
  return createHash('sha256').update(`${deliveryKey}\n${policy}`).digest('hex').slice(0, 24);
}

/**
 * The job one event makes for one policy, or undefined when the policy does not replicate it.
 * Distribution announces a tag's removal without its digest: that delete takes what this
 * policy put there when it is submitted (submit-jobs.ts).
 */
function jobFor(policy: PolicyConfig, event: RegistryEvent): JobTarget | undefined {
  if (event.tag === undefined) return undefined;
  if (event.action === 'delete' && !policy.replicateDeletes) return undefined;
  return {
    id: jobIdFor(deliveryKey(event), policy.name),
    policy: policy.name,
    action: event.action,
    sourceRegistry: event.registry,
    sourceRepository: event.repository,
    tag: event.tag,
    digest: event.digest,
    destinationRegistry: policy.destination.registry,
    destinationRepository: destinationRepository(policy, event.repository),
    override: policy.override,
  };
}

/** Jobs in SubmitMessages of at most SUBMIT_MESSAGE_BYTES, the jobs of one tag in one message. */
export function submitMessages(jobs: readonly JobTarget[]): SubmitMessage[] {
  const messages: SubmitMessage[] = [];
  let current: JobTarget[] = [];
  let bytes = 0;
  for (const group of groupByTag(jobs)) {
    const size = group.reduce((sum, job) => sum + JSON.stringify(job).length + 1, 0);
    if (current.length > 0 && bytes + size > SUBMIT_MESSAGE_BYTES) {
      messages.push({ submit: current });
      current = [];
      bytes = 0;
    }
    current.push(...group);
    bytes += size;
  }
  if (current.length > 0) messages.push({ submit: current });
  return messages;
}

export async function acceptDelivery(ports: WebhookPorts, request: WebhookRequest): Promise<DeliveryResult> {
  const source = await ports.source(request.source);
  if (!source) throw new UnknownSourceError(`no webhook source named "${request.source}"`);
  verifySender(source, request);
  const payload = checkBody(request.headers, request.rawBody);
  const parsed = parseEvents(source.format, payload, {
    registry: source.registry,
    headers: request.headers,
    receivedAt: new Date().toISOString(),
  });

  const policies = await ports.policies();
  const byEvent = parsed.events.map((event) =>
    matchingPolicies(policies, event)
      .map((policy) => jobFor(policy, event))
      .filter((job) => job !== undefined),
  );
  const jobs = byEvent.flat();
  const matched = byEvent.filter((eventJobs) => eventJobs.length > 0).length;
  if (jobs.length > INLINE_JOBS) {
    await ports.submitLater(submitMessages(jobs));
    return {
      accepted: matched,
      ignored: parsed.ignored + parsed.events.length - matched,
      jobs: jobs.map((job) => job.id),
      deferred: jobs.length,
    };
  }
  const submitted = new Set(await submitJobs(ports, jobs));
  // An event whose every job came to nothing (a delete of a tag never replicated) is ignored.
  const accepted = byEvent.filter((eventJobs) => eventJobs.some((job) => submitted.has(job.id))).length;
  return {
    accepted,
    ignored: parsed.ignored + parsed.events.length - accepted,
    jobs: jobs.filter((job) => submitted.has(job.id)).map((job) => job.id),
    deferred: 0,
  };
}
