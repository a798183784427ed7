import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { numberEnv, requireEnv } from './lib/env.js';
import { logger } from './lib/logger.js';
import { redeliverBatch } from './lib/redeliver.js';

const config = {
  inboxTable: requireEnv('INBOX_TABLE'),
  callbackUrl: requireEnv('CALLBACK_URL'),
  pushQueueUrl: requireEnv('PUSH_QUEUE_URL'),
  ackDeadlineSeconds: numberEnv('ACK_DEADLINE_SECONDS', 30),
  maxAttempts: numberEnv('MAX_ATTEMPTS', 5),
  // API Gateway's 29 s integration timeout bounds how long a connection can sit in $connect answering 410.
  goneGraceMs: 30_000,
};

/**
 * SQS trigger on the push queue: catch-ups after connects, and re-pushes of what a live connection did not ack by
 * its deadline. Only failed records are reported (ReportBatchItemFailures).
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  const failed = await redeliverBatch(event.Records, config);
  if (failed.length > 0) logger.warn('records left for retry', { count: failed.length, sqsMessageIds: failed });
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
};
