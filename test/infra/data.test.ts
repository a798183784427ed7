import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { logicalId, type Synthesized, synthPostbox } from './helpers.js';

const S = (name: string) => ({ AttributeName: name, AttributeType: 'S' });
const HASH = (name: string) => ({ AttributeName: name, KeyType: 'HASH' });
const RANGE = (name: string) => ({ AttributeName: name, KeyType: 'RANGE' });

/** The parts of an `AWS::DynamoDB::Table` resource these tests read. */
interface TableResource {
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties: {
    KeySchema: unknown;
    AttributeDefinitions: unknown;
    LocalSecondaryIndexes?: unknown;
    GlobalSecondaryIndexes?: unknown;
  };
}

describe('tables', () => {
  let synth: Synthesized;
  let template: Template;
  let table: (name: 'connections' | 'subscriptions' | 'inbox' | 'processed') => TableResource;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
    table = (name) => template.toJSON().Resources[logicalId(synth.stack.tables[name])];
  });

  it('are four plain tables (not global tables)', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  });

  it('are keyed exactly as docs/architecture.md says', () => {
    expect(table('connections').Properties.KeySchema).toEqual([HASH('clientId'), RANGE('connectionId')]);
    expect(table('subscriptions').Properties.KeySchema).toEqual([HASH('topic'), RANGE('clientId')]);
    expect(table('inbox').Properties.KeySchema).toEqual([HASH('clientId'), RANGE('messageId')]);
    expect(table('processed').Properties.KeySchema).toEqual([HASH('messageId')]);
    expect(table('inbox').Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([S('clientId'), S('messageId'), S('seq')]),
    );
  });

  it('orders an inbox by seq through the bySeq local index, projecting whole items', () => {
    expect(table('inbox').Properties.LocalSecondaryIndexes).toEqual([
      { IndexName: 'bySeq', KeySchema: [HASH('clientId'), RANGE('seq')], Projection: { ProjectionType: 'ALL' } },
    ]);
    for (const name of ['connections', 'subscriptions', 'processed'] as const) {
      expect(table(name).Properties.LocalSecondaryIndexes).toBeUndefined();
      expect(table(name).Properties.GlobalSecondaryIndexes).toBeUndefined();
    }
  });

  it('are on-demand, continuously backed up, expire items on expiresAt and are retained by default', () => {
    for (const name of ['connections', 'subscriptions', 'inbox', 'processed'] as const) {
      expect({ name, ...table(name) }).toMatchObject({
        name,
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        },
      });
    }
  });
});

describe('tables and queues of a throwaway stack', () => {
  it('are deleted with the stack when dataRemovalPolicy is DESTROY', () => {
    const { template } = synthPostbox({ dataRemovalPolicy: RemovalPolicy.DESTROY });
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SQS::Queue']) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('ingest queue and deliver event source', () => {
  let synth: Synthesized;
  let template: Template;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
  });

  it('dead-letters a message after 5 receives into an encrypted DLQ', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    const dlq = logicalId(synth.stack.messageQueue.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.absent(),
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('keeps a message hidden for at least six deliver timeouts plus the batching window', () => {
    const resources = template.toJSON().Resources;
    const queue = resources[logicalId(synth.stack.messageQueue.queue)].Properties;
    const deliver = resources[synth.functionId('deliver')].Properties;
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0]?.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * deliver.Timeout + mapping.MaximumBatchingWindowInSeconds,
    );
    expect(queue.VisibilityTimeout).toBe(180);
  });

  it('feeds deliver in batches of 10, with no batching window, partial batch responses and at most 10 at once', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    const source = new Capture();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: synth.functionId('deliver') },
      EventSourceArn: source,
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    expect(source.asObject()).toEqual({ 'Fn::GetAtt': [logicalId(synth.stack.messageQueue.queue), 'Arn'] });
  });
});

describe('deliver event source with custom settings', () => {
  it('passes batch size, window and concurrency through, and lengthens visibility by the window', () => {
    const { template } = synthPostbox({
      delivery: { batchSize: 25, maxBatchingWindow: Duration.seconds(2), maxConcurrency: 50 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 25,
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.anyValue(), VisibilityTimeout: 182 });
  });
});
