import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import {
  DEFAULT_COPY_BYTE_BUDGET,
  LOCAL_REQUEST_BUDGETS,
  MAX_REQUEST_BODY_BYTES,
  SCHEDULE_TICK_MS,
} from '#config/defaults.ts';
import type { CrossdockConfig } from '#config/schema.ts';
import { handler as apiHandler } from '../../functions/api/handler.ts';
import { handler as dispatchHandler } from '../../functions/dispatch/handler.ts';
import { handler as deadLetterHandler } from '../../functions/dlq/handler.ts';
import { handler as finalizerHandler } from '../../functions/finalizer/handler.ts';
import { handler as healthHandler } from '../../functions/health/handler.ts';
import { Crossdock } from '../../functions/lib/app/crossdock.ts';
import { useApp } from '../../functions/lib/app/current.ts';
import { VaultedConfigStore } from '../../functions/lib/app/vaulted-config.ts';
import type { DueRunsResult } from '../../functions/lib/drift/due-runs.ts';
import type { QueuedJob } from '../../functions/lib/jobs/message.ts';
import type { ReconcileResult } from '../../functions/lib/reconcile/reconcile.ts';
import { logger } from '../../functions/lib/runtime/observability.ts';
import { ConfigStore } from '../../functions/lib/stores/config-store.ts';
import { sweepExpired } from '../../functions/lib/stores/sweeper.ts';
import { handler as reconcilerHandler } from '../../functions/reconciler/handler.ts';
import { handler as scheduleHandler } from '../../functions/schedule/handler.ts';
import { handler as webhookHandler } from '../../functions/webhook/handler.ts';
import { type LimitOverrides, type PipelineLimits, pipelineLimits, type ServiceFunction } from '../limits.ts';
import { type ApiToken, resolveApiToken } from './api-token.ts';
import { ListenSettingsError } from './errors.ts';
import { type ExecutionEnded, LocalExecutions } from './executions.ts';
import { droppingSends, type RuntimeFaults } from './faults.ts';
import { type Gateway, type HttpHandler, type RouteGuard, startGateway } from './http-gateway.ts';
import { type FunctionStats, type LambdaHandler, LocalFunction } from './lambda-function.ts';
import { checkListenSettings, DEFAULT_HOST, isLoopback } from './listen.ts';
import { startPoller } from './poller.ts';
import { startLocalQueues } from './queues.ts';
import { type LocalRecords, startLocalRecords } from './records.ts';
import { RequestBudgets } from './request-budgets.ts';
import { localAccess, webhookVerifier } from './route-access.ts';
import { checksWebhookHost, type OwnOrigin, ownOrigin } from './same-origin.ts';
import { type LocalVault, localSecrets, localVault } from './secrets.ts';
import {
  applyConfig,
  checkRegistries,
  type RegistryCheckOptions,
  redriveUnfinished,
  restartScans,
} from './startup.ts';
import { secureStateFolder } from './state-folder.ts';
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
  /** The address to listen on; default 127.0.0.1. Off loopback it needs `tls` or `insecureHttp`. */
  host?: string;
  /** PEM files: HTTPS instead of HTTP. */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** Plain HTTP off loopback, said explicitly. */
  insecureHttp?: boolean;
  /**
   * AWS's limits as the stack would deploy them for this config (infra/limits.ts); tests shrink
   * them (a copy pool of 2, a copy timeout of seconds) to reach each limit quickly.
   */
  limits?: LimitOverrides;
  /** Bytes one MountOrCopyBlobs invocation sends before handing the upload on; default 1 GiB. */
  copyByteBudget?: number;
  /** Seconds a claim to copy a blob lasts unless renewed (tests shorten it). */
  blobClaimTtlSeconds?: number;
  /** The reconciler's period and thresholds; default the config's `reconcile` (minutes). */
  reconcile?: { everyMs?: number; staleAfterMs?: number; tooLongMs?: number };
  /** The first delay of a dead letter sent again; default 60 s. */
  deadLetterDelaySeconds?: number;
  /** How often expired leases are deleted; default 60 s. */
  sweepIntervalMs?: number;
  /**
   * How often policies with a `schedule` are looked at for a due run; default 60 s (the
   * deployed rule's minute). Tests shorten it (`serve`: env CROSSDOCK_SCHEDULE_TICK_MS).
   */
  scheduleTickMs?: number;
  /** Faults to inject (tests only). */
  faults?: RuntimeFaults;
  /** Extra routes (the management API). */
  routes?: { method: string; path: string; handler: HttpHandler; functionName: string; guard?: RouteGuard }[];
}

