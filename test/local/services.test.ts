import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { clientsFor, createQueue, createSecret, createTable, startServices } from '../../local/services/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'postbox-services-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const inboxProps = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'clientId', AttributeType: 'S' },
    { AttributeName: 'messageId', AttributeType: 'S' },
    { AttributeName: 'seq', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'clientId', KeyType: 'HASH' },
    { AttributeName: 'messageId', KeyType: 'RANGE' },
  ],
  LocalSecondaryIndexes: [
    {
      IndexName: 'bySeq',
      KeySchema: [
        { AttributeName: 'clientId', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
  PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
};

describe('embedded services', () => {
  it('create tables with their indexes, queues with a redrive policy, and generated secrets', async () => {
    const services = await startServices({ dataDir });
    try {
      const clients = clientsFor(services);
      const notes = await createTable(clients.dynamodb, 'inbox', inboxProps);
      expect(notes).toEqual(['DynamoDB TTL is not enforced locally (dynalite): expired items stay until deleted']);
      const table = await clients.dynamodb.send(new DescribeTableCommand({ TableName: 'inbox' }));
      expect(table.Table?.LocalSecondaryIndexes?.[0]?.IndexName).toBe('bySeq');
      expect(table.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');

      const dlq = await createQueue(clients.sqs, 'ingest-dlq', { MessageRetentionPeriod: 1209600 });
      const ingest = await createQueue(clients.sqs, 'ingest', {
        VisibilityTimeout: 180,
        RedrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 },
      });
      const attributes = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: ingest.url, AttributeNames: ['All'] }),
      );
      expect(attributes.Attributes?.VisibilityTimeout).toBe('180');
      expect(JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: 5,
      });

      const secret = await createSecret(clients.secretsManager, 'TokenSecret', {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      });
      expect(secret.value).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(secret.arn).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenSecret-[0-9a-f]{6}$/);
      const read = await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secret.arn }));
      expect(read.SecretString).toBe(secret.value);
      expect(JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'))).toEqual({ [secret.arn]: secret.value });

      await clients.dynamodb.send(
        new PutItemCommand({
          TableName: 'inbox',
          Item: { clientId: { S: 'alice' }, messageId: { S: 'm1' }, seq: { S: '01' } },
        }),
      );
    } finally {
      await services.stop();
    }
  });

  it('keep tables, items and secrets across a restart over the same data folder', async () => {
    const services = await startServices({ dataDir });
    try {
      const clients = clientsFor(services);
      expect(await createTable(clients.dynamodb, 'inbox', inboxProps)).toHaveLength(1);
      const item = await clients.dynamodb.send(
        new GetItemCommand({ TableName: 'inbox', Key: { clientId: { S: 'alice' }, messageId: { S: 'm1' } } }),
      );
      expect(item.Item?.seq?.S).toBe('01');
      const before = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
      const secret = await createSecret(clients.secretsManager, 'TokenSecret', { GenerateSecretString: {} });
      expect(before[secret.arn]).toBe(secret.value);
    } finally {
      await services.stop();
    }
  });

  it('report every SQS and DynamoDB request they answer to an observer, by operation', async () => {
    const seen: { service: string; operation: string; body: string }[] = [];
    const services = await startServices({ observe: (request) => seen.push(request) });
    try {
      const clients = clientsFor(services);
      await createTable(clients.dynamodb, 'inbox', inboxProps);
      await clients.dynamodb.send(
        new PutItemCommand({
          TableName: 'inbox',
          Item: { clientId: { S: 'bob' }, messageId: { S: 'm2' }, seq: { S: '02' } },
        }),
      );
      await createQueue(clients.sqs, 'observed', {});
      // DynamoDB answers from its own thread: its reports keep their order, not their place among SQS's.
      const of = (service: string) => seen.filter((r) => r.service === service);
      expect(of('dynamodb').map((r) => r.operation)).toEqual(['CreateTable', 'UpdateTimeToLive', 'PutItem']);
      expect(of('sqs').map((r) => r.operation)).toEqual(['CreateQueue', 'GetQueueAttributes']);
      expect(JSON.parse(of('dynamodb')[2]?.body ?? '{}')).toMatchObject({
        TableName: 'inbox',
        Item: { clientId: { S: 'bob' } },
      });
    } finally {
      await services.stop();
    }
  });

  it('refuses an unknown Secrets Manager secret with AWS error name', async () => {
    const services = await startServices({});
    try {
      const { secretsManager } = clientsFor(services);
      await expect(secretsManager.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      await services.stop();
    }
  });
});
