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
 * At a client's connect: pushes back the expiry of its subscriptions, and deletes those its token no longer allows
 * (`allowed` says which), so a narrower token stops what a wider one subscribed to. One Query of the `byClient`
 * index, then a write only for those not refreshed for a day (or half the TTL, if shorter) and those dropped. An
 * unsubscribed one stays deleted.
 */
export async function refreshSubscriptions(
  table: string,
  clientId: string,
  ttlSeconds: number,
  allowed: (topic: string) => boolean,
  now = Date.now(),
): Promise<{ refreshed: number; dropped: string[] }> {
  const nowSeconds = Math.floor(now / 1000);
  const expiresAt = nowSeconds + ttlSeconds;
  const due = expiresAt - Math.min(REFRESH_EVERY_SECONDS, ttlSeconds / 2);
  const stale: string[] = [];
  const dropped: string[] = [];
  const items = queryItems({
    TableName: table,
    IndexName: SUBSCRIPTIONS_BY_CLIENT_INDEX,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
  });
  for await (const item of items) {
    const topic = item.topic as string;
    const current = typeof item.expiresAt === 'number' ? item.expiresAt : 0;
    if (!allowed(topic)) dropped.push(topic);
    // An expired subscription is over: TTL deletion is only late, and a connect must not bring it back.
    else if (current > nowSeconds && current < due) stale.push(topic);
  }
  await Promise.all([
    ...stale.map((topic) =>
      updateIfStill({
        TableName: table,
        Key: { topic, clientId },
        UpdateExpression: 'SET expiresAt = :e',
        ConditionExpression: 'expiresAt > :now',
        ExpressionAttributeValues: { ':e': expiresAt, ':now': nowSeconds },
      }),
    ),
    ...dropped.map((topic) => unsubscribe(table, topic, clientId)),
  ]);
  return { refreshed: stale.length, dropped };
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
