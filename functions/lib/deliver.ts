import { performance } from 'node:perf_hooks';
import { batchWriteSettled } from './batch.js';
import { type Connection, connectionsOf, holdConnection, removeStaleConnection } from './connections.js';
import { type Page, pageItem, pagesOf, positionOf, positionsOf } from './inbox.js';
import { logger } from './logger.js';
import { behind, deliveredBefore, markDelivered, type Watermark } from './processed.js';
import { jsonOf, type Message } from './protocol.js';
import { pushMessages } from './push.js';
import { enqueueChecks, enqueueWrites, ingestBody, type PushTarget } from './queue.js';
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
  /** The ingest queue's system attributes: a FIFO queue's SequenceNumber grows within each publisher's group. */
  attributes?: { SequenceNumber?: string };
}

/** A failed push is tried again this soon, on the same connection; so is an inbox write that failed. */
const RETRY_DELAY_SECONDS = 1;

/**
 * A connection's catch-up reads its inbox at least this long after the connection was recorded (connect's delay
 * on the push queue, 1 s), with a margin. An inbox write that finished within this of the connections lookup's
 * start is in every catch-up the lookup could have missed; a slower one is followed by a second lookup.
 */
const EARLY_LOOKUP_MS = 500;

type Entry = { message: Message; recordIds: string[] };
type RecordInfo = { from: string; sequenceNumber?: string; lastSeq: string };

/**
 * Delivers a batch of ingest records (FIFO: each publisher's in the order it published them) and returns the SQS
 * message ids of the records to retry. In this order:
 *
 * 1. the duplicate check (each publisher's watermark, and the markers of keyed ids) and the recipients
 *    (subscribers, or the one `to` client), together;
 * 2. one inbox page per recipient per publisher: a message counts as delivered once all are written. A page that
 *    cannot be written goes to redeliver, which writes it a second later: one recipient waits, not all of them;
 * 3. beside the writes, the recipients' live connections (strongly consistent). A connection recorded after this
 *    lookup began gets the message from its catch-up, which reads the inbox at least a second after the connection
 *    was recorded: that read sees the pages if they were written within EARLY_LOOKUP_MS of the lookup's start;
 *    if the writes took longer, the connections are looked up again after them;
 * 4. the pushes, one connection's messages in order in as few frames as fit, beside the new watermarks;
 * 5. a check per pushed connection after the ack deadline (or a second after a failed push), which pushes again
 *    what the connection has not acked by then. A failed push also holds the connection: later batches push it
 *    nothing until that check has pushed everything pending, so nothing overtakes what failed.
 *
 * A publisher's record that fails makes its later records in the batch fail too, unpushed, so its messages never
 * reach a live connection out of order.
 */
