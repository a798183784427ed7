import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { SUBSCRIPTIONS_BY_CLIENT_INDEX } from './keys.js';
import { queryItems } from './query.js';
import { updateIfStill } from './update.js';

/**
 * Durable: the subscription belongs to the client, not to the connection that asked for it. Idempotent. It expires
 * `ttlSeconds` after the client's last connect (see `refreshSubscriptions`), so a client that is gone for good stops
 * collecting messages.
 */
export async function subscribe(
  table: string,
  topic: string,
  clientId: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: table,
      Item: { topic, clientId, subscribedAt: now, expiresAt: Math.floor(now / 1000) + ttlSeconds },
    }),
  );
}

/** A subscription is written again at most once in this long, however often its client connects. */
const REFRESH_EVERY_SECONDS = 86_400;

/**
 * Pushes back the expiry of a client's subscriptions, at its connect: one Query of the `byClient` index, and a write
 * only for those that have not been refreshed for a day (or half the TTL, if shorter). An unsubscribed one stays
 * deleted. Returns how many were written.
 */
export async function refreshSubscriptions(
  table: string,
  clientId: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<number> {
  const nowSeconds = Math.floor(now / 1000);
  const expiresAt = nowSeconds + ttlSeconds;
  const due = expiresAt - Math.min(REFRESH_EVERY_SECONDS, ttlSeconds / 2);
  const stale: string[] = [];
  const items = queryItems({
    TableName: table,
    IndexName: SUBSCRIPTIONS_BY_CLIENT_INDEX,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
  });
  for await (const item of items) {
    const current = typeof item.expiresAt === 'number' ? item.expiresAt : 0;
    // An expired subscription is over: TTL deletion is only late, and a connect must not bring it back.
    if (current > nowSeconds && current < due) stale.push(item.topic as string);
  }
  await Promise.all(
    stale.map((topic) =>
      updateIfStill({
        TableName: table,
        Key: { topic, clientId },
        UpdateExpression: 'SET expiresAt = :e',
        ConditionExpression: 'expiresAt > :now',
        ExpressionAttributeValues: { ':e': expiresAt, ':now': nowSeconds },
      }),
    ),
  );
  return stale.length;
}

export async function unsubscribe(table: string, topic: string, clientId: string): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: table, Key: { topic, clientId } }));
}

/**
 * Every live subscriber of a topic: a Query on the topic's partition, so fan-out costs O(subscribers), never a Scan.
 * Expired subscriptions are left out (TTL deletion is best-effort on AWS and absent locally).
 */
export async function subscribersOf(table: string, topic: string, now = Date.now()): Promise<string[]> {
  const clients: string[] = [];
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: 'topic = :t',
    ExpressionAttributeValues: { ':t': topic },
    ProjectionExpression: 'clientId, expiresAt',
  });
  for await (const item of items) {
    if (typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= now) continue;
    clients.push(item.clientId as string);
  }
  return clients;
}
