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
  let table: (name: 'connections' | 'subscriptions' | 'inbox' | 'processed' | 'jobs') => TableResource;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
    table = (name) => template.toJSON().Resources[logicalId(synth.stack.tables[name])];
  });

  it('are five plain tables (not global tables)', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 5);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  });

  it('are keyed exactly as docs/architecture.md says', () => {
    expect(table('connections').Properties.KeySchema).toEqual([HASH('clientId'), RANGE('connectionId')]);
    expect(table('subscriptions').Properties.KeySchema).toEqual([HASH('topic'), RANGE('clientId')]);
    expect(table('inbox').Properties.KeySchema).toEqual([HASH('clientId'), RANGE('seq')]);
    expect(table('processed').Properties.KeySchema).toEqual([HASH('messageId')]);
    expect(table('jobs').Properties.KeySchema).toEqual([HASH('queue'), RANGE('key')]);
    expect(table('inbox').Properties.AttributeDefinitions).toEqual([S('clientId'), S('seq')]);
  });

  it('indexes subscriptions by client (for the refresh at connect) and nothing else: no message write is paid twice', () => {
    expect(table('subscriptions').Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byClient',
        KeySchema: [HASH('clientId'), RANGE('topic')],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['expiresAt'] },
      },
    ]);
    expect(table('subscriptions').Properties.LocalSecondaryIndexes).toBeUndefined();
    for (const name of ['connections', 'inbox', 'processed'] as const) {
      expect(table(name).Properties.LocalSecondaryIndexes).toBeUndefined();
      expect(table(name).Properties.GlobalSecondaryIndexes).toBeUndefined();
    }
  });

  it('indexes jobs by order with a local index (read strongly consistent), keys only', () => {
    expect(table('jobs').Properties.LocalSecondaryIndexes).toEqual([
      { IndexName: 'byOrder', KeySchema: [HASH('queue'), RANGE('order')], Projection: { ProjectionType: 'KEYS_ONLY' } },
    ]);
    expect(table('jobs').Properties.GlobalSecondaryIndexes).toBeUndefined();
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

  it('is a FIFO queue in high-throughput mode, dead-lettering after 5 receives into an encrypted FIFO DLQ', () => {
    const dlq = logicalId(synth.stack.messageQueue.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const resources = template.toJSON().Resources;
    expect(resources[dlq].Properties).toMatchObject({
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    expect(resources[dlq].Properties.RedrivePolicy).toBeUndefined();
  });

  it('refuses, on all four queues, any request not made over TLS', () => {
    const queues = [synth.stack.messageQueue, synth.stack.pushQueue].flatMap((q) => [q.queue, q.deadLetterQueue]);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    for (const queue of queues) {
      const ref = { Ref: logicalId(queue) };
      const policy = policies.find((p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref]));
      expect(policy?.Properties.PolicyDocument.Statement, logicalId(queue)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('keeps a message hidden for at least six deliver timeouts', () => {
    const resources = template.toJSON().Resources;
    const queue = resources[logicalId(synth.stack.messageQueue.queue)].Properties;
    const deliver = resources[synth.functionId('deliver')].Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * deliver.Timeout);
    expect(queue.VisibilityTimeout).toBe(180);
  });

  it('feeds deliver in batches of 10, with partial batch responses, at most 10 at once and no batching window', () => {
    const source = new Capture();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: synth.functionId('deliver') },
      EventSourceArn: source,
      BatchSize: 10,
      // Lambda refuses a batching window on a FIFO queue.
      MaximumBatchingWindowInSeconds: Match.absent(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    expect(source.asObject()).toEqual({ 'Fn::GetAtt': [logicalId(synth.stack.messageQueue.queue), 'Arn'] });
  });
});

describe('push queue and redeliver event source', () => {
  let synth: Synthesized;
  let template: Template;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
  });

  it('is a standard queue (each record has its own delay) with an encrypted DLQ after 5 receives', () => {
    const queue = template.toJSON().Resources[logicalId(synth.stack.pushQueue.queue)].Properties;
    expect(queue).toMatchObject({
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(synth.stack.pushQueue.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      },
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
    });
    expect(queue.FifoQueue).toBeUndefined();
    template.resourceCountIs('AWS::SQS::Queue', 4);
  });

  it('feeds redeliver in batches of 10 with partial batch responses', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: synth.functionId('redeliver') },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(synth.stack.pushQueue.queue), 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('deliver event source with custom settings', () => {
  it('passes batch size and concurrency through', () => {
    const { template } = synthPostbox({ delivery: { batchSize: 5, maxConcurrency: 50 } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it('refuses what Lambda refuses on a FIFO queue: a batching window, or batches over 10', () => {
    expect(() => synthPostbox({ delivery: { maxBatchingWindow: Duration.seconds(2) } })).toThrow(
      /a FIFO queue's consumer cannot have a batching window/,
    );
    expect(() => synthPostbox({ delivery: { batchSize: 25 } })).toThrow(/batchSize must be 1–10 on a FIFO queue/);
  });
});