export async function deliverBatch(records: IngestRecord[], config: DeliverConfig): Promise<string[]> {
  const failed = new Set<string>();
  const entries = new Map<string, Entry>();
  const infos = new Map<string, RecordInfo>();
  for (const record of records) {
    const parsed = ingestBody.safeParse(jsonOf(record.body));
    if (!parsed.success) {
      logger.error('unreadable ingest record', { sqsMessageId: record.messageId, issue: parsed.error.issues[0] });
      failed.add(record.messageId);
      continue;
    }
    // A record holding a publish's batch is retried whole if any of its messages is: the delivered ones are then
    // dropped as duplicates.
    const messages = parsed.data.kind === 'message' ? [parsed.data.message] : parsed.data.messages;
    infos.set(record.messageId, {
      from: (messages[0] as Message).from,
      sequenceNumber: record.attributes?.SequenceNumber,
      lastSeq: messages
        .map((m) => m.seq)
        .sort()
        .at(-1) as string,
    });
    for (const message of messages) {
      const entry = entries.get(message.id) ?? { message, recordIds: [] };
      entry.recordIds.push(record.messageId);
      entries.set(message.id, entry);
    }
  }
  const ordered = [...entries.values()];
  if (ordered.length === 0) return [...failed];

  // A keyed message (or one from a queue without sequence numbers) needs its own marker: a publisher may send it
  // again later, as a new record. Anything else can only come back as the same record, behind the watermark.
  const numbered = (entry: Entry) => entry.recordIds.every((id) => infos.get(id)?.sequenceNumber !== undefined);
  const marked = ordered.filter((e) => e.message.id !== e.message.seq || !numbered(e)).map((e) => e.message.id);
  const subscribers = memo((topic: string) => subscribersOf(config.subscriptionsTable, topic));
  const [before, recipients] = await Promise.all([
    deliveredBefore(config.processedTable, [...new Set([...infos.values()].map((i) => i.from))], marked).catch(
      (err: unknown) => {
        logger.error('duplicate check failed', err as Error);
        return undefined;
      },
    ),
    Promise.all(
      ordered.map(({ message }) =>
        (message.to ? Promise.resolve([message.to]) : subscribers(message.topic ?? '')).catch((err: unknown) => {
          logger.error('recipients lookup failed', { messageId: message.id, error: err as Error });
          return undefined;
        }),
      ),
    ),
  ]);
  if (!before) return [...failed, ...ordered.flatMap((e) => e.recordIds)];
  const redelivered = (recordId: string) => {
    const info = infos.get(recordId);
    return (
      info?.sequenceNumber !== undefined && behind(before.watermarks.get(info.from), info.sequenceNumber, info.lastSeq)
    );
  };
  const done = (entry: Entry) => before.keyed.has(entry.message.id) || entry.recordIds.some(redelivered);
  for (const entry of ordered) if (done(entry)) logger.info('duplicate dropped', { messageId: entry.message.id });

  // ── Inbox pages ──
  // A publisher whose message has no recipients list (the lookup failed) writes none of its later messages either:
  // they wait for the retry with it, in order.
  const holdBack = publishersHeldBack(failed);
  const delivered = ordered
    .map((entry, i) => ({ entry, recipients: recipients[i] }))
    .filter(({ entry }) => !done(entry))
    .filter(({ entry, recipients: to }) => holdBack(entry, to === undefined));
  const pages = pagesFor(delivered);
  const stored = memo((page: Page) => JSON.stringify(page.messages), pageContent);
  const lookupStarted = performance.now();
  const early = memo((clientId: string) => connectionsOf(config.connectionsTable, clientId));
  // Started now, read after the writes: a rejection is handled there.
  for (const clientId of new Set(pages.map((p) => p.clientId))) early(clientId).catch(() => {});
  const failedWrites = await batchWriteSettled(
    config.inboxTable,
    pages.map((page) => ({ PutRequest: { Item: pageItem(page, stored(page), config.messageTtlSeconds) } })),
  );
  const connections =
    performance.now() - lookupStarted <= EARLY_LOOKUP_MS
      ? early
      : memo((clientId: string) => connectionsOf(config.connectionsTable, clientId));
  const written = await handOff(
    pages.filter((_, i) => failedWrites.has(i)),
    pages,
    connections,
    config,
  );
  if (!written) {
    // Not even redeliver can take them: the records of those messages go back to SQS, and their publishers' later
    // ones with them.
    const stalled = new Set(pages.filter((_, i) => failedWrites.has(i)).flatMap((p) => p.messages.map((m) => m.id)));
    const again = publishersHeldBack(failed);
    for (const { entry } of delivered) again(entry, stalled.has(entry.message.id));
  }

  // ── Pushes, beside the watermarks ──
  // A watermark that cannot be written is logged, not retried through SQS: a retry would write the inbox pages again
  // and bring back what recipients acked meanwhile.
  const pushed = pages.filter((page, i) => !failedWrites.has(i) && !written?.deferred.has(page));
  const [, checks] = await Promise.all([
    markDelivered(
      config.processedTable,
      watermarksOf(records, infos, failed, before.watermarks),
      delivered.filter(({ entry }) => marked.includes(entry.message.id)).map(({ entry }) => entry.message.id),
      config.processedTtlSeconds,
    ).catch((err: unknown) => logger.error('watermarks not written', err as Error)),
    pushAll(
      pushed.filter((page) => page.messages.every((m) => !isFailed(m, entries, failed))),
      connections,
      config,
    ),
  ]);
  await scheduleChecks(checks, config);
  // One line per batch, not per message: logging is a cost per message too.
  logger.info('messages delivered', {
    messageIds: delivered
      .filter(({ entry }) => !isFailed(entry.message, entries, failed))
      .map(({ entry }) => entry.message.id),
  });
  return [...failed];
}

function isFailed(message: Message, entries: Map<string, Entry>, failed: Set<string>): boolean {
  return (entries.get(message.id)?.recordIds ?? []).some((id) => failed.has(id));
}

/** The same messages make the same page content, stored once as JSON however many recipients share it. */
function pageContent(page: Page): string {
  return page.messages.map((m) => m.id).join('\u0000');
}