export interface Runtime {
  app: Crossdock;
  /** Where it is reached from this machine (loopback when it listens on every address). */
  url: string;
  /** The address it listens on and whether over HTTPS. */
  listen: { host: string; port: number; https: boolean };
  /** The token the API needs, and where it came from (never logged). */
  apiToken: ApiToken;
  /** The limits it runs with. */
  pipeline: PipelineLimits;
  /** Its Lambda functions, with their invocation, throttle and timeout counts. */
  functions: Record<string, { stats: FunctionStats }>;
  /** Runs the reconciler now, as its schedule would. */
  reconcile(): Promise<ReconcileResult>;
  /** Starts the runs of the policies whose schedule is due now, as the schedule's tick would. */
  startScheduledRuns(): Promise<DueRunsResult>;
  /** Asks each configured registry for `/v2/` with its credentials (startup.ts `checkRegistries`). */
  checkRegistries(options: RegistryCheckOptions): Promise<void>;
  stop(): Promise<void>;
}

const EXECUTION_ENDED_BADLY = new Set(['ABORTED', 'TIMED_OUT', 'FAILED']);
const STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:crossdock';
/** The function names local log lines carry, where they differ from `crossdock-<name>`. */
const LOCAL_NAMES: Partial<Record<ServiceFunction, string>> = {
  dispatcher: 'crossdock-dispatch',
  deadLetters: 'crossdock-dlq',
};

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, stateDir, faults = {} } = options;
  const host = options.host ?? DEFAULT_HOST;
  checkListenSettings({
    host,
    tlsCert: options.tls?.certFile,
    tlsKey: options.tls?.keyFile,
    insecureHttp: options.insecureHttp,
  });
  const tls = options.tls && (await readTls(options.tls));
  const folder = await secureStateFolder(stateDir);
  if (folder.tightened.length > 0) {
    logger.warn('the state folder was readable by others: made 0700, its files 0600', {
      stateDir,
      tightened: folder.tightened.length,
      paths: folder.tightened.slice(0, 20),
    });
  }
  // Always a token: without one any web page the operator opens could drive the API.
  const apiToken = await resolveApiToken({ configured: config.api.token, stateDir });
  const pipeline = pipelineLimits(config.limits, options.limits);
  const stopping: (() => Promise<void>)[] = [async () => folder.restoreUmask()];
  const stop = async () => {
    for (const step of stopping.splice(0).reverse()) {
      await step().catch((error) => logger.error('stopping the runtime', { error }));
    }
  };

  try {
    const records = await startLocalRecords({ dir: join(stateDir, 'records') });
    stopping.push(() => records.close());
    // Secrets live in the vault, as Secrets Manager keeps them apart when deployed.
    const vault = localVault(stateDir);
    await moveSecretsOutOfRecords(records, vault);
    const queues = await startLocalQueues({
      dataDir: join(stateDir, 'queues'),
      visibilityTimeoutSeconds: pipeline.jobQueue.visibilityTimeoutSeconds,
      maxReceiveCount: pipeline.jobQueue.maxReceiveCount,
    });
    stopping.push(() => queues.close());
    const sqs = faults.dropSend ? droppingSends(queues.client, faults.dropSend) : queues.client;

    // The pipeline's functions, each with its timeout and reserved concurrency.
    const fn = <E, R>(name: ServiceFunction, handler: LambdaHandler<E, R>) =>
      new LocalFunction(LOCAL_NAMES[name] ?? `crossdock-${name}`, handler, pipeline.functions[name]);
    const finalizer = fn('finalizer', finalizerHandler);
    const dispatcher = fn('dispatcher', async (event: SQSEvent, context) => {
      if (faults.dispatcherDown?.()) throw new Error('the dispatcher is down (an injected fault)');
      for (const record of event.Records) faults.dispatched?.(JSON.parse(record.body) as QueuedJob);
      return dispatchHandler(event, context);
    });
    const deadLetters = fn('deadLetters', deadLetterHandler);
    const reconciler = fn('reconciler', reconcilerHandler);
    const schedule = fn('schedule', scheduleHandler);

    let shuttingDown = false;
    const workflow = localWorkflow(pipeline);
    const executions = new LocalExecutions({
      definition: workflow.definition,
      taskHandlers: workflow.taskHandlers,
      stateMachineArn: STATE_MACHINE_ARN,
      retryIntervals: workflow.retryIntervals,
      // The EventBridge rule of the stack: executions that did not end by themselves.
      onEnded: async (ended) => {
        if (shuttingDown || !EXECUTION_ENDED_BADLY.has(ended.status)) return;
        await finalizer.invoke(statusChangeEvent(ended));
      },
    });

    // Enabling a policy scans in the background, as the deployed API's async invocation does.
    const scans = new Set<Promise<unknown>>();
    const stopScans = new AbortController();
    const app: Crossdock = new Crossdock({
      scans: {
        async start(request) {
          const scan = app
            .runScan(request, { signal: stopScans.signal })
            .then((result) =>
              logger.info(
                request.kind === 'cancel'
                  ? 'policy jobs cancelled'
                  : request.kind === 'sync'
                    ? 'policy run finished'
                    : 'scan finished',
                { ...result },
              ),
            )
            .catch((error) => logger.error('scan failed', { error, policy: request.policy }))
            .finally(() => scans.delete(scan));
          scans.add(scan);
        },
      },
      settings: {
        apiToken: apiToken.token,
        tableName: records.tableName,
        jobIndexes: records.jobIndexes,
        jobQueueUrl: queues.queueUrl,
        admittedQueueUrl: queues.admittedQueueUrl,
        stateMachineArn: STATE_MACHINE_ARN,
        limits: config.limits,
        copyByteBudget: options.copyByteBudget ?? DEFAULT_COPY_BYTE_BUDGET,
        leaseTtlSeconds: pipeline.leaseTtlSeconds,
        blobClaimTtlSeconds: options.blobClaimTtlSeconds,
        reconcile: {
          staleAfterMs: options.reconcile?.staleAfterMs ?? config.reconcile.staleAfterMinutes * 60_000,
          tooLongMs: options.reconcile?.tooLongMs ?? config.reconcile.tooLongMinutes * 60_000,
        },
        deadLetterDelaySeconds: options.deadLetterDelaySeconds ?? 60,
        recordsKeepDays: config.records.keepDays,
      },
      dynamo: records.client,
      sqs,
      executions: {
        async start(name, input) {
          // A name that ran before in this process counts as existing, as AWS answers it
          // (ExecutionAlreadyExists): the dispatcher then reads the job again, which may have ended.
          const before = executions.describe(executions.executionArn(name)).status;
          const { alreadyRunning } = await executions.start(name, input);
          return alreadyRunning || before !== 'UNKNOWN' ? 'existed' : 'started';
        },
        describe: async (executionArn) => executions.describe(executionArn),
      },
      vault,
      secret: localSecrets({ vault }),
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
      // Executions stopped here are not the jobs' end: the next start drives them on. Their
      // running tasks are aborted through their signals, so a copy stops within a chunk read.
      shuttingDown = true;
      await executions.stop();
    });

    await applyConfig(app, config);
    if (records.repair) {
      logger.warn('the last stop was not clean: the records were checked', { ...records.repair });
    }
    // Executions died with the last process: no slot is in use until jobs are admitted again.
    // The wake-ups still queued name slots that are gone with them; every unfinished job is
    // re-driven below, once (docs/architecture.md, "Admission").
    await app.leases.clearAll();
    await queues.client.send(new PurgeQueueCommand({ QueueUrl: queues.admittedQueueUrl }));
    const redriven = await redriveUnfinished(app);
    await restartScans(app);

    // The dispatcher reads the jobs queue and the admitted jobs' queue, each with its own share
    // of its concurrency (infra/limits.ts).
    for (const [queueUrl, queueArn, source] of [
      [queues.queueUrl, queues.queueArn, pipeline.dispatcherSource],
      [queues.admittedQueueUrl, queues.admittedQueueArn, pipeline.admittedSource],
    ] as const) {
      const poller = startPoller({
        client: queues.client,
        queueUrl,
        queueArn,
        handler: (event) => dispatcher.invoke(event),
        concurrency: source.maxConcurrency,
        batchSize: source.batchSize,
        waitTimeSeconds: 1,
      });
      stopping.push(() => poller.stop());
    }
    const deadLetterPoller = startPoller({
      client: queues.client,
      queueUrl: queues.deadLetterQueueUrl,
      queueArn: queues.deadLetterQueueArn,
      handler: (event) => deadLetters.invoke(event),
      concurrency: 1,
      batchSize: 10,
      waitTimeSeconds: 1,
    });
    stopping.push(() => deadLetterPoller.stop());

    // What DynamoDB's TTL and the stack's schedules do when deployed.
    const every = (ms: number, work: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => {
        work().catch((error) => logger.warn(`${what} failed`, { error }));
      }, ms);
      timer.unref();
      stopping.push(async () => clearInterval(timer));
    };
    every(options.sweepIntervalMs ?? 60_000, () => sweepExpired(records.client, records.tableName), 'sweep');
    const reconcile = () => reconciler.invoke({});
    every(options.reconcile?.everyMs ?? config.reconcile.everyMinutes * 60_000, reconcile, 'reconciling');
    // The stack's rule of scheduled policy runs: each tick starts the runs that are due.
    const startScheduledRuns = () => schedule.invoke({});
    every(options.scheduleTickMs ?? SCHEDULE_TICK_MS, startScheduledRuns, 'starting scheduled policy runs');

    let own: OwnOrigin | undefined;
    const access = localAccess({
      own: () => {
        own ??= ownOrigin({ host, port: gatewayPort(), scheme: tls ? 'https' : 'http' });
        return own;
      },
      webhookHostCheck: checksWebhookHost(host),
      apiToken: apiToken.token,
      verifiesWebhook: webhookVerifier((name) => app.webhookPorts.source(name)),
      budgets: new RequestBudgets(),
      limits: LOCAL_REQUEST_BUDGETS,
    });
    const gateway: Gateway = await startGateway({
      port: options.port,
      host,
      ...(tls ? { tls } : {}),
      maxBodyBytes: MAX_REQUEST_BODY_BYTES,
      routes: [
        {
          method: 'POST',
          path: '/webhooks/{source}',
          handler: webhookHandler,
          functionName: 'crossdock-webhook',
          guard: access.webhook,
        },
        { method: 'GET', path: '/health', handler: healthHandler, functionName: 'crossdock-health' },
        {
          method: 'ANY',
          path: '/api',
          handler: apiHandler,
          functionName: 'crossdock-api',
          guard: access.api,
        },
        {
          method: 'ANY',
          path: '/api/{proxy+}',
          handler: apiHandler,
          functionName: 'crossdock-api',
          guard: access.api,
        },
        ...(options.routes ?? []),
      ],
      onError: (error, request) => logger.error('request failed', { error, ...request }),
    });
    stopping.push(() => gateway.close());
    function gatewayPort() {
      return (gateway.server.address() as AddressInfo).port;
    }

    const listening = `${host}:${options.port} over ${tls ? 'HTTPS' : 'plain HTTP'}`;
    logger.info(
      `crossdock is listening on ${listening}: webhooks at ${gateway.url}/webhooks/{source}, API at ${gateway.url}/api, state in ${stateDir}`,
      { url: gateway.url, host, https: tls !== undefined, stateDir, redriven },
    );
    if (!tls && !isLoopback(host)) {
      logger.warn(
        `--insecure-http: listening on ${host} over plain HTTP, so the API token and webhook secrets cross the network readable`,
      );
    }
    return {
      app,
      url: gateway.url,
      listen: { host, port: gatewayPort(), https: tls !== undefined },
      apiToken,
      pipeline,
      functions: { ...workflow.functions, dispatcher, deadLetters, finalizer, reconciler, schedule },
      reconcile,
      startScheduledRuns,
      // The records' registries: the config file's, applied at start, and those added through the API.
      checkRegistries: async (checkOptions) =>
        checkRegistries(app, await app.config.listRegistries(), checkOptions),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The certificate and key, read once at start; a missing file is named. */
async function readTls(files: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (file: string, flag: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ListenSettingsError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
  };
  return { cert: await read(files.certFile, '--tls-cert'), key: await read(files.keyFile, '--tls-key') };
}

/**
 * Records written by an older crossdock hold registry passwords and webhook secrets in clear:
 * they move into the vault, and the records' LevelDB is compacted so that the old values leave
 * its files too (dynalite would otherwise keep them in its log until LevelDB compacts by itself).
 */
async function moveSecretsOutOfRecords(records: LocalRecords, vault: LocalVault): Promise<void> {
  const config = new VaultedConfigStore(new ConfigStore(records.client, records.tableName), vault);
  const moved = await config.vaultPlainSecrets();
  if (moved.length === 0) return;
  await records.compact();
  logger.warn('secrets found in clear in the records moved to the vault; the records were compacted', {
    moved,
    vault: vault.file,
  });
}

/** The EventBridge event of an execution that ended, as the stack's status rule delivers it. */
function statusChangeEvent(ended: ExecutionEnded) {
  return {
    version: '0',
    id: ended.name,
    'detail-type': 'Step Functions Execution Status Change' as const,
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
  };
}
