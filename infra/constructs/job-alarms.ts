import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEAD_LETTERED_MESSAGE } from '../../functions/lib/keys.js';

/** Properties of {@link JobAlarms}. */
export interface JobAlarmsProps {
  /** The log groups of the functions that can dead-letter a job (nack, disconnect, redeliver). */
  readonly logGroups: ILogGroup[];
  /** The metrics' namespace. */
  readonly namespace: string;
  /**
   * The alarm fires when more than this many jobs are dead-lettered in a minute.
   *
   * @default 0
   */
  readonly deadLetterThreshold?: number;
}

/**
 * Dead jobs live in DynamoDB, not in an SQS dead-letter queue, so there is no queue depth to watch: a log metric
 * filter counts the functions' `job dead-lettered` lines instead (no request, no custom metric per queue). The
 * alarm has no action: attach one with `alarm.addAlarmAction(...)`.
 */
export class JobAlarms extends Construct {
  public readonly deadLetterAlarm: Alarm;
  public readonly deadLettered: Metric;

  constructor(scope: Construct, id: string, props: JobAlarmsProps) {
    super(scope, id);
    const metricName = 'JobsDeadLettered';
    for (const [n, logGroup] of props.logGroups.entries()) {
      new MetricFilter(this, `DeadLettered${n}`, {
        logGroup,
        metricNamespace: props.namespace,
        metricName,
        filterPattern: FilterPattern.stringValue('$.message', '=', DEAD_LETTERED_MESSAGE),
        metricValue: '1',
      });
    }
    this.deadLettered = new Metric({
      namespace: props.namespace,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(1),
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLetters', {
      alarmDescription: 'Postbox work-queue jobs were dead-lettered (npm run queue -- dead <queue> lists them).',
      metric: this.deadLettered,
      threshold: props.deadLetterThreshold ?? 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
