import { deliverBatch } from './lib/deliver.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { sqsTrigger } from './lib/trigger.js';

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

/** SQS trigger on the FIFO ingest queue: fans each message out to its recipients' inboxes and live connections. */
export const handler = sqsTrigger((records) => deliverBatch(records, config));