/**
 * Each recipient's messages, one publisher at a time, in pages: a page never mixes publishers, so ordering pages by
 * their first seq keeps every publisher's order however the batches of several publishers interleave.
 */
function pagesFor(delivered: { entry: Entry; recipients?: string[] }[]): Page[] {
  const streams = new Map<string, { clientId: string; messages: { message: Message; bytes: number }[] }>();
  const bytes = memo(
    (message: Message) => Buffer.byteLength(JSON.stringify(message)),
    (m) => m.id,
  );
  for (const { entry, recipients } of delivered) {
    for (const clientId of recipients ?? []) {
      const key = `${clientId}\u0000${entry.message.from}`;
      const stream = streams.get(key) ?? { clientId, messages: [] };
      stream.messages.push({ message: entry.message, bytes: bytes(entry.message) });
      streams.set(key, stream);
    }
  }
  return [...streams.values()].flatMap(({ clientId, messages }) => pagesOf(clientId, messages));
}

/**
 * Hands the pages that could not be written to redeliver, each with the position up to which its recipient is to
 * be pushed once it is written; the same recipient's later pages of that publisher are not pushed live meanwhile,
 * so they do not overtake it. Returns those deferred pages, or undefined if the push queue refused.
 */
async function handOff(
  unwritten: Page[],
  pages: Page[],
  connections: (clientId: string) => Promise<Connection[]>,
  config: DeliverConfig,
): Promise<{ deferred: Set<Page> } | undefined> {
  const deferred = new Set<Page>();
  if (unwritten.length === 0) return { deferred };
  const streamOf = (page: Page) => `${page.clientId}\u0000${page.messages[0]?.from}`;
  const writes = unwritten.map((page) => {
    const later = pages.filter((p) => streamOf(p) === streamOf(page) && p.start >= page.start);
    for (const p of later) deferred.add(p);
    const last = later.at(-1) as Page;
    return { page, upTo: positionOf(last.start, last.messages.length, last.messages.length - 1) };
  });
  try {
    await enqueueWrites(config.pushQueueUrl, writes, RETRY_DELAY_SECONDS);
    logger.warn('inbox pages left to redeliver', { clientIds: unwritten.map((p) => p.clientId) });
  } catch (err) {
    logger.error('inbox pages could not be handed to redeliver', err as Error);
    return undefined;
  }
  // The recipients' live connections are held until redeliver has written the page and pushed them what is
  // pending, as after a failed push: the publisher's next batch must not reach them first. The write record went
  // out first, so no hold is left without what releases it.
  const recipients = [...new Set(unwritten.map((page) => page.clientId))];
  await Promise.all(
    recipients.map(async (clientId) => {
      const latePages = unwritten.filter((page) => page.clientId === clientId).map((page) => page.start);
      try {
        for (const connection of await connections(clientId))
          await holdConnection(config.connectionsTable, connection, { latePages });
      } catch (err) {
        logger.error('connections not held for a late page', { clientId, error: err as Error });
      }
    }),
  );
  return { deferred };
}

