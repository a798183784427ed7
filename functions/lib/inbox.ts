import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchWrite } from './batch.js';
import { dynamo } from './clients.js';
import { INBOX_BY_SEQ_INDEX } from './keys.js';
import { logger } from './logger.js';
import { type Message, messageSchema } from './protocol.js';
import { queryItems } from './query.js';

export interface Pending {
  message: Message;
  /** How many times the message has been sent to the client so far. */
  attempt: number;
}

/**
 * One inbox item per recipient; it stays until acked or until `ttlSeconds` pass. `routedAt` is when deliver began
 * looking up the recipient's live connections: a connection recorded after that moment may have missed the live
 * push, so the push after its connect sends the item (see `pendingMessages`).
 */
export function inboxItem(
  clientId: string,
  message: Message,
  /** `message` as JSON, made once for all its recipients. */
  stored: string,
  attempt: number,
  ttlSeconds: number,
  routedAt: number,
  now = Date.now(),
) {
  return {
    clientId,
    messageId: message.id,
    seq: message.seq,
    message: stored,
    attempt,
    routedAt,
    expiresAt: Math.floor(now / 1000) + ttlSeconds,
  };
}

/** Deletes from the caller's own inbox: the key carries the caller's clientId, so another inbox is out of reach. */
export async function ackMessages(table: string, clientId: string, ids: string[]): Promise<void> {
  await batchWrite(
    table,
    [...new Set(ids)].map((messageId) => ({ DeleteRequest: { Key: { clientId, messageId } } })),
  );
}

/**
 * The client's unacked messages, oldest first, page by page. With `routedBefore`, only those whose live push was
 * routed before that moment: later ones were already pushed to every connection recorded by then.
 */
export async function* pendingMessages(
  table: string,
  clientId: string,
  routedBefore?: number,
  now = Date.now(),
): AsyncGenerator<Pending> {
  const items = queryItems({
    TableName: table,
    IndexName: INBOX_BY_SEQ_INDEX,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
    ScanIndexForward: true,
    // An item written just before this read must be in it, or it would wait for the client's next replay.
    ConsistentRead: true,
  });
  for await (const item of items) {
    // TTL deletion is best-effort on AWS and absent locally: an expired item must not come back.
    if (typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= now) continue;
    if (routedBefore !== undefined && typeof item.routedAt === 'number' && item.routedAt >= routedBefore) continue;
    const message = readMessage(item.message);
    if (!message) {
      // One unreadable item must not block the rest of the inbox on every connect and replay.
      logger.error('unreadable inbox item skipped', { clientId, messageId: item.messageId });
      continue;
    }
    yield { message, attempt: Number(item.attempt ?? 0) };
  }
}

function readMessage(stored: unknown): Message | undefined {
  try {
    const parsed = messageSchema.safeParse(JSON.parse(String(stored)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Records another send of a pending message; a message acked meanwhile stays deleted (no upsert). */
export async function recordAttempt(
  table: string,
  clientId: string,
  messageId: string,
  attempt: number,
): Promise<void> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: table,
        Key: { clientId, messageId },
        UpdateExpression: 'SET attempt = :a',
        ConditionExpression: 'attribute_exists(messageId)',
        ExpressionAttributeValues: { ':a': attempt },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
}
