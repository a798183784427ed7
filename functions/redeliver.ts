import { numberEnv, requireEnv } from './lib/env.js';
import { jobsConfigFromEnv } from './lib/jobs.js';
import { redeliverBatch } from './lib/redeliver.js';
import { sqsTrigger } from './lib/trigger.js';

const config = {
  inboxTable: requireEnv('INBOX_TABLE'),
  connectionsTable: requireEnv('CONNECTIONS_TABLE'),
  messageTtlSeconds: numberEnv('MESSAGE_TTL_SECONDS', 1_209_600),
  callbackUrl: requireEnv('CALLBACK_URL'),
  pushQueueUrl: requireEnv('PUSH_QUEUE_URL'),
  ackDeadlineSeconds: numberEnv('ACK_DEADLINE_SECONDS', 30),
  maxAttempts: numberEnv('MAX_ATTEMPTS', 5),
  maxPending: numberEnv('MAX_PENDING_MESSAGES', 10_000),
  // API Gateway's 29 s integration timeout bounds how long a connection can sit in $connect answering 410.
  goneGraceMs: 30_000,
  jobs: jobsConfigFromEnv(),
};

/**
 * SQS trigger on the push queue: catch-ups after connects, re-pushes of what was not acked by its deadline, and the
 * work queues' lease deadlines and delays.
 */
export const handler = sqsTrigger((records) => redeliverBatch(records, config));
