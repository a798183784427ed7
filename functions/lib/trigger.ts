import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from './logger.js';

/**
 * An SQS trigger whose `run` returns the message ids of the records to retry. Only those are reported
 * (ReportBatchItemFailures), so SQS retries just them and, after maxReceiveCount, dead-letters them.
 */
export function sqsTrigger(
  run: (records: SQSEvent['Records']) => Promise<string[]>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    logger.addContext(context);
    const failed = await run(event.Records);
    if (failed.length > 0) logger.warn('records left for retry', { count: failed.length, sqsMessageIds: failed });
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
