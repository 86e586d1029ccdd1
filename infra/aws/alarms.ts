import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Alarms an operator wants paged on: dead letters, and jobs that failed. */
export class PipelineAlarms extends Construct {
  readonly deadLetters: Alarm;
  readonly failedJobs: Alarm;
  readonly failedExecutions: Alarm;

  constructor(scope: Construct, id: string, props: { deadLetterQueue: Queue; stateMachine: StateMachine }) {
    super(scope, id);
    this.deadLetters = new Alarm(this, 'DeadLetters', {
      alarmDescription:
        'Job messages reached the dead-letter queue (each is recorded FAILED with its reason)',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.failedJobs = new Alarm(this, 'FailedJobs', {
      alarmDescription: 'Replication jobs ended FAILED (see `crossdock jobs --status FAILED`)',
      metric: new Metric({
        namespace: 'crossdock',
        metricName: 'JobsFailed',
        dimensionsMap: { service: 'crossdock' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.failedExecutions = new Alarm(this, 'FailedExecutions', {
      alarmDescription: 'Workflow executions failed, timed out or were aborted',
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
