import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEAD_LETTERED_MESSAGE, QUEUE_REPORT_MESSAGE } from '../../functions/lib/keys.js';

/** Properties of {@link JobAlarms}. */
export interface JobAlarmsProps {
  /** The log groups of the functions that can dead-letter a job (nack, disconnect, redeliver). */
  readonly logGroups: ILogGroup[];
  /** The log group of the function that writes the queues' reports (redeliver). */
  readonly reportLogGroup: ILogGroup;
  /**
   * The alarm fires when a job has waited this long ready with no consumer taking it (any queue).
   *
   * @default Duration.minutes(5)
   */
  readonly maxReadyAge?: Duration;
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
 * Jobs live in DynamoDB, not in SQS, so there is no queue metric to watch: log metric filters read the functions'
 * lines instead (no request, no custom metric per queue). `job dead-lettered` lines count dead-letterings as they
 * happen; each queue with waiting or dead jobs writes a `work queue report` line a minute, whose
 * `oldestReadyAgeSeconds` and `deadJobs` give the age and depth alarms (the worst queue's, one metric each). The
 * alarms have no action: attach one with `alarm.addAlarmAction(...)`.
 */
export class JobAlarms extends Construct {
  public readonly deadLetterAlarm: Alarm;
  public readonly deadLettered: Metric;
  public readonly deadJobsAlarm: Alarm;
  public readonly deadJobs: Metric;
  public readonly readyAgeAlarm: Alarm;
  public readonly oldestReadyAge: Metric;

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

    const reported = (metricName: string, field: string) => {
      new MetricFilter(this, metricName, {
        logGroup: props.reportLogGroup,
        metricNamespace: props.namespace,
        metricName,
        filterPattern: FilterPattern.stringValue('$.message', '=', QUEUE_REPORT_MESSAGE),
        metricValue: `$.${field}`,
      });
      return new Metric({ namespace: props.namespace, metricName, statistic: 'Maximum', period: Duration.minutes(1) });
    };
    this.deadJobs = reported('DeadJobs', 'deadJobs');
    this.deadJobsAlarm = new Alarm(this, 'DeadJobsAlarm', {
      alarmDescription:
        'A Postbox work queue holds dead jobs (npm run queue -- dead <queue>; the report line names it).',
      metric: this.deadJobs,
      threshold: props.deadLetterThreshold ?? 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No report means no queue has waiting or dead jobs.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.oldestReadyAge = reported('OldestReadyJobAge', 'oldestReadyAgeSeconds');
    const maxReadyAge = props.maxReadyAge ?? Duration.minutes(5);
    this.readyAgeAlarm = new Alarm(this, 'ReadyAgeAlarm', {
      alarmDescription: `A Postbox work-queue job has waited more than ${maxReadyAge.toSeconds()} s for a consumer (the report line names the queue).`,
      metric: this.oldestReadyAge,
      threshold: maxReadyAge.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
