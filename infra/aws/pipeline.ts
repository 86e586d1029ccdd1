import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PipelineLimits } from '../limits.ts';
import { CrossdockFunction } from './function.ts';

export interface DispatcherProps {
  environment: Record<string, string>;
  queue: Queue;
  /** Jobs admitted to a freed slot: the dispatcher's second event source. */
  admittedQueue: Queue;
  deadLetterQueue: Queue;
  stateMachine: StateMachine;
  /** The dispatcher's reserved concurrency and event source, the functions' timeouts (infra/limits.ts). */
  pipeline: PipelineLimits;
}

/**
 * The dispatcher (jobs queue → admission → StartExecution), the finalizer (executions that
 * ended without a final state) and the dead-letter consumer (every dead message recorded FAILED).
 */
export class Dispatch extends Construct {
  readonly dispatchFunction: CrossdockFunction;
  readonly finalizerFunction: CrossdockFunction;
  readonly deadLetterFunction: CrossdockFunction;
  /** Execution-status and schedule events no function could take. */
  readonly eventDeadLetters: Queue;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    const { functions, dispatcherSource } = props.pipeline;
    this.dispatchFunction = new CrossdockFunction(this, 'Dispatcher', {
      entry: 'functions/dispatch/handler',
      description: 'Admits queued jobs within the limits and starts one execution per job attempt',
      environment: props.environment,
      timeout: Duration.seconds(functions.dispatcher.timeoutSeconds),
      reservedConcurrentExecutions: functions.dispatcher.reservedConcurrency,
    });
    // The jobs queue and the admitted jobs' queue, each its own share of the reserved concurrency
    // (infra/limits.ts): a hand-off is dispatched while the jobs queue holds a backlog.
    for (const [queue, source] of [
      [props.queue, dispatcherSource],
      [props.admittedQueue, props.pipeline.admittedSource],
    ] as const) {
      this.dispatchFunction.addEventSource(
        new SqsEventSource(queue, {
          batchSize: source.batchSize,
          maxConcurrency: source.maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );
      queue.grantSendMessages(this.dispatchFunction);
    }
    props.stateMachine.grantStartExecution(this.dispatchFunction);
    this.eventDeadLetters = new Queue(this, 'EventDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.finalizerFunction = new CrossdockFunction(this, 'Finalizer', {
      entry: 'functions/finalizer/handler',
      description:
        'Records executions that ended ABORTED, TIMED_OUT or FAILED without a final state; releases leases',
      environment: props.environment,
      timeout: Duration.seconds(functions.finalizer.timeoutSeconds),
    });
    new Rule(this, 'ExecutionEnded', {
      description: 'crossdock executions that did not end by themselves',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
        },
      },
      // A delivery the function cannot take is tried again, then kept in a queue of its own (an
      // alarm watches it); the reconciler finds the job either way.
      targets: [
        new LambdaFunction(this.finalizerFunction, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: this.eventDeadLetters,
        }),
      ],
    });

    this.deadLetterFunction = new CrossdockFunction(this, 'DeadLetters', {
      entry: 'functions/dlq/handler',
      description: 'Records every job message that reached the dead-letter queue as FAILED',
      environment: props.environment,
      timeout: Duration.seconds(functions.deadLetters.timeoutSeconds),
    });
    this.deadLetterFunction.addEventSource(
      new SqsEventSource(props.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
  }
}
