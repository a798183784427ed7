import { Duration } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTERED_MESSAGE, QUEUE_REPORT_MESSAGE } from '../../functions/lib/keys.js';
import { logicalId, type Synthesized, synthPostbox } from './helpers.js';

describe('alarms', () => {
  let synth: Synthesized;
  let template: Template;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
  });

  it('fires on the first dead-lettered record of either queue', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    for (const queue of [synth.stack.messageQueue, synth.stack.pushQueue]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue.deadLetterQueue), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('fires on the first dead-lettered job, counted from the logs of every function that can dead-letter one', () => {
    const namespace = `Postbox/${synth.stack.stackName}`;
    const filters = Object.fromEntries(
      Object.entries(template.findResources('AWS::Logs::MetricFilter')).filter(([, f]) =>
        f.Properties.FilterPattern.includes(DEAD_LETTERED_MESSAGE),
      ),
    );
    const groups = Object.values(filters)
      .map((f) => JSON.stringify(f.Properties.LogGroupName))
      .sort();
    expect(groups).toEqual(
      (['nack', 'disconnect', 'redeliver'] as const)
        .map((name) => JSON.stringify({ Ref: logicalId(synth.stack.handlers[name].logGroup) }))
        .sort(),
    );
    for (const filter of Object.values(filters)) {
      expect(filter.Properties.FilterPattern).toBe(`{ $.message = "${DEAD_LETTERED_MESSAGE}" }`);
      expect(filter.Properties.MetricTransformations).toEqual([
        { MetricNamespace: namespace, MetricName: 'JobsDeadLettered', MetricValue: '1' },
      ]);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace,
      MetricName: 'JobsDeadLettered',
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
  });

  it('fires when a work queue holds a dead job, or a ready job waited five minutes, from the queues’ reports', () => {
    const namespace = `Postbox/${synth.stack.stackName}`;
    const reports = Object.values(template.findResources('AWS::Logs::MetricFilter')).filter((f) =>
      f.Properties.FilterPattern.includes(QUEUE_REPORT_MESSAGE),
    );
    expect(reports.map((f) => f.Properties)).toEqual(
      expect.arrayContaining(
        [
          ['DeadJobs', '$.deadJobs'],
          ['OldestReadyJobAge', '$.oldestReadyAgeSeconds'],
        ].map(([MetricName, MetricValue]) => ({
          LogGroupName: { Ref: logicalId(synth.stack.handlers.redeliver.logGroup) },
          FilterPattern: `{ $.message = "${QUEUE_REPORT_MESSAGE}" }`,
          MetricTransformations: [{ MetricNamespace: namespace, MetricName, MetricValue }],
        })),
      ),
    );
    expect(reports).toHaveLength(2);
    for (const [MetricName, Threshold] of [
      ['DeadJobs', 0],
      ['OldestReadyJobAge', 300],
    ])
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: namespace,
        MetricName,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold,
        TreatMissingData: 'notBreaching',
      });
    synthPostbox({ workQueues: { maxReadyAge: Duration.minutes(1) } }).template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'OldestReadyJobAge', Threshold: 60 },
    );
  });

  it('fires when the push queue’s oldest record is a minute past the ack deadline', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(synth.stack.pushQueue.queue), 'QueueName'] } },
      ],
      Threshold: 90,
    });
  });

  it('fires when the ingest queue’s oldest message is over a minute old', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(synth.stack.messageQueue.queue), 'QueueName'] } },
      ],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 60,
    });
  });
});

describe('alarms with custom thresholds', () => {
  it('uses the thresholds given as props', () => {
    const { template } = synthPostbox({ deadLetterAlarmThreshold: 3, maxMessageAge: Duration.minutes(5) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 3,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 300,
    });
  });
});

describe('outputs', () => {
  let synth: Synthesized;
  let template: Template;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
  });

  it('are exactly the ones scripts, tests and the local runtime read', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      [
        'CallbackUrl',
        'ConnectionsTableName',
        'DeadLetterQueueName',
        'InboxTableName',
        'IngestQueueName',
        'JobsTableName',
        'IngestQueueUrl',
        'ProcessedTableName',
        'PushQueueName',
        'PushQueueUrl',
        'SubscriptionsTableName',
        'TokenSecretArn',
        'WorkQueueSettings',
        'WebSocketUrl',
      ].sort(),
    );
  });

  it('give the wss:// URL of the stage and its https:// callback URL', () => {
    const api = logicalId(synth.stack.webSocket.api);
    const url = (scheme: string) => ({
      'Fn::Join': [
        '',
        [
          `${scheme}://`,
          { Ref: api },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/prod',
        ],
      ],
    });
    template.hasOutput('WebSocketUrl', { Value: url('wss') });
    template.hasOutput('CallbackUrl', { Value: url('https') });
  });

  it('point at the secret, the tables and the queues', () => {
    const { tables, messageQueue, tokenSecret } = synth.stack;
    template.hasOutput('TokenSecretArn', { Value: { Ref: logicalId(tokenSecret) } });
    template.hasOutput('ConnectionsTableName', { Value: { Ref: logicalId(tables.connections) } });
    template.hasOutput('SubscriptionsTableName', { Value: { Ref: logicalId(tables.subscriptions) } });
    template.hasOutput('InboxTableName', { Value: { Ref: logicalId(tables.inbox) } });
    template.hasOutput('ProcessedTableName', { Value: { Ref: logicalId(tables.processed) } });
    template.hasOutput('IngestQueueUrl', { Value: { Ref: logicalId(messageQueue.queue) } });
    template.hasOutput('IngestQueueName', { Value: { 'Fn::GetAtt': [logicalId(messageQueue.queue), 'QueueName'] } });
    template.hasOutput('DeadLetterQueueName', {
      Value: { 'Fn::GetAtt': [logicalId(messageQueue.deadLetterQueue), 'QueueName'] },
    });
  });
});
