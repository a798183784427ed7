import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { batchWrite } from './batch.js';
import { dynamo } from './clients.js';

/** DynamoDB's BatchGetItem limit. */
const MAX_KEYS = 100;

/**
 * Which of these message ids were already fanned out. SQS delivers at least once, and a publisher may retry with
 * its idempotency key; without this check a duplicate would write the inbox item again after the client acked it.
 */
export async function alreadyProcessed(table: string, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += MAX_KEYS) {
    let keys: Record<string, unknown>[] = unique.slice(i, i + MAX_KEYS).map((messageId) => ({ messageId }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 5) throw new Error(`${keys.length} reads from ${table} still unprocessed`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      const result = await dynamo.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ProjectionExpression: 'messageId' } } }),
      );
      for (const item of result.Responses?.[table] ?? []) found.add(item.messageId as string);
      keys = (result.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return found;
}

/** Remembers fanned-out message ids for as long as SQS could still hold a duplicate (the queue's retention). */
export async function markProcessed(table: string, ids: string[], ttlSeconds: number, now = Date.now()): Promise<void> {
  const expiresAt = Math.floor(now / 1000) + ttlSeconds;
  await batchWrite(
    table,
    [...new Set(ids)].map((messageId) => ({ PutRequest: { Item: { messageId, expiresAt } } })),
  );
}
