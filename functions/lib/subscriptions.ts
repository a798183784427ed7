import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { queryItems } from './query.js';

/** Durable: the subscription belongs to the client, not to the connection that asked for it. Idempotent. */
export async function subscribe(table: string, topic: string, clientId: string, now = Date.now()): Promise<void> {
  await dynamo.send(new PutCommand({ TableName: table, Item: { topic, clientId, subscribedAt: now } }));
}

export async function unsubscribe(table: string, topic: string, clientId: string): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: table, Key: { topic, clientId } }));
}

/** Every subscriber of a topic: a Query on the topic's partition, so fan-out costs O(subscribers), never a Scan. */
export async function subscribersOf(table: string, topic: string): Promise<string[]> {
  const clients: string[] = [];
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: 'topic = :t',
    ExpressionAttributeValues: { ':t': topic },
    ProjectionExpression: 'clientId',
  });
  for await (const item of items) clients.push(item.clientId as string);
  return clients;
}
