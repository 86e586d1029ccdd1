import { ArnFormat, CfnOutput, type Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import {
  DEFAULT_COPY_BYTE_BUDGET,
  DEFAULT_HTTP_THROTTLE,
  DEFAULT_LIMITS,
  DEFAULT_RECORDS_KEEP_DAYS,
} from '../../functions/lib/config/defaults.ts';
import { type Limits, type ReconcileSettings, reconcileSchema } from '../../functions/lib/config/schema.ts';
import { type PipelineLimits, pipelineLimits, poolProblems } from '../limits.ts';
import { PipelineAlarms } from './alarms.ts';
import { JobQueue } from './job-queue.ts';
import { type IndexMigrationStep, JobStore } from './job-store.ts';
import { ManagementApi } from './management-api.ts';
import { Dispatch } from './pipeline.ts';
import { PolicySchedule } from './policy-schedule.ts';
import { Reconciler } from './reconciler.ts';
import { WebhookApi } from './webhook-api.ts';
import { ReplicationWorkflow } from './workflow.ts';

export interface CrossdockStackProps extends StackProps {
  /** The config's `limits`: jobs running at once overall and per destination, blobs per job. */
  limits?: Partial<Limits>;
  /** Reserved concurrency of the dispatcher (default 2). */
  dispatcherConcurrency?: number;
  /** The SQS event source's maxConcurrency (default 2, AWS's minimum). */
  dispatcherMaxConcurrency?: number;
  /** Messages per dispatcher invocation (default 10). */
  dispatchBatchSize?: number;
  /**
   * Reserved concurrency of the blob-copying function: the IO worker pool. Default: what
   * admission lets run at once, runningJobs × blobsPerJob; a smaller pool is refused.
   */
  transferConcurrency?: number;
  /** Bytes one MountOrCopyBlobs invocation sends before handing the upload on (default 1 GiB). */
  copyByteBudgetMiB?: number;
  /** Longest a job attempt may run (default 2 hours). */
  executionTimeout?: Duration;
  /** Requests per second and burst the webhook API accepts (default 50 / 100). */
  webhookThrottle?: { rate: number; burst: number };
  /** The reconciler's schedule and thresholds (config `reconcile`; default every 5 min, stale after 10, too long after 60). */
  reconcile?: Partial<ReconcileSettings>;
  /** Days a finished job's record is kept before DynamoDB's TTL deletes it (config `records.keepDays`; default 30). */
  recordsKeepDays?: number;
  /** Run the functions that reach registries in this VPC (private registries). */
  vpc?: IVpc;
  /**
   * A step of a deployed table's move to keys-only indexes (context `indexMigrationStep`, 1–3,
   * one deploy each; docs/deploy.md). Unset: the keys-only indexes alone (a new stack, or the last step).
   */
  indexMigrationStep?: IndexMigrationStep | undefined;
}

/** crossdock on AWS: webhook API → jobs queue → dispatcher → Step Functions → DynamoDB records. */
export class CrossdockStack extends Stack {
  readonly store: JobStore;
  readonly jobQueue: JobQueue;
  readonly webhooks: WebhookApi;
  readonly workflow: ReplicationWorkflow;
  readonly dispatch: Dispatch;
  readonly alarms: PipelineAlarms;
  readonly management: ManagementApi;
  readonly reconciler: Reconciler;
  readonly policySchedule: PolicySchedule;
  /** The limits it deploys (infra/limits.ts): what the local runtime enforces too. */
  readonly pipeline: PipelineLimits;

  constructor(scope: Construct, id: string, props: CrossdockStackProps = {}) {
    super(scope, id, props);
    const limits: Limits = { ...DEFAULT_LIMITS, ...props.limits };
    const pipeline = pipelineLimits(limits, {
      transferConcurrency: props.transferConcurrency,
      dispatcherConcurrency: props.dispatcherConcurrency,
      dispatcherMaxConcurrency: props.dispatcherMaxConcurrency,
      dispatchBatchSize: props.dispatchBatchSize,
      executionTimeoutSeconds: props.executionTimeout?.toSeconds(),
    });
    const problems = poolProblems(pipeline);
    if (problems.length > 0) throw new Error(`crossdock cannot be deployed so: ${problems.join('; ')}`);
    this.pipeline = pipeline;
    this.store = new JobStore(this, 'Records', { indexMigrationStep: props.indexMigrationStep });
    this.jobQueue = new JobQueue(this, 'Queue', pipeline.jobQueue);
    const environment = {
      TABLE_NAME: this.store.table.tableName,
      JOB_INDEXES: `${this.store.queriedIndexes.byPolicy},${this.store.queriedIndexes.byStatus}`,
      JOB_QUEUE_URL: this.jobQueue.queue.queueUrl,
      ADMITTED_QUEUE_URL: this.jobQueue.admitted.queueUrl,
      RUNNING_JOBS: String(limits.runningJobs),
      PER_DESTINATION: String(limits.perDestination),
      BLOBS_PER_JOB: String(limits.blobsPerJob),
      COPY_BYTE_BUDGET: String(
        props.copyByteBudgetMiB === undefined
          ? DEFAULT_COPY_BYTE_BUDGET
          : props.copyByteBudgetMiB * 1024 * 1024,
      ),
      // A running slot outlives the longest execution, so admission never over-commits.
      LEASE_TTL_SECONDS: String(pipeline.leaseTtlSeconds),
      // Final job records carry `expiresAt` this many days after they finished (the table's TTL).
      RECORDS_KEEP_DAYS: String(props.recordsKeepDays ?? DEFAULT_RECORDS_KEEP_DAYS),
      POWERTOOLS_METRICS_NAMESPACE: 'crossdock',
    };

    this.workflow = new ReplicationWorkflow(this, 'Workflow', { environment, pipeline, vpc: props.vpc });
    const workEnvironment = { ...environment, STATE_MACHINE_ARN: this.workflow.stateMachine.stateMachineArn };
    this.webhooks = new WebhookApi(this, 'Webhooks', {
      environment: workEnvironment,
      throttle: props.webhookThrottle ?? DEFAULT_HTTP_THROTTLE,
      pipeline,
    });
    this.dispatch = new Dispatch(this, 'Dispatch', {
      environment: workEnvironment,
      queue: this.jobQueue.queue,
      admittedQueue: this.jobQueue.admitted,
      deadLetterQueue: this.jobQueue.deadLetterQueue,
      stateMachine: this.workflow.stateMachine,
      pipeline,
    });

    this.reconciler = new Reconciler(this, 'Reconciler', {
      environment: workEnvironment,
      stateMachine: this.workflow.stateMachine,
      deadLetterQueue: this.dispatch.eventDeadLetters,
      pipeline,
      settings: reconcileSchema.parse(props.reconcile ?? {}),
    });

    this.management = new ManagementApi(this, 'Management', {
      api: this.webhooks.api,
      environment: workEnvironment,
      pipeline,
      vpc: props.vpc,
    });

    this.policySchedule = new PolicySchedule(this, 'PolicySchedule', {
      environment: workEnvironment,
      scanFunction: this.management.scanFunction,
      deadLetterQueue: this.dispatch.eventDeadLetters,
      pipeline,
    });

    // Least privilege: each function gets the table and queue rights its role needs.
    const table = this.store.table;
    // The schedule reads policies and claims their runs; the runs record as scans do.
    table.grantReadWriteData(this.policySchedule.function);
    table.grantReadWriteData(this.webhooks.webhookFunction);
    table.grantReadData(this.webhooks.healthFunction);
    this.jobQueue.grantSend(this.webhooks.webhookFunction);
    for (const fn of [
      this.dispatch.dispatchFunction,
      this.dispatch.finalizerFunction,
      this.dispatch.deadLetterFunction,
      this.reconciler.function,
    ]) {
      table.grantReadWriteData(fn);
    }
    // Ending a job may hand its tag on (a message); the DLQ consumer and the reconciler re-send.
    for (const fn of [
      this.dispatch.finalizerFunction,
      this.dispatch.deadLetterFunction,
      this.reconciler.function,
    ]) {
      this.jobQueue.grantSend(fn);
    }
    for (const fn of [this.management.apiFunction, this.management.scanFunction]) {
      table.grantReadWriteData(fn);
      this.jobQueue.grantSend(fn);
    }
    const registryCredentials = new PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [
        this.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: 'crossdock/*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    for (const fn of this.workflow.functions) {
      table.grantReadWriteData(fn);
      fn.addToRolePolicy(registryCredentials);
    }
    this.management.scanFunction.addToRolePolicy(registryCredentials);
    // Deployed, the secrets of registries and webhook sources live in Secrets Manager, not in
    // the records: the API keeps them there (and reads the registries' ones for
    // `GET /api/policies/{name}/drift`), the webhook reads the sources' ones.
    const keptSecrets = (kind: string) =>
      this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `crossdock/${kind}/*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    this.management.apiFunction.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:DeleteSecret',
          'secretsmanager:GetSecretValue',
        ],
        resources: [keptSecrets('registry'), keptSecrets('source')],
      }),
    );
    this.webhooks.webhookFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [keptSecrets('source')] }),
    );
    // The tasks that end a job (FetchManifest SKIPPED (a push or a delete), PushManifest and
    // DeleteManifest SUCCEEDED, RecordState FAILED/CANCELLED) hand its tag to a newer digest that
    // arrived meanwhile (a job message) and its slot to the next job in line (an admitted one).
    for (const fn of this.workflow.jobEndingFunctions) this.jobQueue.grantSend(fn);

    this.alarms = new PipelineAlarms(this, 'Alarms', {
      eventDeadLetters: this.dispatch.eventDeadLetters,
      stateMachine: this.workflow.stateMachine,
      throttled: [this.workflow.transferFunction, this.dispatch.dispatchFunction],
    });
    new CfnOutput(this, 'WebhookUrl', {
      value: `${this.webhooks.api.apiEndpoint}/webhooks/`,
      description: 'POST /webhooks/{source}',
    });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'ApiUrl', {
      value: this.webhooks.api.apiEndpoint,
      description: 'crossdock --api (CROSSDOCK_API_URL)',
    });
    new CfnOutput(this, 'ApiTokenSecret', {
      value: this.management.token.secretName,
      description: 'the API bearer token: aws secretsmanager get-secret-value --secret-id <this>',
    });
  }
}
