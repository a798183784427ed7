import { batchWriteSettled } from './batch.js';
import { type Connection, connectionsOf, removeStaleConnection } from './connections.js';
import { inboxItem } from './inbox.js';
import { logger } from './logger.js';
import { alreadyProcessed, markProcessed } from './processed.js';
import { jsonOf, type Message, messageFrame } from './protocol.js';
import { pushFrame } from './push.js';
import { enqueueConnected, type IngestBody, ingestBody } from './queue.js';
import { replayInbox } from './replay.js';
import { subscribersOf } from './subscriptions.js';

export interface DeliverConfig {
  subscriptionsTable: string;
  connectionsTable: string;
  inboxTable: string;
  processedTable: string;
  callbackUrl: string;
  /** The ingest queue, for a connect-time push asked again after a live push met a connection still in $connect. */
  queueUrl: string;
  messageTtlSeconds: number;
  processedTtlSeconds: number;
  /** A Gone connection younger than this may still be inside its $connect and is kept. */
  goneGraceMs: number;
}

export interface IngestRecord {
  messageId: string;
  body: string;
}

/**
 * Delivers a batch of ingest records and returns the SQS message ids of the records to retry. A message counts as
 * delivered once every recipient's inbox item is written: pushes to live connections are best effort (a failed one
 * leaves the message waiting in the inbox). DynamoDB work is batched across the records: one BatchGetItem for the
 * duplicate check, one Query per distinct topic and recipient, BatchWriteItem for the inbox items and markers.
 */
export async function deliverBatch(records: IngestRecord[], config: DeliverConfig): Promise<string[]> {
  const failed = new Set<string>();
  const messages = new Map<string, Entry>();
  const connects: (Omit<Extract<IngestBody, { kind: 'connected' }>, 'kind'> & { recordId: string })[] = [];
  for (const record of records) {
    const parsed = ingestBody.safeParse(jsonOf(record.body));
    if (!parsed.success) {
      logger.error('unreadable ingest record', { sqsMessageId: record.messageId, issue: parsed.error.issues[0] });
      failed.add(record.messageId);
    } else if (parsed.data.kind === 'connected') {
      connects.push({ recordId: record.messageId, ...parsed.data });
    } else {
      const { message } = parsed.data;
      const entry = messages.get(message.id) ?? { message, recordIds: [] };
      entry.recordIds.push(record.messageId);
      messages.set(message.id, entry);
    }
  }
  const fail = (ids: string[]) => {
    for (const id of ids) failed.add(id);
  };
  await Promise.all([
    fanOut([...messages.values()], config).then(fail),
    ...connects.map(async ({ recordId, clientId, connectionId, connectedAt, routedBefore }) => {
      try {
        const { inboxTable, callbackUrl } = config;
        const { count, gone } = await replayInbox(inboxTable, callbackUrl, clientId, connectionId, routedBefore);
        logger.info('pending inbox pushed after connect', { clientId, connectionId, count, gone });
        // Gone this early most likely means $connect is still running (API Gateway answers 410 until it ends):
        // let SQS bring the record back rather than leave the inbox waiting for the client's next replay.
        if (gone && connectedAt !== undefined && Date.now() - connectedAt < config.goneGraceMs) failed.add(recordId);
      } catch (err) {
        logger.error('push after connect failed', { clientId, connectionId, error: err as Error });
        failed.add(recordId);
      }
    }),
  ]);
  return [...failed];
}

type Entry = { message: Message; recordIds: string[] };

