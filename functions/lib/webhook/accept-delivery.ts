import { createHash } from 'node:crypto';
import { destinationRepository, matchingPolicies } from '#config/policy.ts';
import type { PolicyConfig, SourceConfig } from '#config/schema.ts';
import { deliveryKey } from '../events/dedupe.ts';
import { UnknownSourceError } from '../events/errors.ts';
import { checkBody } from '../events/limits.ts';
import { parseEvents } from '../events/normalize.ts';
import type { RegistryEvent } from '../events/registry-event.ts';
import { type VerifiableRequest, verifySender } from '../events/verify.ts';
import type { JobTarget, SubmittedJob } from '../jobs/job.ts';
import type { JobMessage } from '../jobs/message.ts';

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

export interface WebhookPorts {
  source(name: string): Promise<SourceConfig | undefined>;
  policies(): Promise<PolicyConfig[]>;
  /** The digest this policy last replicated for the tag: what a tag delete without a digest removes. */
  replicatedDigest(policy: string, repository: string, tag: string): Promise<string | undefined>;
  /** Records the job (nothing when it exists) and claims its tag lock. */
  submitJob(job: JobTarget): Promise<SubmittedJob>;
  /** Sends job messages to the queue. */
  enqueue(messages: JobMessage[]): Promise<void>;
}

/** A request to `POST /webhooks/{source}`: header names lower-case, the body exactly as received. */
export interface WebhookRequest extends VerifiableRequest {
  source: string;
}

export interface DeliveryResult {
  accepted: number;
  ignored: number;
  jobs: string[];
}

/** 24 hex digits (96 bits) of sha256(delivery key, policy): the same event and policy, the same job. */
export function jobIdFor(deliveryKey: string, policy: string): string {
  return createHash('sha256').update(`${deliveryKey}\n${policy}`).digest('hex').slice(0, 24);
}

/** The job one event makes for one policy, or undefined when the policy does not replicate it. */
async function jobFor(
  ports: WebhookPorts,
  policy: PolicyConfig,
  event: RegistryEvent,
): Promise<JobTarget | undefined> {
  if (event.tag === undefined) return undefined;
  let digest = event.digest;
  if (event.action === 'delete') {
    if (!policy.replicateDeletes) return undefined;
    // Distribution announces a tag's removal without its digest: use what this policy put there.
    digest ??= await ports.replicatedDigest(policy.name, event.repository, event.tag);
    if (digest === undefined) return undefined;
  }
  return {
    id: jobIdFor(deliveryKey(event), policy.name),
    policy: policy.name,
    action: event.action,
    sourceRegistry: event.registry,
    sourceRepository: event.repository,
    tag: event.tag,
    digest,
    destinationRegistry: policy.destination.registry,
    destinationRepository: destinationRepository(policy, event.repository),
    override: policy.override,
  };
}

export async function acceptDelivery(ports: WebhookPorts, request: WebhookRequest): Promise<DeliveryResult> {
  const source = await ports.source(request.source);
  if (!source) throw new UnknownSourceError(`no webhook source named "${request.source}"`);
  verifySender(source, request);
  const payload = checkBody(request.headers, request.rawBody);
  const parsed = parseEvents(source.format, payload, { registry: source.registry });

  const result: DeliveryResult = { accepted: 0, ignored: parsed.ignored, jobs: [] };
  const toEnqueue: JobMessage[] = [];
  const policies = await ports.policies();
  for (const event of parsed.events) {
    const matching = matchingPolicies(policies, event);
    const jobs = (await Promise.all(matching.map((policy) => jobFor(ports, policy, event)))).filter(
      (j) => j !== undefined,
    );
    if (jobs.length === 0) {
      result.ignored++;
      continue;
    }
    result.accepted++;
    for (const job of jobs) {
      const submitted = await ports.submitJob(job);
      result.jobs.push(submitted.jobId);
      if (submitted.enqueue) toEnqueue.push({ jobId: submitted.jobId, attempt: submitted.attempt });
    }
  }
  if (toEnqueue.length > 0) await ports.enqueue(toEnqueue);
  return result;
}
