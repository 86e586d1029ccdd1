import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ReconcileSettings } from '../../functions/lib/config/schema.ts';
import type { PipelineLimits } from '../limits.ts';
import { CrossdockFunction } from './function.ts';

export interface ReconcilerProps {
  environment: Record<string, string>;
  stateMachine: StateMachine;
  /** Where its schedule's events go when the function cannot take them. */
  deadLetterQueue: Queue;
  pipeline: PipelineLimits;
  settings: ReconcileSettings;
}

/**
 * The reconciler (functions/reconciler) on a rate rule: it drives on jobs whose message or
 * execution event was lost, and frees slots of jobs that ended (docs/reliability.md).
 */
export class Reconciler extends Construct {
  readonly function: CrossdockFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.function = new CrossdockFunction(this, 'Function', {
      entry: 'functions/reconciler/handler',
      description: 'Drives on jobs that should be moving and are not; frees slots of ended jobs',
      environment: {
        ...props.environment,
        STALE_AFTER_MINUTES: String(props.settings.staleAfterMinutes),
        TOO_LONG_MINUTES: String(props.settings.tooLongMinutes),
      },
      timeout: Duration.seconds(props.pipeline.functions.reconciler.timeoutSeconds),
      // One run at a time is enough; a second would only repeat the first's repairs.
      reservedConcurrentExecutions: 1,
    });
    props.stateMachine.grantRead(this.function);
    this.schedule = new Rule(this, 'Schedule', {
      description: 'crossdock reconciler',
      schedule: Schedule.rate(Duration.minutes(props.settings.everyMinutes)),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 2,
          maxEventAge: Duration.minutes(props.settings.everyMinutes),
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });
  }
}
