import { readFileSync } from 'node:fs';
import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_FUNCTION_NAMES, WORKFLOW_FUNCTIONS } from '../../../functions/lib/workflow/functions.ts';
import { INDEX_MIGRATION_STEPS } from '../../../infra/aws/job-store.ts';
import { acknowledgeNagFindings } from '../../../infra/aws/nag.ts';
import { CrossdockStack, type CrossdockStackProps } from '../../../infra/aws/stack.ts';
import { forEachState, taskStates, WORKFLOW_FILE } from '../../../infra/workflow.ts';

/**
 * The stack as `cdk synth` builds it, without bundling (context `aws:cdk:bundling-stacks: []`),
 * checked with CDK assertions and cdk-nag. `cdk synth` with bundling runs in the README's
 * deploy path; here only what the template says is the point.
 */

const PROPS: CrossdockStackProps = {
  limits: { runningJobs: 12, perDestination: 3, blobsPerJob: 5 },
  dispatcherConcurrency: 3,
  dispatcherMaxConcurrency: 3,
  dispatchBatchSize: 7,
  transferConcurrency: 64,
  executionTimeout: Duration.minutes(90),
};

function synthesize(props: CrossdockStackProps = PROPS, acknowledge = true) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CrossdockStack(app, 'Crossdock', props);
  if (acknowledge) acknowledgeNagFindings(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

let stack: CrossdockStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = synthesize());
});

const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);

/** The rendered state machine definition (Fn::Join of strings and ARNs) as text with placeholders for the ARNs. */
// biome-ignore lint/suspicious/noExplicitAny: the ASL is read as plain JSON.
function definition(): Record<string, any> {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const machine = Object.values(machines)[0] as { Properties: { DefinitionString: unknown } };
  const text = JSON.stringify(machine.Properties.DefinitionString);
  const joined = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : 'arn:function'))
    .join('');
  expect(text).toContain('Fn::GetAtt');
  return JSON.parse(joined);
}

/** The table's indexes (name → key attributes, projection) and the index names every function is told. */
function tableIndexes(template: Template) {
  const [table] = Object.values(template.findResources('AWS::DynamoDB::Table')) as {
    Properties: {
      GlobalSecondaryIndexes: {
        IndexName: string;
        KeySchema: { AttributeName: string }[];
        Projection: { ProjectionType: string };
      }[];
    };
  }[];
  const indexes = Object.fromEntries(
    (table?.Properties.GlobalSecondaryIndexes ?? []).map((index) => [
      index.IndexName,
      { keys: index.KeySchema.map((key) => key.AttributeName), projection: index.Projection.ProjectionType },
    ]),
  );
  const variables = Object.values(template.findResources('AWS::Lambda::Function')).map(
    (fn) =>
      (fn as { Properties: { Environment?: { Variables?: Record<string, string> } } }).Properties.Environment
        ?.Variables ?? {},
  );
  // Every function that reads the records is told which indexes to query.
  const told = new Set(variables.filter((v) => v.TABLE_NAME !== undefined).map((v) => v.JOB_INDEXES));
  expect(told.size, 'every function of the records is told the same index names').toBe(1);
  const [names] = [...told];
  return { indexes, queried: names?.split(',') ?? [] };
}

