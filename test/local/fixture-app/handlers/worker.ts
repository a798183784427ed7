import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Fails the records whose body contains "fail", reporting them as partial batch failures. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failed = event.Records.filter((r) => r.body.includes('fail'));
  for (const r of event.Records) console.log(`job ${r.messageId}: ${r.body}`);
  return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
}
