import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { logger } from './logger.js';
import { type Message, messageSchema, SEQ_PATTERN } from './protocol.js';
import { queryItems } from './query.js';
import { updateIfStill } from './update.js';

/**
 * An inbox holds pages: one item per recipient per publisher per deliver batch, with that publisher's messages for
 * the recipient in the order it published them. DynamoDB bills writes and deletes per 1 KB of item, so ten small
 * messages in one page cost what two or three cost one item each, and the ack of the whole page is one delete.
 */
export interface Page {
  clientId: string;
  /** The sort key: the seq of the page's first message, so pages sort in publish order. */
  start: string;
  messages: Message[];
}

/** Messages in one page at most: the positions carry the count and index in two decimal digits. */
export const PAGE_MAX_MESSAGES = 99;
/** Bytes of messages in one page at most, well below DynamoDB's 400 KB item limit. */
export const PAGE_MAX_BYTES = 300 * 1024;

/**
 * A message's position in its recipient's inbox, the `seq` of its frame: the page's start, the page's message count
 * and the message's index, so that positions sort as text in inbox order and an ack finds its page without a read.
 */
export function positionOf(start: string, count: number, index: number): string {
  return `${start}.${two(count)}.${two(index)}`;
}

export function parsePosition(seq: string): { start: string; count: number; index: number } | undefined {
  const match = SEQ_PATTERN.exec(seq);
  if (!match) return undefined;
  const [, start, count, index] = match as unknown as [string, string, string, string];
  return { start, count: Number(count), index: Number(index) };
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** One recipient's messages of one publisher, in order, cut into pages that fit the limits. */
export function pagesOf(clientId: string, messages: { message: Message; bytes: number }[]): Page[] {
  const pages: Page[] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const { message, bytes: size } of messages) {
    if (current.length > 0 && (current.length >= PAGE_MAX_MESSAGES || bytes + size > PAGE_MAX_BYTES)) {
      pages.push({ clientId, start: (current[0] as Message).seq, messages: current });
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) pages.push({ clientId, start: (current[0] as Message).seq, messages: current });
  return pages;
}

/** The item of a page; it stays until all its messages are acked or until `ttlSeconds` pass. */
export function pageItem(
  page: Page,
  /** `page.messages` as JSON, made once for all recipients that get the same messages. */
  stored: string,
  ttlSeconds: number,
  now = Date.now(),
) {
  return {
    clientId: page.clientId,
    seq: page.start,
    n: page.messages.length,
    messages: stored,
    attempt: 0,
    expiresAt: Math.floor(now / 1000) + ttlSeconds,
  };
}

/** The positions of a page's messages, in order: what its frames carry as `seq`. */
export function positionsOf(page: Page): Message[] {
  return page.messages.map((message, i) => ({ ...message, seq: positionOf(page.start, page.messages.length, i) }));
}

/**
 * Acks messages of the caller's own inbox by position: the key carries the caller's clientId, so another inbox is
 * out of reach. A page whose every message is acked is deleted (one delete for all of them); a page acked in part
 * remembers which of its messages are, and is deleted with its last one.
 */
export async function ackPositions(table: string, clientId: string, seqs: string[]): Promise<void> {
  const pages = new Map<string, { count: number; indexes: Set<number> }>();
  for (const seq of seqs) {
    const position = parsePosition(seq);
    if (!position) continue;
    const page = pages.get(position.start) ?? { count: position.count, indexes: new Set() };
    page.indexes.add(position.index);
    pages.set(position.start, page);
  }
  const whole = [...pages].filter(([, p]) => p.indexes.size >= p.count);
  const partial = [...pages].filter(([, p]) => p.indexes.size < p.count);
  await Promise.all([
    deleteAll(
      table,
      whole.map(([seq]) => ({ clientId, seq })),
    ),
    ...partial.map(async ([seq, { count, indexes }]) => {
      // UPDATED_NEW: `acked` is all this needs back, and all the ack function's role may read through an update.
      const after = await updateIfStill({
        TableName: table,
        Key: { clientId, seq },
        UpdateExpression: 'ADD acked :i',
        ConditionExpression: 'attribute_exists(seq)',
        ExpressionAttributeValues: { ':i': indexes },
        ReturnValues: 'UPDATED_NEW',
      });
      const acked = after?.acked as Set<number> | undefined;
      if (acked && acked.size >= count)
        await dynamo.send(new DeleteCommand({ TableName: table, Key: { clientId, seq } }));
    }),
  ]);
}

/**
 * The positions of messages named by id (or by the publish seq an older client acks with), looked up in the caller's
 * pending inbox: one Query, paid only by clients that ack by id (wscat users, say) instead of by the `seq` each frame
 * carries.
 */
export async function positionsOfIds(table: string, clientId: string, ids: string[]): Promise<string[]> {
  const wanted = new Set(ids);
  if (wanted.size === 0) return [];
  const found: string[] = [];
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
    ProjectionExpression: 'seq, messages',
  });
  for await (const item of items) {
    const messages = readMessages(item.messages) ?? [];
    messages.forEach((message, i) => {
      if (wanted.has(message.id) || wanted.has(message.seq))
        found.push(positionOf(String(item.seq), messages.length, i));
    });
  }
  return found;
}

