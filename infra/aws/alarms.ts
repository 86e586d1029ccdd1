import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface PipelineAlarmsProps {
  /** Execution-status and schedule events no function could take. */
  eventDeadLetters: Queue;
  stateMachine: StateMachine;
  /** Functions whose throttles mean a pool too small for the work (the copy pool, the dispatcher). */
  throttled: IFunction[];
}

/** crossdock's own metrics (Powertools Metrics, namespace `crossdock`). */
const crossdockMetric = (metricName: string) =>
  new Metric({
    namespace: 'crossdock',
    metricName,
    dimensionsMap: { service: 'crossdock' },
    statistic: 'Sum',
    period: Duration.minutes(5),
  });

/**
 * Alarms an operator wants paged on (docs/reliability.md): jobs that failed, messages arriving
 * in the dead-letter queue (counted by its consumer as they arrive: the queue itself is drained
 * in seconds), jobs waiting too long and the reconciler's repairs (transport was lost), throttled
 * pools, events nobody could take, executions that ran out of time.
 */
export class PipelineAlarms extends Construct {
  readonly failedJobs: Alarm;
  readonly deadLetters: Alarm;
  readonly jobsWaitingTooLong: Alarm;
  readonly reconcilerRepairs: Alarm;
  readonly throttles: Alarm[];
  readonly lostEvents: Alarm;
  readonly timedOutExecutions: Alarm;
  readonly scheduledDrift: Alarm;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const above = (name: string, description: string, metric: IMetric) =>
      new Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.failedJobs = above(
      'FailedJobs',
      'Replication jobs ended FAILED (see `crossdock jobs --status FAILED`)',
      crossdockMetric('JobsFailed'),
    );
    this.deadLetters = above(
      'DeadLetters',
      'Job messages reached the dead-letter queue: the dispatcher could not handle them (each is sent again later or recorded FAILED)',
      crossdockMetric('DeadLetters'),
    );
    this.jobsWaitingTooLong = above(
      'JobsWaitingTooLong',
      'Jobs QUEUED or RUNNING for longer than reconcile.tooLongMinutes (counted by the reconciler)',
      crossdockMetric('JobsWaitingTooLong'),
    );
    this.reconcilerRepairs = above(
      'ReconcilerRepairs',
      'The reconciler drove on jobs whose message or execution event was lost',
      crossdockMetric('ReconcilerRepairs'),
    );
    this.throttles = props.throttled.map((fn, i) =>
      above(
        `Throttles${i}`,
        `Invocations of ${fn.node.id} were throttled: its reserved concurrency is smaller than the work admitted`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      ),
    );
    this.lostEvents = above(
      'LostEvents',
      'Execution-status or schedule events could not be delivered (the reconciler repairs their jobs)',
      props.eventDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
    );
    this.timedOutExecutions = above(
      'TimedOutExecutions',
      'Workflow executions ran past their timeout',
      props.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
    );
    // Drift a scheduled run found is what events should have replicated: they are being missed.
    this.scheduledDrift = above(
      'ScheduledDrift',
      'A scheduled policy run found drift (`crossdock policies runs NAME`): webhook events are being missed, or the destination is changed by hand',
      crossdockMetric('ScheduledDriftFound'),
    );
  }
}
