import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { deliverBatch } from './lib/deliver.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { logger } from './lib/logger.js';

const config = {
  subscriptionsTable: requireEnv('SUBSCRIPTIONS_TABLE'),
  connectionsTable: requireEnv('CONNECTIONS_TABLE'),
  inboxTable: requireEnv('INBOX_TABLE'),
  processedTable: requireEnv('PROCESSED_TABLE'),
  callbackUrl: requireEnv('CALLBACK_URL'),
  pushQueueUrl: requireEnv('PUSH_QUEUE_URL'),
  ackDeadlineSeconds: numberEnv('ACK_DEADLINE_SECONDS', 30),
  messageTtlSeconds: numberEnv('MESSAGE_TTL_SECONDS', 1_209_600),
  processedTtlSeconds: numberEnv('PROCESSED_TTL_SECONDS', 1_209_600),
  // API Gateway's 29 s integration timeout bounds how long a connection can sit in $connect answering 410.
  goneGraceMs: 30_000,
};

/**
 * SQS trigger on the FIFO ingest queue: fans each message out to its recipients' inboxes and live connections. Only the
 * records that could not be written are reported (ReportBatchItemFailures), so SQS retries just those and, after
 * maxReceiveCount, moves them to the dead-letter queue.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  const failed = await deliverBatch(event.Records, config);
  if (failed.length > 0) logger.warn('records left for retry', { count: failed.length, sqsMessageIds: failed });
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
};