/** Writes each new message into its recipients' inboxes, then pushes it; returns the record ids to retry. */
async function fanOut(entries: Entry[], config: DeliverConfig): Promise<string[]> {
  if (entries.length === 0) return [];
  // Taken before any lookup: a connection recorded after this moment may be missing from them (see inboxItem).
  const routedAt = Date.now();
  const subscribers = memo((topic: string) => subscribersOf(config.subscriptionsTable, topic));
  const connections = memo((clientId: string) => connectionsOf(config.connectionsTable, clientId));
  // The duplicate check and the recipient lookups do not depend on each other: one round trip instead of two.
  const [done, lookups] = await Promise.all([
    alreadyProcessed(
      config.processedTable,
      entries.map((e) => e.message.id),
    ).catch((err: unknown) => {
      logger.error('duplicate check failed', err as Error);
      return undefined;
    }),
    Promise.all(
      entries.map(async (entry) => {
        try {
          const { message } = entry;
          const recipients = message.to ? [message.to] : await subscribers(message.topic ?? '');
          const live = await Promise.all(
            recipients.map(async (clientId) => ({ clientId, to: await connections(clientId) })),
          );
          return { entry, live };
        } catch (err) {
          logger.error('recipients lookup failed', { messageId: entry.message.id, error: err as Error });
          return { entry, live: undefined };
        }
      }),
    ),
  ]);
  if (!done) return entries.flatMap((e) => e.recordIds);
  for (const id of done) logger.info('duplicate dropped', { messageId: id });
  const planned = lookups.filter(({ entry }) => !done.has(entry.message.id));

  const items = planned.flatMap(({ entry, live }, index) => {
    const stored = JSON.stringify(entry.message); // once per message, however many recipients
    return (live ?? []).map(({ clientId, to }) => ({
      index,
      item: inboxItem(clientId, entry.message, stored, to.length > 0 ? 1 : 0, config.messageTtlSeconds, routedAt),
    }));
  });
  const failedWrites = await batchWriteSettled(
    config.inboxTable,
    items.map(({ item }) => ({ PutRequest: { Item: item } })),
  );
  const failedPlans = new Set(items.filter((_, i) => failedWrites.has(i)).map(({ index }) => index));
  const isDelivered = ({ live }: (typeof planned)[number], index: number) =>
    live !== undefined && !failedPlans.has(index);
  const delivered = planned.filter(isDelivered);

  // Markers and pushes go out together. A marker that cannot be written is logged, not retried through SQS: a
  // retry would write the inbox items again and bring back what recipients acked meanwhile, which without the
  // marker only an SQS duplicate of the record could do.
  const connecting = new Map<string, Connection>();
  await Promise.all([
    markProcessed(
      config.processedTable,
      delivered.map(({ entry }) => entry.message.id),
      config.processedTtlSeconds,
    ).catch((err: unknown) => logger.error('processed markers not written', err as Error)),
    ...delivered.flatMap(({ entry, live }) => {
      const frame = JSON.stringify(messageFrame(entry.message, 1)); // once per message, however many connections
      return (live ?? []).flatMap(({ to }) =>
        to.map(async (connection) => {
          if ((await pushLive(entry.message.id, frame, connection, config)) === 'connecting')
            connecting.set(connection.connectionId, connection);
        }),
      );
    }),
  ]);
  await Promise.all([...connecting.values()].map((connection) => askForConnectPush(connection, config)));
  // One line per batch, not per message: logging is a cost per message too.
  logger.info('messages delivered', { messageIds: delivered.map(({ entry }) => entry.message.id) });
  return planned.filter((plan, index) => !isDelivered(plan, index)).flatMap(({ entry }) => entry.recordIds);
}

/** `connecting` means API Gateway answered Gone to a connection young enough to be still inside its $connect. */
async function pushLive(
  messageId: string,
  frame: string,
  connection: Connection,
  config: DeliverConfig,
): Promise<'sent' | 'gone' | 'connecting' | 'failed'> {
  try {
    if ((await pushFrame(config.callbackUrl, connection.connectionId, frame)) === 'sent') return 'sent';
    const removed = await removeStaleConnection(config.connectionsTable, connection, config.goneGraceMs);
    logger.info('connection gone', { connectionId: connection.connectionId, removed });
    return removed ? 'gone' : 'connecting';
  } catch (err) {
    // The message is safe in the inbox; the client gets it on its next connect or replay.
    logger.warn('push failed', { messageId, connectionId: connection.connectionId, error: err as Error });
    return 'failed';
  }
}

/**
 * The push after this connection's connect leaves out what was routed after the connection was recorded, so a live
 * push that met it still in $connect asks for another one covering up to now.
 */
async function askForConnectPush(connection: Connection, config: DeliverConfig): Promise<void> {
  const { clientId, connectionId, connectedAt } = connection;
  try {
    await enqueueConnected(config.queueUrl, { clientId, connectionId, connectedAt, routedBefore: Date.now() });
  } catch (err) {
    logger.error('connect push not asked again', { clientId, connectionId, error: err as Error });
  }
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
