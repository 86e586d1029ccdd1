import type { JobMessage } from '../../../functions/lib/jobs/message.ts';
import type { JobPlan } from '../../../functions/lib/workflow/lanes.ts';
import { handlers } from '../../../functions/workflow/handler.ts';
import { lambdaContext } from './pipeline-fixture.ts';

/** The errors MountOrCopyBlobs' Retry calls the lane again on (infra/workflow.ts). */
const LANE_GOES_ON = new Set(['CopyContinuesError', 'SharedBlobBusyError']);
/** A lane's rounds before the driver gives up, and the pause between them. */
const MAX_ROUNDS = 50;
const ROUND_PAUSE_MS = 100;

type Phase = <T>(name: string, work: () => Promise<T>) => Promise<T>;

/**
 * Runs an execution the dispatcher started as Step Functions runs the workflow, through the
 * handlers as deployed: FetchManifest; each lane of CopyBlobs at once, called again while it
 * ends with its Retry's errors; PushManifest. `phase` wraps each state's work (the
 * table-requests test counts requests by state). Answers FetchManifest's plan.
 */
export async function driveExecution(
  started: { name: string; input: JobMessage },
  options: { blobsPerJob?: number; phase?: Phase } = {},
): Promise<JobPlan> {
  const phase: Phase = options.phase ?? ((_, work) => work());
  const input = {
    ...started.input,
    executionArn: `arn:aws:states:us-east-1:000000000000:execution:crossdock:${started.name}`,
    started: new Date().toISOString(),
    blobsPerJob: options.blobsPerJob ?? 4,
  };
  const plan = (await phase('FetchManifest', () =>
    handlers.FetchManifest(input, lambdaContext('FetchManifest')),
  )) as JobPlan;
  if (plan.next === 'skip') return plan;
  if (plan.next !== 'copy' && plan.next !== 'push') throw new Error(`not a push: ${plan.next}`);
  if (plan.next === 'copy')
    await phase('CopyBlobs', () =>
      Promise.all(
        plan.lanes.map(async (lane, index) => {
          for (let round = 1; ; round++) {
            try {
              return await handlers.MountOrCopyBlobs(
                { jobId: input.jobId, attempt: input.attempt, started: input.started, index, lane } as {
                  jobId: string;
                },
                lambdaContext('MountOrCopyBlobs'),
              );
            } catch (error) {
              if (!LANE_GOES_ON.has((error as Error).name) || round >= MAX_ROUNDS) throw error;
              await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
            }
          }
        }),
      ),
    );
  await phase('PushManifest', () =>
    handlers.PushManifest(
      { jobId: input.jobId, attempt: input.attempt, digest: plan.digest, plan } as { jobId: string },
      lambdaContext('PushManifest'),
    ),
  );
  return plan;
}
