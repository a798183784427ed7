import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

/** Endpoints of the three services a template's resources are created in. */
export interface ServiceEndpoints {
  sqs: string;
  dynamodb: string;
  secretsManager: string;
  region: string;
}

/** Properties as they stand in the template, intrinsics already resolved. */
type Props = Record<string, unknown>;

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export function clientsFor(endpoints: ServiceEndpoints) {
  const base = { region: endpoints.region, credentials };
  return {
    dynamodb: new DynamoDBClient({ ...base, endpoint: endpoints.dynamodb }),
    sqs: sqsClientFor(endpoints),
    secretsManager: new SecretsManagerClient({ ...base, endpoint: endpoints.secretsManager }),
  };
}

export function sqsClientFor(endpoints: ServiceEndpoints): SQSClient {
  // Emulators hand out queue URLs whose host does not resolve offline; the endpoint decides.
  return new SQSClient({
    region: endpoints.region,
    credentials,
    endpoint: endpoints.sqs,
    useQueueUrlAsEndpoint: false,
  });
}

export type Clients = ReturnType<typeof clientsFor>;

/**
 * Creates an `AWS::DynamoDB::Table` from its properties; a table that already exists (a restart over the same data
 * folder) is kept as it is. Returns the notes worth telling the user once (e.g. TTL not enforced by the emulator).
 */
export async function createTable(client: DynamoDBClient, tableName: string, props: Props): Promise<string[]> {
  const onDemand = props.BillingMode === 'PAY_PER_REQUEST';
  const indexes = (list: unknown) =>
    (list as Props[] | undefined)?.map((index) => ({
      IndexName: index.IndexName as string,
      KeySchema: index.KeySchema,
      Projection: index.Projection,
      ...(onDemand ? {} : { ProvisionedThroughput: index.ProvisionedThroughput }),
    }));
  const input = {
    TableName: tableName,
    AttributeDefinitions: props.AttributeDefinitions,
    KeySchema: props.KeySchema,
    LocalSecondaryIndexes: indexes(props.LocalSecondaryIndexes),
    GlobalSecondaryIndexes: indexes(props.GlobalSecondaryIndexes),
    BillingMode: onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    ProvisionedThroughput: onDemand ? undefined : props.ProvisionedThroughput,
  } as CreateTableCommandInput;
  try {
    await client.send(new CreateTableCommand(input));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (!ttl?.Enabled || !ttl.AttributeName) return [];
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
      }),
    );
    return [];
  } catch (err) {
    // dynalite has no UpdateTimeToLive; expired items then stay, which readers must tolerate on AWS too
    // (deletion is best-effort there, "typically within two days"), so the handlers filter on expiresAt.
    if ((err as Error).name === 'UnknownOperationException')
      return ['DynamoDB TTL is not enforced locally (dynalite): expired items stay until deleted'];
    throw err;
  }
}

const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

/** Creates an `AWS::SQS::Queue` (a redrive policy must already name its dead-letter queue's ARN). */
export async function createQueue(
  client: SQSClient,
  queueName: string,
  props: Props,
): Promise<{ url: string; arn: string }> {
  const attributes: Record<string, string> = {};
  for (const key of QUEUE_ATTRIBUTES) if (props[key] !== undefined) attributes[key] = String(props[key]);
  if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(props.RedrivePolicy);
  const created = await client.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
  const url = created.QueueUrl as string;
  const described = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: described.Attributes?.QueueArn as string };
}

/**
 * Creates an `AWS::SecretsManager::Secret`, generating its value as `GenerateSecretString` asks; a secret of that
 * name that already exists keeps its value, so tokens minted before a restart stay valid.
 */
export async function createSecret(
  client: SecretsManagerClient,
  name: string,
  props: Props,
): Promise<{ arn: string; value: string }> {
  try {
    const found = await client.send(new GetSecretValueCommand({ SecretId: name }));
    return { arn: found.ARN as string, value: found.SecretString as string };
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
  const value = typeof props.SecretString === 'string' ? props.SecretString : generate(props.GenerateSecretString);
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return { arn: created.ARN as string, value };
}

function generate(spec: unknown): string {
  const { PasswordLength = 32 } = (spec ?? {}) as { PasswordLength?: number };
  // Letters and digits only: a subset of every ExcludeCharacters/ExcludePunctuation choice.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(PasswordLength), (byte) => alphabet[byte % alphabet.length]).join('');
}