/** Each publisher's new watermark: its last record in this batch that did not fail. */
function watermarksOf(
  records: IngestRecord[],
  infos: Map<string, RecordInfo>,
  failed: Set<string>,
  previous: Map<string, Watermark>,
): Map<string, Watermark> {
  const next = new Map<string, Watermark>();
  for (const record of records) {
    const info = infos.get(record.messageId);
    if (!info?.sequenceNumber || failed.has(record.messageId)) continue;
    const current = next.get(info.from) ?? previous.get(info.from);
    const sequenceNumber = BigInt(info.sequenceNumber);
    next.set(info.from, {
      sequenceNumber: current && current.sequenceNumber > sequenceNumber ? current.sequenceNumber : sequenceNumber,
      seq: current && current.seq > info.lastSeq ? current.seq : info.lastSeq,
    });
  }
  return next;
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

/**
 * Pushes each written page to its recipient's live connections; returns the connections to check after the ack
 * deadline (a failed push has its check already, see holdAfterFailedPush).
 */
async function pushAll(
  pages: Page[],
  connections: (clientId: string) => Promise<Connection[]>,
  config: DeliverConfig,
): Promise<PushTarget[]> {
  const outgoing = new Map<string, { connection: Connection; messages: Message[] }>();
  const lookups = pages.map(async (page) => ({ page, live: await connections(page.clientId) }));
  // In page order, which keeps each publisher's order: a connection's messages go out in it.
  for (const settled of await Promise.allSettled(lookups)) {
    if (settled.status === 'rejected') {
      // Written, so not lost: the next check, connect or replay brings it.
      logger.warn('connections lookup failed', { error: settled.reason as Error });
      continue;
    }
    for (const connection of settled.value.live) {
      const slot = outgoing.get(connection.connectionId) ?? { connection, messages: [] };
      slot.messages.push(...positionsOf(settled.value.page));
      outgoing.set(connection.connectionId, slot);
    }
  }
  const checks: PushTarget[] = [];
  await Promise.all(
    [...outgoing.values()].map(async ({ connection, messages }) => {
      const { clientId, connectionId, connectedAt } = connection;
      const target = { clientId, connectionId, connectedAt, upTo: maxSeq(messages) };
      // Its held check pushes these after what failed, in order (holdConnection).
      if (connection.held !== undefined && (await skipHeld(connection, target, config))) return;
      try {
        const items = messages.map((message) => ({ message, attempt: 1 }));
        const { gone } = await pushMessages(config.callbackUrl, connectionId, items);
        if (!gone) checks.push(target);
        // A young connection is most likely still in $connect; its catch-up will read what was written here.
        else await removeStaleConnection(config.connectionsTable, connection, config.goneGraceMs);
      } catch (err) {
        logger.warn('push failed; holding the connection and trying again shortly', {
          connectionId,
          error: err as Error,
        });
        await holdAfterFailedPush(connection, target, config);
      }
    }),
  );
  return checks;
}

/**
 * The check a second after a failed push, then the hold (holdConnection): in this order, so that no hold is ever
 * left without a check to release it, whatever fails or stops here. A check that finds no hold (the write failed)
 * still pushes what failed; one that cannot be enqueued leaves the connection unheld, and the message waits for
 * the next connect or replay.
 */
async function holdAfterFailedPush(connection: Connection, target: PushTarget, config: DeliverConfig): Promise<void> {
  const { connectionId } = connection;
  try {
    await enqueueChecks(config.pushQueueUrl, [{ ...target, held: 0 }], RETRY_DELAY_SECONDS);
  } catch (err) {
    logger.error('check after a failed push not scheduled', { connectionId, error: err as Error });
    return;
  }
  // Unheld, the check still brings what failed, but a later message may overtake it.
  await holdConnection(config.connectionsTable, connection).catch((err: unknown) =>
    logger.error('connection not held', { connectionId, error: err as Error }),
  );
}

/**
 * Whether a push to a held connection is to be skipped: counted, while the connection is still held. Each skip
 * first enqueues a held check of its own, an ack deadline later: should the hold have lost its check (its
 * write answered after the check had looked, its `write` record dead-lettered), that one releases it and pushes
 * what was skipped; otherwise it is the skipped messages' ack-deadline check. One SQS request per skipped push,
 * while a connection is held, and none on the common path. A check that cannot be enqueued pushes as usual.
 */
async function skipHeld(connection: Connection, target: PushTarget, config: DeliverConfig): Promise<boolean> {
  const { connectionId } = connection;
  try {
    await enqueueChecks(config.pushQueueUrl, [{ ...target, held: 0 }], config.ackDeadlineSeconds);
    return await holdConnection(config.connectionsTable, connection, { whileHeld: true });
  } catch (err) {
    // Pushed as usual: it may overtake what the held check brings, but it does not wait.
    logger.error('push to a held connection not skipped', { connectionId, error: err as Error });
    return false;
  }
}

async function scheduleChecks(deadline: PushTarget[], config: DeliverConfig): Promise<void> {
  if (deadline.length === 0) return;
  try {
    await enqueueChecks(config.pushQueueUrl, deadline, config.ackDeadlineSeconds);
  } catch (err) {
    // The messages are in the inboxes: without the check they wait for the client's next connect or replay.
    logger.error('checks not scheduled', err as Error);
  }
}

/** The latest position (they sort as text, which Math.max cannot compare). */
function maxSeq(messages: Message[]): string {
  return (
    messages
      .map(({ seq }) => seq)
      .sort()
      .at(-1) ?? ''
  );
}

function memo<K, T>(load: (key: K) => T, keyOf: (key: K) => unknown = (key) => key): (key: K) => T {
  const cache = new Map<unknown, T>();
  return (key) => {
    const k = keyOf(key);
    if (cache.has(k)) return cache.get(k) as T;
    const value = load(key);
    cache.set(k, value);
    return value;
  };
}
