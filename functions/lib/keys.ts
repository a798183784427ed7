// Names shared by the tables the stack declares (infra/constructs/tables.ts) and the items the handlers write.
// Kept free of imports so the CDK app can read them without loading any AWS SDK client.

/** The TTL attribute of every Postbox table: epoch seconds (DynamoDB ignores milliseconds as "far future"). */
export const TTL_ATTRIBUTE = 'expiresAt';

/** The subscriptions' index by client (keys and `expiresAt`): what `$connect` refreshes. */
export const SUBSCRIPTIONS_BY_CLIENT_INDEX = 'byClient';

/** The jobs table's local index by `order`: ready jobs by the time they are ready, dead ones by when they died. */
export const JOBS_BY_ORDER_INDEX = 'byOrder';

/** The message of the log line a dead-lettered job leaves; the stack's dead-letter alarm counts these lines. */
export const DEAD_LETTERED_MESSAGE = 'job dead-lettered';

/**
 * The message of the line a work queue with waiting or dead jobs logs each minute, with `oldestReadyAgeSeconds` and
 * `deadJobs`: the stack's age and dead-letter depth alarms read these two fields.
 */
export const QUEUE_REPORT_MESSAGE = 'work queue report';
