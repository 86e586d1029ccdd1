import { Duration } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The jobs queue and its dead-letter queue. A message reaches the DLQ only after repeated
 * failures of the dispatcher itself (a job waiting for a slot is parked in the records instead);
 * the DLQ's own consumer sends it again later (docs/reliability.md).
 */
export class JobQueue extends Construct {
  readonly queue: Queue;
  /**
   * Jobs admitted to a freed slot (a slot taken for them): the dispatcher reads it as a second
   * event source, so a hand-off never waits behind the jobs queue's backlog. Same DLQ.
   */
  readonly admitted: Queue;
  readonly deadLetterQueue: Queue;

  constructor(
    scope: Construct,
    id: string,
    props: {
      visibilityTimeoutSeconds: number;
      maxReceiveCount: number;
      deadLetterVisibilityTimeoutSeconds: number;
    },
  ) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times its consumer's timeout, as for the jobs queue.
      visibilityTimeout: Duration.seconds(props.deadLetterVisibilityTimeoutSeconds),
    });
    this.queue = new Queue(this, 'Jobs', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the dispatcher's timeout (infra/limits.ts), so a slow batch is not redelivered mid-way.
      visibilityTimeout: Duration.seconds(props.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    this.admitted = new Queue(this, 'Admitted', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }

  /** Lets `grantee` send to both queues (whoever submits a job may also hand a slot on). */
  grantSend(grantee: IGrantable): void {
    this.queue.grantSendMessages(grantee);
    this.admitted.grantSendMessages(grantee);
  }
}