export interface PendingPage {
  start: string;
  /** The page's unacked messages, with their positions as `seq`. */
  messages: Message[];
  /** How many times the page has been recorded as sent to the client (a first live push is not recorded). */
  attempt: number;
}

/**
 * The client's pages with unacked messages, oldest first; with `upTo` (a position), only those up to its page. The
 * read is strongly consistent: an item written before it began must be in it, which is what lets a catch-up that
 * starts after a connection was recorded cover every message the live push could not have seen.
 */
export async function* pendingPages(
  table: string,
  clientId: string,
  upTo?: string,
  now = Date.now(),
): AsyncGenerator<PendingPage> {
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
    const messages = readMessages(item.messages);
    if (!messages) {
      // One unreadable item must not block the rest of the inbox on every connect and replay.
      logger.error('unreadable inbox page skipped', { clientId, seq: item.seq });
      continue;
    }
    const start = String(item.seq);
    const acked = (item.acked as Set<number> | undefined) ?? new Set<number>();
    yield {
      start,
      messages: positionsOf({ clientId, start, messages }).filter((_, i) => !acked.has(i)),
      attempt: Number(item.attempt ?? 0),
    };
  }
}

function readMessages(stored: unknown): Message[] | undefined {
  try {
    const parsed = messageSchema.array().safeParse(JSON.parse(String(stored)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps a client's inbox within `cap` pending messages by deleting its oldest pages beyond the cap (newest first, the
 * page that crosses the cap is kept whole, so up to one page more stays); returns how many messages it dropped. Run
 * before a full catch-up, which then tells the client with `synced`'s `dropped`: the write path stays one BatchWrite,
 * with no counter to keep, and an inbox only grows while its client stays away, which its TTL also bounds.
 */
export async function trimInbox(table: string, clientId: string, cap: number, now = Date.now()): Promise<number> {
  let kept = 0;
  let dropped = 0;
  const beyond: string[] = [];
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
    ProjectionExpression: 'seq, n, acked, expiresAt',
    ScanIndexForward: false,
  });
  for await (const item of items) {
    if (typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= now) continue;
    const pending = Number(item.n ?? 0) - ((item.acked as Set<number> | undefined)?.size ?? 0);
    if (kept < cap) kept += pending;
    else {
      beyond.push(String(item.seq));
      dropped += pending;
    }
  }
  if (beyond.length === 0) return 0;
  await deleteAll(
    table,
    beyond.map((seq) => ({ clientId, seq })),
  );
  logger.warn('inbox over its cap: oldest messages dropped', { clientId, cap, dropped });
  return dropped;
}

/** Deletes in flight at once: what one BatchWriteItem would carry. */
const PARALLEL_DELETES = 25;

/**
 * Deletes items by key with DeleteItem, PARALLEL_DELETES at a time. Not BatchWriteItem: IAM authorizes a whole
 * BatchWriteItem by `dynamodb:BatchWriteItem` alone, which allows its PutRequests too, so a function meant only to
 * delete and mark items (ack, replay) could then write whole items into any inbox. The write units are the same either way (a delete costs
 * its item's size, batched or not); only the request count differs, and acks name few pages.
 */
async function deleteAll(table: string, keys: Record<string, string>[]): Promise<void> {
  for (let i = 0; i < keys.length; i += PARALLEL_DELETES)
    await Promise.all(
      keys.slice(i, i + PARALLEL_DELETES).map((Key) => dynamo.send(new DeleteCommand({ TableName: table, Key }))),
    );
}

/** Records another send of a page; a page acked meanwhile stays deleted (no upsert). */
export async function recordAttempt(table: string, clientId: string, start: string, attempt: number): Promise<void> {
  await updateIfStill({
    TableName: table,
    Key: { clientId, seq: start },
    UpdateExpression: 'SET attempt = :a',
    ConditionExpression: 'attribute_exists(seq)',
    ExpressionAttributeValues: { ':a': attempt },
  });
}
