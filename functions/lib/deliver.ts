import { batchWriteSettled } from './batch.js';
import { type Connection, connectionsOf, removeStaleConnection } from './connections.js';
import { inboxItem } from './inbox.js';
import { logger } from './logger.js';
import { alreadyProcessed, markProcessed } from './processed.js';
import { jsonOf, type Message } from './protocol.js';
import { pushMessages } from './push.js';
import { enqueueChecks, ingestBody, type PushTarget } from './queue.js';
import { subscribersOf } from './subscriptions.js';

export interface DeliverConfig {
  subscriptionsTable: string;
  connectionsTable: string;
  inboxTable: string;
  processedTable: string;
  callbackUrl: string;
  /** Where the checks after each push go (redeliver's queue). */
  pushQueueUrl: string;
  /** How long a connection has to ack what it was pushed before redeliver pushes it again. */
  ackDeadlineSeconds: number;
  messageTtlSeconds: number;
  processedTtlSeconds: number;
  /** A Gone connection younger than this may still be inside its $connect and is kept. */
  goneGraceMs: number;
}

export interface IngestRecord {
  messageId: string;
  body: string;
}

/** A failed push is tried again this soon, on the same connection. */
const RETRY_PUSH_DELAY_SECONDS = 1;

type Entry = { message: Message; recordIds: string[] };

/**
 * Delivers a batch of ingest records (FIFO: each publisher's in the order it published them) and returns the SQS
 * message ids of the records to retry. In this order:
 *
 * 1. the duplicate check and the recipients (subscribers, or the one `to` client), together;
 * 2. one inbox item per recipient: a message counts as delivered once all are written;
 * 3. then, and only then, the recipients' live connections (strongly consistent): a connection recorded after this
 *    lookup began gets the message from its catch-up, which reads the inbox after the connection was recorded;
 * 4. the pushes, one connection's messages in order in as few frames as fit, beside the idempotency markers;
 * 5. a check per pushed connection after the ack deadline (or a second after a failed push), which pushes again
 *    what the connection has not acked by then.
 *
 * A publisher's record that fails makes its later records in the batch fail too, unpushed, so its messages never
 * reach a live connection out of order.
 */
export async function deliverBatch(records: IngestRecord[], config: DeliverConfig): Promise<string[]> {
  const failed = new Set<string>();
  const entries = new Map<string, Entry>();
  for (const record of records) {
    const parsed = ingestBody.safeParse(jsonOf(record.body));
    if (!parsed.success) {
      logger.error('unreadable ingest record', { sqsMessageId: record.messageId, issue: parsed.error.issues[0] });
      failed.add(record.messageId);
      continue;
    }
    // A record holding a publish's batch is retried whole if any of its messages is: the delivered ones are then
    // dropped as duplicates by their markers.
    for (const message of parsed.data.kind === 'message' ? [parsed.data.message] : parsed.data.messages) {
      const entry = entries.get(message.id) ?? { message, recordIds: [] };
      entry.recordIds.push(record.messageId);
      entries.set(message.id, entry);
    }
  }
  const ordered = [...entries.values()];
  if (ordered.length === 0) return [...failed];

  const subscribers = memo((topic: string) => subscribersOf(config.subscriptionsTable, topic));
  const [done, recipients] = await Promise.all([
    alreadyProcessed(
      config.processedTable,
      ordered.map((e) => e.message.id),
    ).catch((err: unknown) => {
      logger.error('duplicate check failed', err as Error);
      return undefined;
    }),
    Promise.all(
      ordered.map(({ message }) =>
        (message.to ? Promise.resolve([message.to]) : subscribers(message.topic ?? '')).catch((err: unknown) => {
          logger.error('recipients lookup failed', { messageId: message.id, error: err as Error });
          return undefined;
        }),
      ),
    ),
  ]);
  if (!done) return [...failed, ...ordered.flatMap((e) => e.recordIds)];
  for (const id of done) logger.info('duplicate dropped', { messageId: id });

  // ── Inbox writes ──
  // A publisher whose message has no recipients list (the lookup failed) writes none of its later messages either:
  // they wait for the retry with it, in order.
  const holdBack = publishersHeldBack(failed);
  const plans = ordered
    .map((entry, i) => ({ entry, recipients: recipients[i] }))
    .filter(({ entry }) => !done.has(entry.message.id))
    .filter(({ entry, recipients: to }) => holdBack(entry, to === undefined));
  const writes = plans.flatMap(({ entry, recipients: to }, plan) => {
    const stored = JSON.stringify(entry.message); // once per message, however many recipients
    return (to ?? []).map((clientId) => ({
      plan,
      item: inboxItem(clientId, entry.message, stored, config.messageTtlSeconds),
    }));
  });
  const failedWrites = await batchWriteSettled(
    config.inboxTable,
    writes.map(({ item }) => ({ PutRequest: { Item: item } })),
  );
  const failedPlans = new Set(writes.filter((_, i) => failedWrites.has(i)).map(({ plan }) => plan));
  // FIFO: after a publisher's first failed write, its later messages are not pushed and wait for the retry too
  // (their items may be written already: docs/architecture.md, known gap 1).
  const delivered = plans.filter(({ entry }, plan) => holdBack(entry, failedPlans.has(plan)));

  // ── Pushes, beside the markers ──
  // A marker that cannot be written is logged, not retried through SQS: a retry would write the inbox items again
  // and bring back what recipients acked meanwhile.
  const [, checks] = await Promise.all([
    markProcessed(
      config.processedTable,
      delivered.map(({ entry }) => entry.message.id),
      config.processedTtlSeconds,
    ).catch((err: unknown) => logger.error('processed markers not written', err as Error)),
    pushAll(delivered, config),
  ]);
  await scheduleChecks(checks, config);
  // One line per batch, not per message: logging is a cost per message too.
  logger.info('messages delivered', { messageIds: delivered.map(({ entry }) => entry.message.id) });
  return [...failed];
}

