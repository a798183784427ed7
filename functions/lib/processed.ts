import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { batchWrite } from './batch.js';
import { dynamo } from './clients.js';
import { groupOf } from './queue.js';

/** DynamoDB's BatchGetItem limit. */
const MAX_KEYS = 100;

/**
 * How far a publisher's messages have been fanned out: the ingest queue's SequenceNumber of the last record
 * delivered (it grows within a message group, and a group is one publisher) and the latest `seq` in those records.
 * One item per publisher, written once per deliver batch, where a marker per message would cost a write each.
 */
export interface Watermark {
  sequenceNumber: bigint;
  seq: string;
}

/** What the duplicate check found: each publisher's watermark, and which keyed message ids were fanned out. */
export interface Delivered {
  watermarks: Map<string, Watermark>;
  keyed: Set<string>;
}

// ':' is neither in a ULID nor in a keyed id (k + base64url), so no message id can name a watermark.
function watermarkKey(from: string): string {
  return `p:${groupOf(from)}`;
}

/**
 * The watermarks of these publishers and which of these ids were already fanned out. SQS delivers at least once,
 * and a publisher may retry with its idempotency key after SQS's five-minute deduplication window; without this
 * check a duplicate would write the inbox again after the client acked it.
 */
export async function deliveredBefore(table: string, publishers: string[], ids: string[]): Promise<Delivered> {
  const byKey = new Map<string, string>([...new Set(publishers)].map((from) => [watermarkKey(from), from]));
  const unique = [...byKey.keys(), ...new Set(ids)];
  const delivered: Delivered = { watermarks: new Map(), keyed: new Set() };
  for (let i = 0; i < unique.length; i += MAX_KEYS) {
    let keys: Record<string, unknown>[] = unique.slice(i, i + MAX_KEYS).map((messageId) => ({ messageId }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 5) throw new Error(`${keys.length} reads from ${table} still unprocessed`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      const result = await dynamo.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }));
      for (const item of result.Responses?.[table] ?? []) {
        const key = item.messageId as string;
        const from = byKey.get(key);
        if (from === undefined) delivered.keyed.add(key);
        else delivered.watermarks.set(from, { sequenceNumber: BigInt(item.sequenceNumber as string), seq: item.seq });
      }
      keys = (result.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return delivered;
}

/**
 * Whether a record at or behind its publisher's watermark: one SQS delivered again. Its `seq`s must be behind too,
 * so that a replaced ingest queue, whose numbers start again, cannot make new messages look old.
 */
export function behind(watermark: Watermark | undefined, sequenceNumber: string, lastSeq: string): boolean {
  return watermark !== undefined && BigInt(sequenceNumber) <= watermark.sequenceNumber && lastSeq <= watermark.seq;
}

/**
 * Remembers what was fanned out: each publisher's new watermark, and the keyed ids, for as long as SQS or a
 * publisher's retry could still bring a duplicate (the queue's retention).
 */
export async function markDelivered(
  table: string,
  watermarks: Map<string, Watermark>,
  ids: string[],
  ttlSeconds: number,
  now = Date.now(),
): Promise<void> {
  const expiresAt = Math.floor(now / 1000) + ttlSeconds;
  await batchWrite(table, [
    ...[...watermarks].map(([from, { sequenceNumber, seq }]) => ({
      PutRequest: { Item: { messageId: watermarkKey(from), sequenceNumber: String(sequenceNumber), seq, expiresAt } },
    })),
    ...[...new Set(ids)].map((messageId) => ({ PutRequest: { Item: { messageId, expiresAt } } })),
  ]);
}
