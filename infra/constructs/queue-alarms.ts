import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of {@link QueueAlarms}. */
export interface QueueAlarmsProps {
  /** The queue the deliver function consumes. */
  readonly queue: IQueue;
  /** Its dead-letter queue. */
  readonly deadLetterQueue: IQueue;

  /**
   * The alarm fires when more than this many messages wait in the dead-letter queue. Every dead-lettered message
   * is one nobody received, so the default is the first one.
   *
   * @default 0
   */
  readonly deadLetterThreshold?: number;

  /**
   * The alarm fires when the oldest message in the ingest queue is older than this. Delivery normally takes
   * well under a second; a minute means the consumer is failing, throttled or capped by its `maxConcurrency`.
   *
   * @default Duration.seconds(60)
   */
  readonly maxMessageAge?: Duration;
}

/**
 * Alarms on the two signals that a message is not reaching its inbox. They have no actions: attach an SNS topic
 * with `alarm.addAlarmAction(...)` where the stack is used.
 */
export class QueueAlarms extends Construct {
  public readonly deadLetterAlarm: Alarm;
  public readonly messageAgeAlarm: Alarm;

  constructor(scope: Construct, id: string, props: QueueAlarmsProps) {
    super(scope, id);
    const deadLetterThreshold = props.deadLetterThreshold ?? 0;
    const maxMessageAge = props.maxMessageAge ?? Duration.seconds(60);
    if (!Number.isInteger(deadLetterThreshold) || deadLetterThreshold < 0) {
      throw new Error(
        `QueueAlarms ${this.node.path}: deadLetterThreshold must be a non-negative integer, got ${deadLetterThreshold}`,
      );
    }
    if (maxMessageAge.toSeconds() < 1) {
      throw new Error(`QueueAlarms ${this.node.path}: maxMessageAge must be at least 1 s`);
    }

    // SQS publishes queue metrics once a minute; an idle queue publishes none, which is healthy, hence NOT_BREACHING.
    const period = Duration.minutes(1);
    this.deadLetterAlarm = new Alarm(this, 'DeadLetters', {
      alarmDescription: 'Postbox messages failed delivery maxReceiveCount times and wait in the dead-letter queue.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      threshold: deadLetterThreshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.messageAgeAlarm = new Alarm(this, 'OldestMessageAge', {
      alarmDescription: 'Postbox ingest queue is not being drained: its oldest message is older than the threshold.',
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
      threshold: maxMessageAge.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
