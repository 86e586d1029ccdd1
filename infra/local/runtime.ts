import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_COPY_BYTE_BUDGET,
  DEFAULT_DISPATCHER_CONCURRENCY,
  DEFAULT_EXECUTION_TIMEOUT_SECONDS,
  DEFAULT_HTTP_THROTTLE,
  DISPATCH_TIMEOUT_SECONDS,
  leaseTtlSeconds,
  MAX_RECEIVE_COUNT,
  MAX_REQUEST_BODY_BYTES,
} from '#config/defaults.ts';
import type { CrossdockConfig } from '#config/schema.ts';
import { handler as apiHandler } from '../../functions/api/handler.ts';
import { handler as dispatchHandler } from '../../functions/dispatch/handler.ts';
import { handler as deadLetterHandler } from '../../functions/dlq/handler.ts';
import { handler as finalizerHandler } from '../../functions/finalizer/handler.ts';
import { handler as healthHandler } from '../../functions/health/handler.ts';
import { scanPolicyJobs } from '../../functions/lib/api/policy-scan.ts';
import { Crossdock } from '../../functions/lib/app/crossdock.ts';
import { useApp } from '../../functions/lib/app/current.ts';
import { logger } from '../../functions/lib/runtime/observability.ts';
import { sweepExpired } from '../../functions/lib/stores/sweeper.ts';
import { handler as webhookHandler } from '../../functions/webhook/handler.ts';
import { LocalExecutions } from './executions.ts';
import { type Gateway, type HttpHandler, startGateway } from './http-gateway.ts';
import { lambdaContext } from './lambda-context.ts';
import { startPoller } from './poller.ts';
import { startLocalQueues } from './queues.ts';
import { startLocalRecords } from './records.ts';
import { localSecrets } from './secrets.ts';
import { localWorkflow } from './workflow-binding.ts';

/**
 * crossdock on one machine (`crossdock serve`): the handler modules the CDK stack deploys,
 * wired to local substitutes — dynalite on disk for DynamoDB, fauxqs for SQS, a poller for the
 * SQS event sources, aws-local-stepfunctions for the workflow, an HTTP server for API Gateway.
 * Everything lives under the state folder. The records are the truth: at start every
 * unfinished job is driven on, so a restart (even after kill -9) continues where it stopped.
 */

export interface RuntimeOptions {
  config: CrossdockConfig;
  stateDir: string;
  port: number;
  /** Seconds a job attempt may run (the ASL's TimeoutSeconds); default 2 hours. */
  executionTimeoutSeconds?: number;
  /** Dispatcher invocations at once (the deployed reserved concurrency); default 2. */
  dispatcherConcurrency?: number;
  /** Seconds before an unacknowledged job message comes back; default 30. */
  visibilityTimeoutSeconds?: number;
  /** How often expired leases are deleted; default 60 s. */
  sweepIntervalMs?: number;
  /** Extra routes (the management API). */
  routes?: { method: string; path: string; handler: HttpHandler; functionName: string }[];
}

export interface Runtime {
  app: Crossdock;
  url: string;
  stop(): Promise<void>;
}