describe('the CDK stack', () => {
  it('runs every function on Node 22, ARM64, with tracing', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(15);
    for (const fn of Object.values(functions) as { Properties: Record<string, unknown> }[]) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('throttles the dispatcher by reserved concurrency and event-source maxConcurrency, with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      // 3 for the jobs queue, 2 kept for the admitted jobs' queue.
      ReservedConcurrentExecutions: 5,
      Environment: {
        Variables: Match.objectLike({
          RUNNING_JOBS: '12',
          PER_DESTINATION: '3',
          BLOBS_PER_JOB: '5',
          // The 90-minute execution timeout and a margin: a slot never expires under a live job.
          LEASE_TTL_SECONDS: String(90 * 60 + 300),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack.dispatch.dispatchFunction) },
      BatchSize: 7,
      ScalingConfig: { MaximumConcurrency: 3 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('dispatches jobs admitted to a freed slot from a queue of their own, beside the jobs queue’s backlog', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack.dispatch.dispatchFunction) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.jobQueue.admitted), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.jobQueue.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ADMITTED_QUEUE_URL: { Ref: logicalId(stack.jobQueue.admitted) } }),
      },
    });
  });

  it('expires final job records by the table’s TTL on expiresAt, after recordsKeepDays (default 30)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ RECORDS_KEEP_DAYS: '30' }) },
    });
    const kept = synthesize({ ...PROPS, recordsKeepDays: 7 }).template;
    kept.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ RECORDS_KEEP_DAYS: '7' }) },
    });
  });

  it('indexes jobs by policy and by status with keys only, and tells every function their names', () => {
    const { indexes, queried } = tableIndexes(template);
    expect(indexes).toEqual({
      jobsByPolicy: { keys: ['gsi1pk', 'gsi1sk'], projection: 'KEYS_ONLY' },
      jobsByStatus: { keys: ['gsi2pk', 'gsi2sk'], projection: 'KEYS_ONLY' },
    });
    expect(queried).toEqual(['jobsByPolicy', 'jobsByStatus']);
  });

  it('moves a table with the older ALL-projected indexes to keys-only ones one index per deploy, never querying one still being built', () => {
    // Before the move: the stack as it was deployed until 2026-12-01.
    let before = {
      indexes: {
        gsi1: { keys: ['gsi1pk', 'gsi1sk'], projection: 'ALL' },
        gsi2: { keys: ['gsi2pk', 'gsi2sk'], projection: 'ALL' },
      } as Record<string, { keys: string[]; projection: string }>,
      queried: ['gsi1', 'gsi2'],
    };
    for (const step of [...INDEX_MIGRATION_STEPS, undefined]) {
      const after = tableIndexes(synthesize({ ...PROPS, indexMigrationStep: step }).template);
      const names = (layout: typeof before) => new Set(Object.keys(layout.indexes));
      const added = [...names(after)].filter((name) => !names(before).has(name));
      const dropped = [...names(before)].filter((name) => !names(after).has(name));
      // CloudFormation creates or deletes one index per update; none changes in place.
      expect(added.length + dropped.length, `step ${step}`).toBe(1);
      for (const name of names(after)) {
        if (names(before).has(name))
          expect(after.indexes[name], `${name} at step ${step}`).toEqual(before.indexes[name]);
      }
      // The functions query only indexes the deploy before already had (and that one stays).
      for (const name of after.queried) {
        expect(names(before).has(name) && names(after).has(name), `${name} at step ${step}`).toBe(true);
      }
      expect(after.queried).toHaveLength(2);
      before = after;
    }
    expect(Object.keys(before.indexes).sort()).toEqual(['jobsByPolicy', 'jobsByStatus']);
  });

  it('deploys one function per entry of the workflow functions’ table, each its own handler with the table’s timeout and memory', () => {
    for (const name of WORKFLOW_FUNCTION_NAMES) {
      const spec = WORKFLOW_FUNCTIONS[name];
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: `index.handlers.${name}`,
        Timeout: spec.timeoutSeconds,
        MemorySize: spec.memoryMiB,
        Description: spec.description,
      });
    }
  });

  it('bounds the blob transfers by the copy function’s reserved concurrency', () => {
    const copy = template.findResources('AWS::Lambda::Function', {
      Properties: { ReservedConcurrentExecutions: 64 },
    });
    expect(Object.keys(copy)).toEqual([logicalId(stack.workflow.transferFunction)]);
  });

  it('sizes the copy pool from admission when unset, and refuses one smaller than runningJobs × blobsPerJob', () => {
    const derived = synthesize({ limits: { runningJobs: 6, blobsPerJob: 3 } });
    expect(derived.stack.pipeline.functions.MountOrCopyBlobs.reservedConcurrency).toBe(18);
    derived.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handlers.MountOrCopyBlobs',
      ReservedConcurrentExecutions: 18,
    });

    expect(() => synthesize({ ...PROPS, transferConcurrency: 20 })).toThrow(
      /transferConcurrency 20 is smaller than runningJobs × blobsPerJob = 12 × 5 = 60/,
    );
  });

  it('refuses a dispatcher event source that could take the invocations kept for the admitted queue', () => {
    expect(() => synthesize({ ...PROPS, dispatcherConcurrency: 2, dispatcherMaxConcurrency: 3 })).toThrow(
      /dispatcherMaxConcurrency 3 is more than dispatcherConcurrency 2/,
    );
  });

  it('gives every state longer than its function may run, and retries throttles for minutes and timeouts', () => {
    const asl = definition();
    const deployedTimeout = new Map(
      Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => {
        const properties = (fn as { Properties: { Handler: string; Timeout: number } }).Properties;
        return [properties.Handler, properties.Timeout];
      }),
    );
    // Which function each state calls, from the ASL's own placeholders.
    const calls = taskStates(readFileSync(WORKFLOW_FILE, 'utf8'));
    let checked = 0;
    forEachState(asl, (name, state) => {
      if (state.Type !== 'Task') return;
      const fn = /^\$\{(\w+)FunctionArn\}$/.exec(calls.get(name) ?? '')?.[1];
      const functionTimeout = deployedTimeout.get(`index.handlers.${fn}`) as number;
      expect(functionTimeout, name).toBeGreaterThan(0);
      expect((state as { TimeoutSeconds: number }).TimeoutSeconds, name).toBeGreaterThan(functionTimeout);
      const retry = state.Retry as { ErrorEquals: string[]; MaxAttempts: number; MaxDelaySeconds?: number }[];
      const throttles = retry.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
      expect(throttles?.MaxAttempts, name).toBeGreaterThanOrEqual(10);
      expect(throttles?.MaxDelaySeconds, name).toBe(60);
      const timedOut = retry.find((r) => r.ErrorEquals.includes('States.Timeout'));
      expect(timedOut?.ErrorEquals, name).toEqual(['States.Timeout', 'Sandbox.Timedout', 'Lambda.Unknown']);
      checked++;
    });
    expect(checked).toBe(6);
  });

  it('reconciles on a schedule, with table, queue and execution reads; passes the lease TTL and its thresholds', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.reconciler.function), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: 300,
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          STALE_AFTER_MINUTES: '10',
          TOO_LONG_MINUTES: '60',
          LEASE_TTL_SECONDS: '5700',
        }),
      },
    });
  });

  it('starts scheduled policy runs from a rule of its own each minute, on the scan function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.policySchedule.function), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Starts the reconciliation runs of policies whose schedule is due',
      ReservedConcurrentExecutions: 1,
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          SCAN_FUNCTION_NAME: { Ref: logicalId(stack.management.scanFunction) },
        }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [logicalId(stack.management.scanFunction), 'Arn'] }]),
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('PolicySchedule') }],
    });
  });

  it('alarms when a scheduled policy run found drift (events are being missed)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'crossdock',
      MetricName: 'ScheduledDriftFound',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('sends job messages that keep failing to a dead-letter queue, whose consumer records them', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.jobQueue.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      },
      // Six times the dispatcher's timeout.
      VisibilityTimeout: 360,
    });
    // Its consumer's visibility timeout is six times the consumer's own timeout (60 s), not the
    // 30 s default under which a slow batch would be delivered again mid-way.
    const deadLetters = template.toJSON().Resources[logicalId(stack.jobQueue.deadLetterQueue)];
    expect(deadLetters.Properties.VisibilityTimeout).toBe(360);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack.dispatch.deadLetterFunction) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.jobQueue.deadLetterQueue), 'Arn'] },
    });
  });

  it('alarms on dead letters arriving, failed jobs, jobs waiting too long, repairs, throttles, lost events and timeouts', () => {
    for (const metric of ['DeadLetters', 'JobsFailed', 'JobsWaitingTooLong', 'ReconcilerRepairs']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'crossdock',
        MetricName: metric,
        Threshold: 0,
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.workflow.transferFunction) } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.dispatch.eventDeadLetters), 'QueueName'] },
        },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsTimedOut',
    });
    // A cancelled job's execution ends in a Fail state now: failed executions would page on cancels.
    expect(
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
        (alarm) => (alarm as { Properties: { MetricName?: string } }).Properties.MetricName,
      ),
    ).not.toContain('ExecutionsFailed');
  });

  it('calls the finalizer for executions that ended ABORTED, TIMED_OUT or FAILED', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [{ Ref: Match.anyValue() }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.dispatch.finalizerFunction), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [logicalId(stack.dispatch.eventDeadLetters), 'Arn'] },
          },
        }),
      ],
    });
  });

  it('builds the state machine from the ASL file: the substates, the limits, logs and tracing', () => {
    const asl = definition();
    expect(Object.keys(asl.States)).toEqual(
      expect.arrayContaining([
        'FetchManifest',
        'Route',
        'CopyBlobs',
        'PushManifest',
        'Skipped',
        'DeleteManifest',
        'RecordFailed',
        'RecordCancelled',
      ]),
    );
    expect(asl.States.CopyBlobs.MaxConcurrency).toBe(5);
    expect(asl.TimeoutSeconds).toBe(90 * 60);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      TracingConfiguration: { Enabled: true },
    });
  });

  it('serves POST /webhooks/{source} and GET /health, throttled', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/{source}' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('serves the management API behind a bearer-token Lambda authorizer, the token in Secrets Manager', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /api/{proxy+}',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'crossdock/api-token',
      GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SCAN_FUNCTION_NAME: { Ref: logicalId(stack.management.scanFunction) },
        }),
      },
    });
  });

  it('grants each function only what its role needs', () => {
    const statementsOf = (fn: { role?: { node: { defaultChild?: unknown } } | undefined }) => {
      const roleId = logicalId(fn.role as { node: { defaultChild?: unknown } });
      const policies = template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: roleId }] },
      });
      return JSON.stringify(
        Object.values(policies).map(
          (p) =>
            (p as { Properties: { PolicyDocument: { Statement: unknown } } }).Properties.PolicyDocument
              .Statement,
        ),
      );
    };
    const dispatcher = statementsOf(stack.dispatch.dispatchFunction);
    expect(dispatcher).toContain('states:StartExecution');
    expect(dispatcher).not.toContain('secretsmanager');

    const webhook = statementsOf(stack.webhooks.webhookFunction);
    expect(webhook).toContain('sqs:SendMessage');
    expect(webhook).not.toContain('states:StartExecution');
    expect(webhook).toContain('secret:crossdock/source/*');
    expect(webhook).not.toContain('secretsmanager:PutSecretValue');
    expect(webhook).not.toContain('secret:crossdock/registry/*');

    const health = statementsOf(stack.webhooks.healthFunction);
    expect(health).not.toContain('dynamodb:PutItem');

    const api = statementsOf(stack.management.apiFunction);
    expect(api).toContain('lambda:InvokeFunction');
    expect(api).toContain('secretsmanager:PutSecretValue');
    expect(api).not.toContain('secret:crossdock/*');
    expect(api).not.toContain('states:StartExecution');

    const authorizer = statementsOf(stack.management.authorizerFunction);
    expect(authorizer).toContain('secretsmanager:GetSecretValue');
    expect(authorizer).not.toContain('dynamodb');

    // Every task that ends a job hands its tag and its slot on: both queues, or the end fails deployed.
    const admittedQueue = logicalId(stack.jobQueue.admitted);
    const jobsQueue = logicalId(stack.jobQueue.queue);
    expect(stack.workflow.jobEndingFunctions).toHaveLength(stack.workflow.functions.length - 1);
    for (const ending of [...stack.workflow.jobEndingFunctions, stack.dispatch.finalizerFunction]) {
      const statements = statementsOf(ending);
      expect(statements).toContain('sqs:SendMessage');
      expect(statements).toContain(admittedQueue);
      expect(statements).toContain(jobsQueue);
    }

    const copy = statementsOf(stack.workflow.transferFunction);
    expect(copy).toContain('secretsmanager:GetSecretValue');
    expect(copy).toContain('secret:crossdock/*');
    expect(copy).not.toContain('states:StartExecution');
  });

  it('passes cdk-nag (AwsSolutions), every acknowledged finding with a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('fails cdk-nag without the acknowledgements (the check is live)', () => {
    const { stack: bare } = synthesize(PROPS, false);
    const report = new AwsSolutionsChecks().validateScope(bare);
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-APIG4']));
  });
});
