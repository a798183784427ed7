import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mintToken } from '../../functions/lib/token.js';
import { type LocalStack, type StartLocalOptions, startLocal } from '../../local/index.js';
import { clientsFor } from '../../local/services/index.js';
import { TestClient } from './client.js';
import { WsClient } from './ws.js';

/** The Postbox app from cdk.out, running locally on a free port with nothing kept on disk. */
export async function startPostbox(options: StartLocalOptions = {}): Promise<Postbox> {
  const local = await startLocal({ port: 0, inMemory: true, logSink: () => {}, ...options });
  const [secret] = [...local.secretValues.values()];
  if (!secret) throw new Error('the stack declares no signing secret');
  return new Postbox(local, secret);
}

export class Postbox {
  readonly #clients: TestClient[] = [];

  constructor(
    readonly local: LocalStack,
    readonly secret: string,
  ) {}

  async urlFor(clientId: string): Promise<string> {
    return `${this.local.url}/?token=${await mintToken(this.secret, clientId, '10m')}`;
  }

  async connect(clientId: string): Promise<TestClient> {
    const client = await TestClient.connect(await this.urlFor(clientId));
    this.#clients.push(client);
    return client;
  }

  /** Closes a client and waits until the gateway has run its $disconnect. */
  async disconnect(client: TestClient): Promise<void> {
    const before = this.local.spy.events({ kind: 'disconnect' }).length;
    await client.close();
    const deadline = Date.now() + 5_000;
    while (this.local.spy.events({ kind: 'disconnect' }).length === before) {
      if (Date.now() > deadline) throw new Error('no $disconnect within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The connection rows the stack holds for a client, read straight from the local DynamoDB. */
  async connectionsOf(clientId: string): Promise<string[]> {
    // Found as the handlers find it: the table their CONNECTIONS_TABLE variable refers to.
    const ref = [...this.local.model.functions.values()]
      .map((fn) => fn.environment.CONNECTIONS_TABLE as { Ref?: string } | undefined)
      .find((value) => value?.Ref)?.Ref;
    const table = ref ? this.local.model.tables.get(ref) : undefined;
    if (!table) throw new Error('no function refers to a connections table');
    const db = DynamoDBDocumentClient.from(clientsFor(this.local.endpoints).dynamodb);
    const rows = await db.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'clientId = :c',
        ExpressionAttributeValues: { ':c': clientId },
      }),
    );
    return (rows.Items ?? []).map((row) => row.connectionId as string);
  }

  /** The HTTP status a handshake to `url` is refused with. */
  async refusal(url: string): Promise<number> {
    return (await WsClient.refused(url)).status;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()));
    await this.local.stop();
  }
}