const EXECUTION_ENDED_BADLY = new Set(['ABORTED', 'TIMED_OUT', 'FAILED']);

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, stateDir } = options;
  await mkdir(stateDir, { recursive: true });
  const executionTimeoutSeconds = options.executionTimeoutSeconds ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS;
  const stopping: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stopping.splice(0).reverse()) {
      await step().catch((error) => logger.error('stopping the runtime', { error }));
    }
  };

  try {
    const records = await startLocalRecords({ dir: join(stateDir, 'records') });
    stopping.push(() => records.close());
    const queues = await startLocalQueues({
      dataDir: join(stateDir, 'queues'),
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    stopping.push(() => queues.close());

    let shuttingDown = false;
    const workflow = localWorkflow({ blobsPerJob: config.limits.blobsPerJob, executionTimeoutSeconds });
    const executions = new LocalExecutions({
      definition: workflow.definition,
      taskHandlers: workflow.taskHandlers,
      stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:crossdock',
      // The EventBridge rule of the stack: executions that did not end by themselves.
      onEnded: async (ended) => {
        if (shuttingDown || !EXECUTION_ENDED_BADLY.has(ended.status)) return;
        await finalizerHandler(
          {
            version: '0',
            id: ended.name,
            'detail-type': 'Step Functions Execution Status Change',
            source: 'aws.states',
            account: '000000000000',
            time: new Date().toISOString(),
            region: 'local',
            resources: [ended.executionArn],
            detail: {
              executionArn: ended.executionArn,
              input: ended.input,
              status: ended.status,
              error: ended.error ?? null,
              cause: ended.cause ?? null,
            },
          },
          lambdaContext('crossdock-finalizer', DISPATCH_TIMEOUT_SECONDS * 1000),
        );
      },
    });

    // Enabling a policy scans in the background, as the deployed API's async invocation does.
    const scans = new Set<Promise<unknown>>();
    const stopScans = new AbortController();
    const app: Crossdock = new Crossdock({
      scans: {
        async start(request) {
          const scan = scanPolicyJobs(app.scanPorts, request, { signal: stopScans.signal })
            .then(async (result) => {
              await app.scans.finished(request.scanId);
              logger.info('scan finished', { ...result });
            })
            .catch((error) => logger.error('scan failed', { error, policy: request.policy }))
            .finally(() => scans.delete(scan));
          scans.add(scan);
        },
      },
      settings: {
        apiToken: config.api.token,
        tableName: records.tableName,
        jobQueueUrl: queues.queueUrl,
        stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:crossdock',
        limits: config.limits,
        copyByteBudget: DEFAULT_COPY_BYTE_BUDGET,
        leaseTtlSeconds: leaseTtlSeconds(executionTimeoutSeconds),
      },
      dynamo: records.client,
      sqs: queues.client,
      executions: {
        async start(name, input) {
          await executions.start(name, input);
        },
      },
      secret: localSecrets({ stateDir }),
    });
    useApp(app);
    stopping.push(async () => {
      // A scan stopped here stays in the records and starts again at the next start.
      stopScans.abort(new Error('the runtime is stopping'));
      await Promise.allSettled([...scans]);
      await app.close();
      useApp(undefined);
    });
    // Steps run in reverse: executions stop before the app (its clients) closes.
    stopping.push(async () => {
      // Executions stopped here are not the jobs' end: the next start drives them on.
      shuttingDown = true;
      await executions.stop();
    });

    await applyConfig(app, config);
    if (records.repair) {
      logger.warn('the last stop was not clean: the records were checked', { ...records.repair });
    }
    // Executions died with the last process: no slot is in use until jobs are admitted again.
    await app.leases.clearAll();
    const redriven = await redriveUnfinished(app);
    await restartScans(app);

    const dispatchPoller = startPoller({
      client: queues.client,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      handler: (event) =>
        dispatchHandler(event, lambdaContext('crossdock-dispatch', DISPATCH_TIMEOUT_SECONDS * 1000)),
      concurrency: options.dispatcherConcurrency ?? DEFAULT_DISPATCHER_CONCURRENCY,
      batchSize: 10,
      waitTimeSeconds: 1,
    });
    stopping.push(() => dispatchPoller.stop());
    const deadLetterPoller = startPoller({
      client: queues.client,
      queueUrl: queues.deadLetterQueueUrl,
      queueArn: queues.deadLetterQueueArn,
      handler: (event) =>
        deadLetterHandler(event, lambdaContext('crossdock-dlq', DISPATCH_TIMEOUT_SECONDS * 1000)),
      concurrency: 1,
      batchSize: 10,
      waitTimeSeconds: 1,
    });
    stopping.push(() => deadLetterPoller.stop());

    const sweeper = setInterval(() => {
      sweepExpired(records.client, records.tableName).catch((error) =>
        logger.warn('sweep failed', { error }),
      );
    }, options.sweepIntervalMs ?? 60_000);
    sweeper.unref();
    stopping.push(async () => clearInterval(sweeper));

    const gateway: Gateway = await startGateway({
      port: options.port,
      maxBodyBytes: MAX_REQUEST_BODY_BYTES,
      throttle: DEFAULT_HTTP_THROTTLE,
      routes: [
        {
          method: 'POST',
          path: '/webhooks/{source}',
          handler: webhookHandler,
          functionName: 'crossdock-webhook',
        },
        { method: 'GET', path: '/health', handler: healthHandler, functionName: 'crossdock-health' },
        { method: 'ANY', path: '/api', handler: apiHandler, functionName: 'crossdock-api' },
        { method: 'ANY', path: '/api/{proxy+}', handler: apiHandler, functionName: 'crossdock-api' },
        ...(options.routes ?? []),
      ],
      onError: (error, request) => logger.error('request failed', { error, ...request }),
    });
    stopping.push(() => gateway.close());

    logger.info(
      `crossdock is listening: webhooks at ${gateway.url}/webhooks/{source}, API at ${gateway.url}/api, state in ${stateDir}`,
      { url: gateway.url, stateDir, redriven },
    );
    return { app, url: gateway.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `serve` applies the config at start: declared items are created or updated; others stay. */
export async function applyConfig(app: Crossdock, config: CrossdockConfig): Promise<void> {
  for (const registry of config.registries) await app.config.putRegistry(registry);
  for (const source of config.sources) await app.config.putSource(source);
  for (const policy of config.policies) await app.config.putPolicy(policy);
}

export interface Redrive {
  /** Jobs that hold their tag, sent to the dispatcher again. */
  redriven: number;
  /** Jobs that wait behind their tag's holder: queued when it ends. */
  waiting: number;
  /** Jobs that could not be driven on (their records say why in the log); start-up went on. */
  skipped: number;
}

/**
 * Every job the records call unfinished goes back on the queue when it holds its tag (a job
 * waiting behind another is queued when that one ends). Executions died with the old process;
 * the dispatcher starts `<job>-<attempt>` again, and every step is idempotent. One job that
 * cannot be driven on is logged and left as it is: it never keeps the runtime from starting.
 */
export async function redriveUnfinished(app: Crossdock): Promise<Redrive> {
  const report: Redrive = { redriven: 0, waiting: 0, skipped: 0 };
  for (const job of await app.jobs.listUnfinished()) {
    try {
      const submitted = await app.lifecycle.requeue(job);
      if (submitted.enqueue) report.redriven++;
      else report.waiting++;
    } catch (error) {
      report.skipped++;
      logger.error('could not drive this unfinished job on at start; it stays as the records hold it', {
        jobId: job.id,
        error,
      });
    }
  }
  if (report.skipped > 0) logger.warn('some unfinished jobs were not driven on at start', { ...report });
  return report;
}

/** Scans a stop interrupted start again (same id, same jobs); one that cannot is logged and skipped. */
async function restartScans(app: Crossdock): Promise<void> {
  for (const scan of await app.scans.unfinished()) {
    try {
      await app.apiPorts.startScan({ scanId: scan.scanId, policy: scan.policy });
    } catch (error) {
      logger.error('could not restart an unfinished scan at start', { ...scan, error });
    }
  }
}
