import { batchWrite } from './batch.js';
import { logger } from './logger.js';
import { type Message, messageSchema } from './protocol.js';
import { queryItems } from './query.js';
import { updateIfStill } from './update.js';

export interface Pending {
  message: Message;
  /** How many times the message has been recorded as sent to the client (a first live push is not recorded). */
  attempt: number;
}

/**
 * One inbox item per recipient, keyed by the message's `seq` so that the table itself keeps the order; it stays
 * until acked or until `ttlSeconds` pass.
 */
export function inboxItem(
  clientId: string,
  message: Message,
  /** `message` as JSON, made once for all its recipients. */
  stored: string,
  ttlSeconds: number,
  now = Date.now(),
) {
  return {
    clientId,
    seq: message.seq,
    id: message.id,
    message: stored,
    attempt: 0,
    expiresAt: Math.floor(now / 1000) + ttlSeconds,
  };
}

/** Deletes from the caller's own inbox: the key carries the caller's clientId, so another inbox is out of reach. */
export async function ackMessages(table: string, clientId: string, seqs: string[]): Promise<void> {
  await batchWrite(
    table,
    [...new Set(seqs)].map((seq) => ({ DeleteRequest: { Key: { clientId, seq } } })),
  );
}

/** A ULID: what `seq` always is, and what a message id is when the publisher gave no idempotency key. */
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The seqs of messages named by id. An id without a publisher's key is its own seq; a keyed id is looked up in the
 * caller's pending inbox (one Query, paid only by clients that ack keyed messages by id instead of by seq).
 */
export async function seqsOf(table: string, clientId: string, ids: string[]): Promise<string[]> {
  const seqs = ids.filter((id) => ULID.test(id));
  const keyed = new Set(ids.filter((id) => !ULID.test(id)));
  if (keyed.size === 0) return seqs;
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
    ProjectionExpression: 'seq, id',
  });
  for await (const item of items) if (keyed.has(item.id as string)) seqs.push(item.seq as string);
  return seqs;
}

/**
 * The client's unacked messages, oldest first, page by page; with `upTo`, only those at or before that seq. The
 * read is strongly consistent: an item written before it began must be in it, which is what lets a catch-up that
 * starts after a connection was recorded cover every message the live push could not have seen.
 */
export async function* pendingMessages(
  table: string,
  clientId: string,
  upTo?: string,
  now = Date.now(),
): AsyncGenerator<Pending> {
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: upTo === undefined ? 'clientId = :c' : 'clientId = :c AND seq <= :u',
    ExpressionAttributeValues: upTo === undefined ? { ':c': clientId } : { ':c': clientId, ':u': upTo },
    ScanIndexForward: true,
    ConsistentRead: true,
  });
  for await (const item of items) {
    // TTL deletion is best-effort on AWS and absent locally: an expired item must not come back.
    if (typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= now) continue;
    const message = readMessage(item.message);
    if (!message) {
      // One unreadable item must not block the rest of the inbox on every connect and replay.
      logger.error('unreadable inbox item skipped', { clientId, seq: item.seq });
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
export async function recordAttempt(table: string, clientId: string, seq: string, attempt: number): Promise<void> {
  await updateIfStill({
    TableName: table,
    Key: { clientId, seq },
    UpdateExpression: 'SET attempt = :a',
    ConditionExpression: 'attribute_exists(seq)',
    ExpressionAttributeValues: { ':a': attempt },
  });
}
