import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SCHEDULE_TICK_MS } from '../../functions/lib/config/defaults.ts';
import type { PipelineLimits } from '../limits.ts';
import { CrossdockFunction } from './function.ts';

export interface PolicyScheduleProps {
  environment: Record<string, string>;
  /** The scan function, which runs each reconciliation run (invoked asynchronously). */
  scanFunction: IFunction;
  /** Where its rule's events go when the function cannot take them. */
  deadLetterQueue: Queue;
  pipeline: PipelineLimits;
}

/**
 * The scheduled trigger of policy reconciliation runs (functions/schedule): a rule of its own
 * each minute — cron schedules are minutes, the reconciler's rate is five — whose function
 * reads each scheduled policy's last start and starts the due runs on the scan function
 * (docs/architecture.md, "Drift and reconciliation runs"). Schedules live in the policies'
 * records, so changing one through the API needs no deploy.
 */
export class PolicySchedule extends Construct {
  readonly function: CrossdockFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: PolicyScheduleProps) {
    super(scope, id);
    this.function = new CrossdockFunction(this, 'Function', {
      entry: 'functions/schedule/handler',
      description: 'Starts the reconciliation runs of policies whose schedule is due',
      environment: { ...props.environment, SCAN_FUNCTION_NAME: props.scanFunction.functionName },
      timeout: Duration.seconds(props.pipeline.functions.schedule.timeoutSeconds),
      // One tick at a time; the runs' claims are conditional writes anyway.
      reservedConcurrentExecutions: 1,
    });
    props.scanFunction.grantInvoke(this.function);
    this.rule = new Rule(this, 'Rule', {
      description: 'crossdock scheduled policy runs',
      schedule: Schedule.rate(Duration.millis(SCHEDULE_TICK_MS)),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });
  }
}
