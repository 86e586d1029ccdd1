import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CrossdockFunction } from './function.ts';

export interface DispatcherProps {
  environment: Record<string, string>;
  queue: Queue;
  deadLetterQueue: Queue;
  stateMachine: StateMachine;
  timeout: Duration;
  /** Reserved concurrency of the dispatcher: with maxConcurrency, the rate at which jobs start. */
  reservedConcurrency: number;
  maxConcurrency: number;
  batchSize: number;
}

/**
 * The dispatcher (jobs queue → admission → StartExecution), the finalizer (executions that
 * ended without a final state) and the dead-letter consumer (every dead message recorded FAILED).
 */
export class Dispatch extends Construct {
  readonly dispatchFunction: CrossdockFunction;
  readonly finalizerFunction: CrossdockFunction;
  readonly deadLetterFunction: CrossdockFunction;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    this.dispatchFunction = new CrossdockFunction(this, 'Dispatcher', {
      entry: 'functions/dispatch/handler',
      description: 'Admits queued jobs within the limits and starts one execution per job attempt',
      environment: props.environment,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
    });
    this.dispatchFunction.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    props.stateMachine.grantStartExecution(this.dispatchFunction);
    props.queue.grantSendMessages(this.dispatchFunction);

    this.finalizerFunction = new CrossdockFunction(this, 'Finalizer', {
      entry: 'functions/finalizer/handler',
      description:
        'Records executions that ended ABORTED, TIMED_OUT or FAILED without a final state; releases leases',
      environment: props.environment,
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
      targets: [
        new LambdaFunction(this.finalizerFunction, { retryAttempts: 8, maxEventAge: Duration.hours(2) }),
      ],
    });

    this.deadLetterFunction = new CrossdockFunction(this, 'DeadLetters', {
      entry: 'functions/dlq/handler',
      description: 'Records every job message that reached the dead-letter queue as FAILED',
      environment: props.environment,
    });
    this.deadLetterFunction.addEventSource(
      new SqsEventSource(props.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
  }
}