/**
 * A filter over a batch in order: it keeps an entry unless the entry failed, or an earlier entry of its publisher
 * did; what it drops goes to `failed`, so SQS brings it back, after the failed one, in its publisher's order.
 */
function publishersHeldBack(failed: Set<string>): (entry: Entry, failedHere: boolean) => boolean {
  const stalled = new Set<string>();
  return (entry, failedHere) => {
    if (failedHere) stalled.add(entry.message.from);
    if (!stalled.has(entry.message.from)) return true;
    for (const id of entry.recordIds) failed.add(id);
    return false;
  };
}

type Checks = { deadline: PushTarget[]; retry: PushTarget[] };

/** Pushes each delivered message to its recipients' live connections; returns the checks to schedule. */
async function pushAll(delivered: { entry: Entry; recipients?: string[] }[], config: DeliverConfig): Promise<Checks> {
  const connections = memo((clientId: string) => connectionsOf(config.connectionsTable, clientId));
  const outgoing = new Map<string, { connection: Connection; messages: Message[] }>();
  const lookups = delivered.flatMap(({ entry, recipients }) =>
    (recipients ?? []).map(async (clientId) => ({ entry, live: await connections(clientId) })),
  );
  // In batch order, which is each publisher's order: a connection's messages go out in it.
  for (const settled of await Promise.allSettled(lookups)) {
    if (settled.status === 'rejected') {
      // Written, so not lost: the next check, connect or replay brings it.
      logger.warn('connections lookup failed', { error: settled.reason as Error });
      continue;
    }
    for (const connection of settled.value.live) {
      const slot = outgoing.get(connection.connectionId) ?? { connection, messages: [] };
      slot.messages.push(settled.value.entry.message);
      outgoing.set(connection.connectionId, slot);
    }
  }
  const checks: Checks = { deadline: [], retry: [] };
  await Promise.all(
    [...outgoing.values()].map(async ({ connection, messages }) => {
      const { clientId, connectionId, connectedAt } = connection;
      const target = { clientId, connectionId, connectedAt, upTo: maxSeq(messages) };
      try {
        const items = messages.map((message) => ({ message, attempt: 1 }));
        const { gone } = await pushMessages(config.callbackUrl, connectionId, items);
        if (!gone) checks.deadline.push(target);
        // A young connection is most likely still in $connect; its catch-up will read what was written here.
        else await removeStaleConnection(config.connectionsTable, connection, config.goneGraceMs);
      } catch (err) {
        logger.warn('push failed; trying again shortly', { connectionId, error: err as Error });
        checks.retry.push(target);
      }
    }),
  );
  return checks;
}

async function scheduleChecks({ deadline, retry }: Checks, config: DeliverConfig): Promise<void> {
  try {
    await Promise.all([
      deadline.length > 0 && enqueueChecks(config.pushQueueUrl, deadline, config.ackDeadlineSeconds),
      retry.length > 0 && enqueueChecks(config.pushQueueUrl, retry, RETRY_PUSH_DELAY_SECONDS),
    ]);
  } catch (err) {
    // The messages are in the inboxes: without the check they wait for the client's next connect or replay.
    logger.error('checks not scheduled', err as Error);
  }
}

/** The latest seq (ULIDs sort as text, which Math.max cannot compare). */
function maxSeq(messages: Message[]): string {
  return (
    messages
      .map(({ seq }) => seq)
      .sort()
      .at(-1) ?? ''
  );
}

function memo<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key) => {
    let value = cache.get(key);
    if (!value) {
      value = load(key);
      cache.set(key, value);
    }
    return value;
  };
}
