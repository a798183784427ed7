import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clientsFor, startServices } from '../../local/services/index.js';
import { loadModel, resolveContext, resolveEnvironment } from '../../local/template/index.js';
import { provision } from '../../local/template/provision.js';

export interface Backend {
  /** The union of every Postbox function's environment, resolved to the emulated resources. */
  env: Record<string, string>;
  clients: ReturnType<typeof clientsFor>;
  /** The token signing key, as provisioning created it in the Secrets Manager stand-in. */
  tokenSecret: string;
  /** A client's rows in the table an environment variable names (e.g. `INBOX_TABLE`), in key or index order. */
  rowsOf(tableVariable: string, clientId: string, indexName?: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs, dynalite and the Secrets Manager stand-in on loopback and creates in them what the synthesized
 * Postbox template declares, with the local runtime's own provisioning and resolution, so the handler tests (which
 * import the handlers' source in-process) run against the production keys, indexes and environment.
 */
export async function startBackend(): Promise<Backend> {
  const model = loadModel('cdk.out');
  const services = await startServices({ region: model.region });
  const { secretValues } = await provision(model, services);
  const tokenSecret = [...secretValues].find(([id]) => id.startsWith('TokenSecret'))?.[1];
  if (tokenSecret === undefined) throw new Error('the template has no TokenSecret');
  const ctx = resolveContext(model);
  const env: Record<string, string> = {
    AWS_REGION: services.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: services.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamodb,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: services.secretsManager,
  };
  for (const fn of model.functions.values()) Object.assign(env, resolveEnvironment(fn, ctx, undefined));
  // Rejected frames and deliveries log at INFO; the tests assert on them instead.
  env.POWERTOOLS_LOG_LEVEL = 'WARN';
  const clients = clientsFor(services);
  const db = DynamoDBDocumentClient.from(clients.dynamodb);
  const rowsOf = async (tableVariable: string, clientId: string, indexName?: string) => {
    const result = await db.send(
      new QueryCommand({
        TableName: env[tableVariable],
        IndexName: indexName,
        KeyConditionExpression: 'clientId = :c',
        ExpressionAttributeValues: { ':c': clientId },
      }),
    );
    return result.Items ?? [];
  };
  return { env, clients, tokenSecret, rowsOf, stop: () => services.stop() };
}
