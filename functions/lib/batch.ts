import { BatchWriteCommand, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { logger } from './logger.js';

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** DynamoDB's BatchWriteItem limit. */
const MAX_BATCH = 25;
const MAX_ATTEMPTS = 6;

/**
 * Writes `requests` to one table in batches of 25 and returns the indexes of the requests that did not get written,
 * so a caller batching for many messages can fail only the messages concerned. What DynamoDB leaves unprocessed
 * (it does so under throttling, not as an error) is retried with exponential backoff; what is still left after that
 * fails alone, the rest of its chunk counts as written. DynamoDB hands unprocessed requests back as new objects, so
 * `keyOf` (by default the request's JSON) matches them to the requests given.
 */
export async function batchWriteSettled(
  table: string,
  requests: WriteRequest[],
  keyOf: (request: WriteRequest) => string = (request) => JSON.stringify(request),
): Promise<Set<number>> {
  const failed = new Set<number>();
  const chunks: number[][] = [];
  for (let i = 0; i < requests.length; i += MAX_BATCH)
    chunks.push(requests.slice(i, i + MAX_BATCH).map((_, offset) => i + offset));
  await Promise.all(
    chunks.map(async (indexes) => {
      try {
        const left = await writeChunk(
          table,
          indexes.map((index) => requests[index] as WriteRequest),
        );
        if (left.length === 0) return;
        const unwritten = new Set(left.map(keyOf));
        logger.error('BatchWriteItem left writes unprocessed', { table, count: left.length, attempts: MAX_ATTEMPTS });
        for (const index of indexes) if (unwritten.has(keyOf(requests[index] as WriteRequest))) failed.add(index);
      } catch (err) {
        logger.error('BatchWriteItem failed', { table, error: err as Error });
        for (const index of indexes) failed.add(index);
      }
    }),
  );
  return failed;
}

/** Like batchWriteSettled, but all or nothing from the caller's point of view: throws if any write is left. */
export async function batchWrite(table: string, requests: WriteRequest[]): Promise<void> {
  const failed = await batchWriteSettled(table, requests);
  if (failed.size > 0) throw new Error(`${failed.size} of ${requests.length} writes to ${table} failed`);
}

async function writeChunk(table: string, chunk: WriteRequest[]): Promise<WriteRequest[]> {
  let pending = chunk;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && pending.length > 0; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
    const result = await dynamo.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
    pending = result.UnprocessedItems?.[table] ?? [];
  }
  return pending;
}
