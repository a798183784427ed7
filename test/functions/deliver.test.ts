import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import {
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '../../functions/lib/clients.js';
import { heldCount, holdConnection, releaseConnection } from '../../functions/lib/connections.js';
import { deliverBatch } from '../../functions/lib/deliver.js';
import { positionOf } from '../../functions/lib/inbox.js';
import { SEQ_PATTERN } from '../../functions/lib/protocol.js';
import { groupOf } from '../../functions/lib/queue.js';
import { mintToken } from '../../functions/lib/token.js';
import { ForbiddenError } from '../../local/gateway/errors.js';
import { type Backend, startBackend } from '../helpers/backend.js';
import { type Frame, TestClient } from '../helpers/client.js';
import { lambdaContext, receiveEvent } from '../helpers/events.js';
import { startHandlerGateway } from '../helpers/gateway.js';
import { frame, type Handler, loadHandlers } from '../helpers/handlers.js';

/**
 * The ack deadline and attempt cap the handlers run with here: short enough that the checks deliver and redeliver
 * schedule come off the push queue within a test, and far enough apart from the 1 s retry of a failed push to tell
 * the two apart.
 */
const ACK_DEADLINE_SECONDS = 3;
const MAX_ATTEMPTS = 3;
const MAX_PENDING = 20;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** A position in an inbox: the page's first publish seq, the page's message count, the message's index. */

type Gateway = Awaited<ReturnType<typeof startHandlerGateway>>['gateway'];
type HandlerName = 'subscribe' | 'publish' | 'send' | 'ack' | 'replay' | 'deliver' | 'redeliver';

let backend: Backend;
let db: DynamoDBDocumentClient;
let gateway: Gateway;
let wsUrl: string;
let h: Record<HandlerName, Handler>;
const clients: TestClient[] = [];

beforeAll(async () => {
  backend = await startBackend();
  db = DynamoDBDocumentClient.from(backend.clients.dynamodb);
  const lifecycle = await loadHandlers(backend, ['authorize', 'connect', 'disconnect'] as const);
  const started = await startHandlerGateway(lifecycle);
  gateway = started.gateway;
  wsUrl = gateway.url;
  h = await loadHandlers(backend, ['subscribe', 'publish', 'send', 'ack', 'replay', 'deliver', 'redeliver'] as const, {
    CALLBACK_URL: started.callbackUrl,
    ACK_DEADLINE_SECONDS: String(ACK_DEADLINE_SECONDS),
    MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    MAX_PENDING_MESSAGES: String(MAX_PENDING),
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gateway?.stop();
  await backend?.stop();
});

const ingestUrl = () => backend.env.INGEST_QUEUE_URL as string;
const pushUrl = () => backend.env.PUSH_QUEUE_URL as string;

// ── Connections ──

interface Target {
  clientId: string;
  connectionId: string;
  connectedAt?: number;
  upTo?: string;
}
type Connection = Required<Omit<Target, 'upTo'>>;

/** Opens a real socket for `clientId` through the test gateway ($connect runs in-process) and returns its row. */
async function connect(clientId: string): Promise<{ client: TestClient; connection: Connection }> {
  const before = new Set((await connectionsOf(clientId)).map((c) => c.connectionId));
  const client = await TestClient.connect(`${wsUrl}/?token=${await mintToken(backend.tokenSecret, clientId, '5m')}`);
  clients.push(client);
  const row = (await connectionsOf(clientId)).find((c) => !before.has(c.connectionId));
  if (!row) throw new Error(`no connection row for ${clientId}`);
  return { client, connection: row };
}

async function connectionsOf(clientId: string): Promise<Connection[]> {
  return (await backend.rowsOf('CONNECTIONS_TABLE', clientId)).map((row) => ({
    clientId: row.clientId as string,
    connectionId: row.connectionId as string,
    connectedAt: row.connectedAt as number,
  }));
}

/** The hold count on a connection's row (functions/lib/connections.ts), undefined when it is not held. */
async function heldOf(connection: Connection): Promise<number | undefined> {
  const table = backend.env.CONNECTIONS_TABLE as string;
  return (await heldCount(table, connection.clientId, connection.connectionId))?.count;
}

// ── Inbox ──

interface InboxRow {
  /** The message's position, as its frames carry it. */
  seq: string;
  id: string;
  attempt: number;
  message: Record<string, unknown>;
}

/**
 * A client's unacked messages, in the table's own order: each page's messages, less those acked one by one. `pages`
 * is how many items hold them.
 */
async function inboxOf(clientId: string): Promise<InboxRow[]> {
  return (await pagesOfInbox(clientId)).flatMap((page) => page.rows);
}

async function pagesOfInbox(clientId: string) {
  return (await backend.rowsOf('INBOX_TABLE', clientId)).map((row) => {
    const messages = JSON.parse(row.messages as string) as Record<string, unknown>[];
    const acked = (row.acked as Set<number> | undefined) ?? new Set<number>();
    return {
      start: row.seq as string,
      rows: messages
        .map((message, i) => ({
          seq: positionOf(row.seq as string, messages.length, i),
          id: message.id as string,
          attempt: row.attempt as number,
          message,
        }))
        .filter((_, i) => !acked.has(i)),
    };
  });
}

// ── Routes ──

async function subscribe(clientId: string, topic: string): Promise<void> {
  expect(await frame(h.subscribe, clientId, { action: 'subscribe', topic })).toMatchObject({ type: 'subscribed' });
}

async function publish(from: string, topic: string, payload: unknown, key?: string): Promise<string> {
  const reply = await frame(h.publish, from, { action: 'publish', topic, payload, ...(key ? { id: key } : {}) });
  expect(reply).toEqual({ type: 'accepted', id: expect.any(String) });
  return reply.id as string;
}

async function sendTo(from: string, to: string, payload: unknown, key?: string): Promise<string> {
  const reply = await frame(h.send, from, { action: 'send', to, payload, ...(key ? { id: key } : {}) });
  expect(reply).toEqual({ type: 'accepted', id: expect.any(String) });
  return reply.id as string;
}

const ack = (clientId: string, body: Record<string, unknown>) => frame(h.ack, clientId, { action: 'ack', ...body });

// ── Queues ──

async function deleteRecords(queueUrl: string, records: SQSRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 10) {
    await backend.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: records.slice(i, i + 10).map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
      }),
    );
  }
}

/** Runs a handler on `event` and, like the event source mapping, deletes the records it did not report as failed. */
async function settle(name: 'deliver' | 'redeliver', queueUrl: string, event: SQSEvent): Promise<SQSBatchResponse> {
  const response = (await h[name](event as never, lambdaContext(name))) as SQSBatchResponse;
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  await deleteRecords(
    queueUrl,
    event.Records.filter((r) => !failed.has(r.messageId)),
  );
  return response;
}

const deliver = (event: SQSEvent) => settle('deliver', ingestUrl(), event);
const redeliver = (records: SQSRecord[]) => settle('redeliver', pushUrl(), { Records: records });

/**
 * Delivers whatever the ingest queue holds, batch after batch (a FIFO receive gives one record per publisher and
 * holds the publisher's next one until the first is deleted), expecting every record to succeed.
 */
async function deliverAll(): Promise<void> {
  for (;;) {
    const event = await receiveEvent(backend.clients.sqs, ingestUrl(), 0);
    if (event.Records.length === 0) return;
    expect((await deliver(event)).batchItemFailures).toEqual([]);
  }
}

type PushBody =
  | { kind: 'connected'; target: Target }
  | { kind: 'check'; targets: Target[] }
  | { kind: 'write'; page: { clientId: string; start: string; messages: Record<string, unknown>[] }; upTo: string };
const bodyOf = (record: SQSRecord) => JSON.parse(record.body) as PushBody;
const targetsOf = (body: PushBody) =>
  body.kind === 'connected' ? [body.target] : body.kind === 'check' ? body.targets : [];
const connectedFor = (clientId: string) => (body: PushBody) =>
  body.kind === 'connected' && body.target.clientId === clientId;
const checkFor = (clientId: string) => (body: PushBody) =>
  body.kind === 'check' && body.targets.some((t) => t.clientId === clientId);

/**
 * Takes push-queue records matching `match` as they become visible (delayed ones included), until `enough` says so
 * or `timeoutMs` pass; they stay in flight for `redeliver`. Records that do not match (earlier tests' leftovers,
 * other clients' checks) are deleted: nothing else consumes this queue here.
 */
async function takePush(
  match: (body: PushBody) => boolean,
  timeoutMs: number,
  enough: (found: SQSRecord[]) => boolean = (found) => found.length > 0,
): Promise<SQSRecord[]> {
  const found: SQSRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  do {
    const wait = deadline - Date.now() >= 1000 ? 1 : 0;
    const { Records } = await receiveEvent(backend.clients.sqs, pushUrl(), wait);
    found.push(...Records.filter((r) => match(bodyOf(r))));
    await deleteRecords(
      pushUrl(),
      Records.filter((r) => !match(bodyOf(r))),
    );
    if (wait === 0 && Records.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  } while (!enough(found) && Date.now() < deadline);
  return found;
}

/** A push record as the event source would hand it over, for bodies the handlers never sent themselves. */
function handBuilt(body: unknown): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: 'hand-built',
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:push',
    awsRegion: 'us-east-1',
  };
}

/**
 * Makes DynamoDB leave `clientId`'s inbox writes unprocessed, as it does for a throttled partition, until the
 * returned function is called. A mock, because dynalite never throttles: the other requests of the same
 * BatchWriteItem still go to dynalite.
 */
function throttleInboxWrites(clientId: string): () => void {
  const name = `throttle-${clientId}`;
  const table = backend.env.INBOX_TABLE as string;
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as BatchWriteCommandInput;
      const requests = input.RequestItems?.[table];
      const stuck = requests?.filter((r) => r.PutRequest?.Item?.clientId === clientId) ?? [];
      if (!requests || stuck.length === 0) return next(args);
      const rest = requests.filter((r) => !stuck.includes(r));
      const result = (
        rest.length > 0
          ? await next({ ...args, input: { ...input, RequestItems: { ...input.RequestItems, [table]: rest } } })
          : { output: { $metadata: {} }, response: {} }
      ) as { output: BatchWriteCommandOutput; response: unknown };
      const left = result.output.UnprocessedItems?.[table] ?? [];
      result.output.UnprocessedItems = { ...result.output.UnprocessedItems, [table]: [...left, ...stuck] };
      return result;
    },
    { step: 'initialize', name },
  );
  return () => dynamo.middlewareStack.remove(name);
}

/** Holds BatchWriteItem calls that put pages into `clientId`'s inbox for `ms` (a stalled deliver); `started` resolves on the first. */
function delayInboxWrites(clientId: string, ms: number): { started: Promise<void>; release: () => void } {
  const name = `delay-${clientId}`;
  const table = backend.env.INBOX_TABLE as string;
  let began: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    began = resolve;
  });
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as BatchWriteCommandInput;
      if (input.RequestItems?.[table]?.some((r) => r.PutRequest?.Item?.clientId === clientId)) {
        began();
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return { started, release: () => dynamo.middlewareStack.remove(name) };
}

const idsAndAttempts = (frames: Frame[]) => frames.map((f) => [f.id, f.attempt]);
const bySeq = (a: Target, b: Target) => String(a.upTo).localeCompare(String(b.upTo));

describe('deliver', () => {
  it('fans a topic message out to three subscribers: live ones get it at once, every inbox keeps it', async () => {
    const subscribers = ['fan-1', 'fan-2', 'fan-3'];
    for (const id of subscribers) await subscribe(id, 'fanout');
    const live = [await connect('fan-1'), await connect('fan-2')];
    const id = await publish('fan-pub', 'fanout', { order: 42 });
    await deliverAll();

    const pushed = await Promise.all(live.map(({ client }) => client.receive(1, 5_000)));
    const expected = {
      type: 'message',
      id,
      seq: expect.stringMatching(SEQ_PATTERN),
      topic: 'fanout',
      from: 'fan-pub',
      payload: { order: 42 },
      publishedAt: expect.any(String),
      attempt: 1,
    };
    for (const frames of pushed) expect(frames).toEqual([expected]);
    const seq = pushed[0]?.[0]?.seq as string;
    expect(pushed[1]?.[0]?.seq).toBe(seq);

    for (const clientId of subscribers) {
      expect(await inboxOf(clientId)).toEqual([
        {
          seq,
          id,
          attempt: 0,
          message: {
            id,
            seq: seq.slice(0, 26), // stored with its publish seq; the position comes from the page

            topic: 'fanout',
            from: 'fan-pub',
            payload: { order: 42 },
            publishedAt: pushed[0]?.[0]?.publishedAt,
          },
        },
      ]);
    }

    // Each pushed connection is checked after the ack deadline; the offline subscriber is not.
    const isFan = (body: PushBody) => subscribers.some((clientId) => checkFor(clientId)(body));
    const checks = await takePush(isFan, (ACK_DEADLINE_SECONDS + 3) * 1000, (found) => {
      return found.flatMap((r) => targetsOf(bodyOf(r))).length >= 2;
    });
    const targets = checks.flatMap((r) => targetsOf(bodyOf(r)));
    expect(targets.sort((a, b) => a.clientId.localeCompare(b.clientId))).toEqual(
      live.map(({ connection }) => ({ ...connection, upTo: seq })),
    );
  });

  it('keeps an offline subscriber’s messages and pushes them, oldest first, in its catch-up, then synced', async () => {
    await subscribe('late-1', 'late');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(await publish('late-pub', 'late', { n }));
    await deliverAll();
    expect((await inboxOf('late-1')).map((m) => m.id)).toEqual(ids);

    const { client, connection } = await connect('late-1');
    const connected = await takePush(connectedFor('late-1'), 5_000);
    expect(connected.map(bodyOf)).toEqual([{ kind: 'connected', target: connection }]);
    expect(client.frames).toEqual([]); // nothing reached it before its catch-up

    expect((await redeliver(connected)).batchItemFailures).toEqual([]);
    const synced = await client.frameOf('synced', 0, 5_000);
    expect(synced).toEqual({ type: 'synced', count: 3, index: expect.any(Number) });
    expect(client.frames.slice(0, synced.index).every((f) => f.type === 'message' || f.type === 'messages')).toBe(true);
    const caughtUp = client.messages();
    expect(idsAndAttempts(caughtUp)).toEqual(ids.map((id) => [id, 1]));
    expect(caughtUp.map((f) => (f.payload as { n: number }).n)).toEqual([1, 2, 3]);
    expect((await inboxOf('late-1')).map((m) => m.attempt)).toEqual([1, 1, 1]);

    // What the catch-up sent is checked after the ack deadline, like a live push.
    const checks = await takePush(checkFor('late-1'), (ACK_DEADLINE_SECONDS + 3) * 1000);
    expect(checks.map(bodyOf)).toEqual([{ kind: 'check', targets: [connection] }]);
  });

  it('does not lose a message pushed live before the catch-up: together they give the client everything', async () => {
    await subscribe('early-1', 'early');
    const before = await publish('early-pub', 'early', 'before');
    await deliverAll();
    const { client } = await connect('early-1');
    const after = await publish('early-pub', 'early', 'after');
    await deliverAll(); // the connection is recorded: a live push; $connect's catch-up is still a second off
    expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[after, 1]]);

    const connected = await takePush(connectedFor('early-1'), 5_000);
    expect(connected).toHaveLength(1);
    expect((await redeliver(connected)).batchItemFailures).toEqual([]);
    const synced = await client.frameOf('synced', 0, 5_000);
    expect(synced.count).toBeGreaterThanOrEqual(1);
    const seen = client.messages();
    // Copies by id are allowed (the client keeps the first); no message may be missing, and the catch-up's own
    // part comes oldest first.
    expect(new Set(seen.map((f) => f.id))).toEqual(new Set([before, after]));
    const catchUp = seen.slice(1).map((f) => String(f.seq));
    expect(catchUp).toEqual([...catchUp].sort());
    expect(seen.slice(1).map((f) => f.id)).toContain(before);
  });

  it('acks delete from the caller’s inbox only, by id (plain or keyed) or by seq; acking twice is harmless', async () => {
    const plain = await sendTo('ack-pub', 'acker', 'plain');
    const keyed = await sendTo('ack-pub', 'acker', 'keyed', 'some-key');
    const bySeqId = await sendTo('ack-pub', 'acker', 'by seq');
    await deliverAll();
    const inbox = await inboxOf('acker');
    expect(inbox.map((m) => m.id)).toEqual([plain, keyed, bySeqId]);
    expect(plain).toMatch(ULID);
    expect(keyed).not.toMatch(ULID); // a publisher's key gives a digest id, not a seq
    const seqOf = (id: string) => inbox.find((m) => m.id === id)?.seq as string;
    expect(seqOf(keyed)).toMatch(SEQ_PATTERN);

    // Someone else naming them (by id, keyed id and seq) touches only its own, empty, inbox.
    expect(await ack('intruder', { ids: [plain, keyed], seqs: [seqOf(bySeqId)] })).toEqual({
      type: 'acked',
      ids: [plain, keyed],
      seqs: [seqOf(bySeqId)],
    });
    expect((await inboxOf('acker')).map((m) => m.id)).toEqual([plain, keyed, bySeqId]);

    expect(await ack('acker', { ids: [plain, plain], ref: 'a' })).toEqual({ type: 'acked', ids: [plain], ref: 'a' });
    expect((await inboxOf('acker')).map((m) => m.id)).toEqual([keyed, bySeqId]);
    expect(await ack('acker', { id: keyed })).toEqual({ type: 'acked', ids: [keyed] });
    expect((await inboxOf('acker')).map((m) => m.id)).toEqual([bySeqId]);
    expect(await ack('acker', { seq: seqOf(bySeqId) })).toEqual({ type: 'acked', ids: [], seqs: [seqOf(bySeqId)] });
    expect(await inboxOf('acker')).toEqual([]);

    // Again: the same replies, no error.
    expect(await ack('acker', { ids: [plain, keyed], seqs: [seqOf(bySeqId)] })).toEqual({
      type: 'acked',
      ids: [plain, keyed],
      seqs: [seqOf(bySeqId)],
    });
    expect(await inboxOf('acker')).toEqual([]);
  });

  it('does not bring an acked message back when SQS delivers its record again', async () => {
    const id = await sendTo('dup-pub', 'dup-1', 'once', 'order-1');
    const event = await receiveEvent(backend.clients.sqs, ingestUrl(), 1);
    expect(event.Records.map((r) => JSON.parse(r.body).message.id)).toEqual([id]);
    expect((await deliver(event)).batchItemFailures).toEqual([]);
    expect((await inboxOf('dup-1')).map((m) => m.id)).toEqual([id]);
    expect(await ack('dup-1', { id })).toEqual({ type: 'acked', ids: [id] });
    expect(await inboxOf('dup-1')).toEqual([]);

    // The same record again (at-least-once delivery): dropped, not reported, not written.
    expect((await h.deliver(event as never, lambdaContext('deliver'))) as SQSBatchResponse).toEqual({
      batchItemFailures: [],
    });
    expect(await inboxOf('dup-1')).toEqual([]);
    // The publisher retrying with the same idempotency key is the same message too.
    expect(await sendTo('dup-pub', 'dup-1', 'once', 'order-1')).toBe(id);
    await deliverAll();
    expect(await inboxOf('dup-1')).toEqual([]);
  });

  it('reports only the unreadable records of a batch for retry', async () => {
    const id = await sendTo('poison-pub', 'poisoned', 'fine');
    const event = await receiveEvent(backend.clients.sqs, ingestUrl(), 1);
    const good = event.Records[0];
    if (!good || event.Records.length !== 1) throw new Error('expected one record');
    const poison = { ...good, messageId: randomUUID(), body: '{"kind":"message"' };
    const wrongShape = { ...good, messageId: randomUUID(), body: '{"kind":"other"}' };
    // What the old design put on this queue is not a message either.
    const oldConnected = {
      ...good,
      messageId: randomUUID(),
      body: JSON.stringify({ kind: 'connected', clientId: 'poisoned', connectionId: 'R1kmxc2VNjMCFIA=' }),
    };
    const response = await deliver({ Records: [poison, good, wrongShape, oldConnected] });
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: poison.messageId },
      { itemIdentifier: wrongShape.messageId },
      { itemIdentifier: oldConnected.messageId },
    ]);
    expect((await inboxOf('poisoned')).map((m) => m.id)).toEqual([id]);
  });

  it('removes a connection that API Gateway calls Gone, but not one that may still be in $connect', async () => {
    const table = backend.env.CONNECTIONS_TABLE;
    const now = Date.now();
    // No socket has these ids: the local gateway answers 410 to them, as API Gateway does.
    const stale = { clientId: 'ghost', connectionId: 'R1kmxc2VNjMCFIA=', connectedAt: now - 60_000 };
    const young = { clientId: 'ghost', connectionId: 'JC1dgf9yoAMCK-g=', connectedAt: now };
    for (const item of [stale, young]) await db.send(new PutCommand({ TableName: table, Item: item }));
    const { client, connection } = await connect('ghost');

    const id = await sendTo('ghost-pub', 'ghost', 'boo');
    await deliverAll();
    expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[id, 1]]);
    const left = (await connectionsOf('ghost')).map((c) => c.connectionId).sort();
    expect(left).toEqual([young.connectionId, connection.connectionId].sort());
    expect((await inboxOf('ghost')).map((m) => m.id)).toEqual([id]);

    // Only the connection that took the push is checked; the young one gets it from its own catch-up.
    const checks = await takePush(checkFor('ghost'), (ACK_DEADLINE_SECONDS + 3) * 1000);
    const seq = (await inboxOf('ghost'))[0]?.seq;
    expect(checks.map(bodyOf)).toEqual([{ kind: 'check', targets: [{ ...connection, upTo: seq }] }]);
  });

  it('retries a catch-up that finds the connection still in $connect, but not one long gone', async () => {
    const id = await sendTo('slow-pub', 'slowpoke', 'waiting');
    await deliverAll();
    // No socket has this id: the local gateway answers 410, as API Gateway does during $connect.
    const connectionId = 'Zm9vYmFyYmF6cXU=';
    const young = { clientId: 'slowpoke', connectionId, connectedAt: Date.now() };
    const old = { clientId: 'slowpoke', connectionId, connectedAt: Date.now() - 120_000 };
    const records = [handBuilt({ kind: 'connected', target: young }), handBuilt({ kind: 'connected', target: old })];
    const response = (await h.redeliver({ Records: records } as never, lambdaContext('redeliver'))) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([]);

    const again = await takePush(connectedFor('slowpoke'), 3_500, () => false);
    expect(again.map(bodyOf)).toEqual([{ kind: 'connected', target: young }]);
    await deleteRecords(pushUrl(), again);
    // Nothing was sent, so nothing was counted.
    expect((await inboxOf('slowpoke')).map((m) => [m.id, m.attempt])).toEqual([[id, 0]]);
  });

  it('replays unacked messages oldest first on request, answers synced with how many, counting the attempt', async () => {
    const ids = [await sendTo('replay-pub', 'replay-1', 'a'), await sendTo('replay-pub', 'replay-1', 'b')];
    await deliverAll();
    const { client, connection } = await connect('replay-1');
    const replay = (ref?: string) =>
      frame(h.replay, 'replay-1', { action: 'replay', ...(ref ? { ref } : {}) }, connection.connectionId);

    expect(await replay('rp')).toEqual({ type: 'synced', count: 2, ref: 'rp' });
    expect(idsAndAttempts(await client.receive(2, 5_000))).toEqual([
      [ids[0], 1],
      [ids[1], 1],
    ]);
    expect((await inboxOf('replay-1')).map((m) => m.attempt)).toEqual([1, 1]);

    expect(await replay()).toEqual({ type: 'synced', count: 2 });
    expect(idsAndAttempts(await client.receive(2, 5_000))).toEqual([
      [ids[0], 2],
      [ids[1], 2],
    ]);

    const first = (await inboxOf('replay-1'))[0]?.seq as string;
    expect(await ack('replay-1', { seq: first })).toMatchObject({ type: 'acked' });
    expect(await replay()).toEqual({ type: 'synced', count: 1 });
    expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[ids[1], 3]]);
    expect(idsAndAttempts(client.messages())).toHaveLength(5);
  });

  it('keeps an inbox within its cap: a catch-up drops the oldest beyond it and says how many in synced', async () => {
    const ids: string[] = [];
    for (let i = 0; i < MAX_PENDING + 15; i++) ids.push(await sendTo('cap-pub', 'capped', i));
    await deliverAll();
    const { client, connection } = await connect('capped');
    expect((await redeliver(await takePush(connectedFor('capped'), 5_000))).batchItemFailures).toEqual([]);
    const kept = (await inboxOf('capped')).map((r) => r.id);
    const dropped = ids.length - kept.length;
    // The page that crosses the cap is kept whole.
    expect(kept.length).toBeGreaterThanOrEqual(MAX_PENDING);
    expect(dropped).toBeGreaterThan(0);
    expect(kept).toEqual(ids.slice(dropped));
    expect(await client.frameOf('synced', 0, 5_000)).toMatchObject({ type: 'synced', count: kept.length, dropped });
    expect(client.messages().map((f) => f.id)).toEqual(kept);
    // At the cap, nothing more is dropped.
    expect(await frame(h.replay, 'capped', { action: 'replay' }, connection.connectionId)).toEqual({
      type: 'synced',
      count: kept.length,
    });
  });

  it('checks re-push what is unacked up to upTo, counting attempts, until it is acked or sent MAX_ATTEMPTS times', {
    timeout: 60_000,
  }, async () => {
    const { client, connection } = await connect('check-1');
    const m1 = await sendTo('check-pub', 'check-1', 'one');
    await deliverAll();
    const m2 = await sendTo('check-pub', 'check-1', 'two');
    await deliverAll();
    const live = await client.receive(2, 5_000);
    expect(idsAndAttempts(live)).toEqual([
      [m1, 1],
      [m2, 1],
    ]);
    const [seq1, seq2] = live.map((f) => f.seq as string);

    // Each push asks for a check, but not before the ack deadline.
    expect(await takePush(checkFor('check-1'), 0)).toEqual([]);
    const byUpTo = (a: SQSRecord, b: SQSRecord) =>
      bySeq(targetsOf(bodyOf(a))[0] as Target, targetsOf(bodyOf(b))[0] as Target);
    const first = await takePush(checkFor('check-1'), (ACK_DEADLINE_SECONDS + 3) * 1000, (f) => f.length >= 2);
    expect(first.sort(byUpTo).map(bodyOf)).toEqual([
      { kind: 'check', targets: [{ ...connection, upTo: seq1 }] },
      { kind: 'check', targets: [{ ...connection, upTo: seq2 }] },
    ]);
    const [check1, check2] = first as [SQSRecord, SQSRecord];

    // Up to m1: m1 again, not m2 (later than upTo).
    expect((await redeliver([check1])).batchItemFailures).toEqual([]);
    expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[m1, 2]]);
    expect(await ack('check-1', { seq: seq1 })).toMatchObject({ type: 'acked' });
    // Up to m2: m2 again, not m1 (acked meanwhile).
    expect((await redeliver([check2])).batchItemFailures).toEqual([]);
    expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[m2, 2]]);

    // Each re-push asks for another check.
    const second = await takePush(checkFor('check-1'), (ACK_DEADLINE_SECONDS + 3) * 1000, (f) => f.length >= 2);
    expect(second.flatMap((r) => targetsOf(bodyOf(r))).sort(bySeq)).toEqual([
      { ...connection, upTo: seq1 },
      { ...connection, upTo: seq2 },
    ]);
    expect((await redeliver(second)).batchItemFailures).toEqual([]);
    expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[m2, 3]]);

    // Only m2's check pushed anything, so only it is checked again; m2 has now been sent MAX_ATTEMPTS times.
    const third = await takePush(checkFor('check-1'), (ACK_DEADLINE_SECONDS + 1.5) * 1000, () => false);
    expect(third.map(bodyOf)).toEqual([{ kind: 'check', targets: [{ ...connection, upTo: seq2 }] }]);
    expect((await redeliver(third)).batchItemFailures).toEqual([]);
    // Pushed nothing, so no further check either.
    expect(await takePush(checkFor('check-1'), (ACK_DEADLINE_SECONDS + 1.5) * 1000)).toEqual([]);

    expect(idsAndAttempts(client.messages())).toEqual([
      [m1, 1],
      [m2, 1],
      [m1, 2],
      [m2, 2],
      [m2, 3],
    ]);
    expect((await inboxOf('check-1')).map((m) => [m.id, m.attempt])).toEqual([[m2, MAX_ATTEMPTS]]);
  });

  it('tries a push that failed (throttled, not Gone) again a second later, without waiting for the ack deadline', async () => {
    const { client, connection } = await connect('throttled');
    // Three 429s: the SDK's own retries (three attempts in all) fail too, so the push fails for deliver.
    gateway.faults.failPosts({ connectionId: connection.connectionId, times: 3 });
    const id = await sendTo('throttle-pub', 'throttled', 'later');
    // The SDK's backoff between the 429s takes its own time; the check is enqueued when deliver returns.
    await deliverAll();
    expect(await connectionsOf('throttled')).toEqual([connection]);

    // Due a second later: well before the ack deadline's check would be.
    const retry = await takePush(checkFor('throttled'), ACK_DEADLINE_SECONDS * 1000 - 500);
    const seq = (await inboxOf('throttled'))[0]?.seq;
    // The check is a held one: the connection's row says so until the check has pushed what is pending.
    expect(retry.map(bodyOf)).toEqual([{ kind: 'check', targets: [{ ...connection, upTo: seq, held: 0 }] }]);
    expect(await heldOf(connection)).toBe(1);
    expect(client.messages()).toEqual([]);
    expect((await redeliver(retry)).batchItemFailures).toEqual([]);
    expect(await client.receive(1, 5_000)).toEqual([expect.objectContaining({ id, attempt: 2 })]);
    expect(await heldOf(connection)).toBeUndefined();
  });

  it('holds a connection whose push failed: its publisher’s next messages wait, then come after it, in order', async () => {
    const { client, connection } = await connect('held');
    gateway.faults.failPosts({ connectionId: connection.connectionId, times: 3 });
    const first = await sendTo('held-pub', 'held', 'one');
    await deliverAll();
    // The same publisher's next message is written but not pushed live: it would overtake the first.
    const second = await sendTo('held-pub', 'held', 'two');
    await deliverAll();
    expect(client.messages()).toEqual([]);
    expect(await heldOf(connection)).toBe(2);

    // The check's push is slow; a third message comes meanwhile, skipped and counted, so the check cannot release
    // the connection after its first pass (it may not have read the third's page) and passes again.
    const retry = await takePush(checkFor('held'), ACK_DEADLINE_SECONDS * 1000 - 500);
    gateway.faults.delayPosts({ connectionId: connection.connectionId, ms: 1_000 });
    const pass = redeliver(retry);
    const third = await sendTo('held-pub', 'held', 'three');
    await deliverAll();
    expect((await pass).batchItemFailures).toEqual([]);
    await expect.poll(() => new Set(client.messages().map((f) => f.id)).size, { timeout: 5_000 }).toBe(3);
    expect([...new Set(client.messages().map((f) => f.id))]).toEqual([first, second, third]);
    expect(await heldOf(connection)).toBeUndefined();

    // Released: the next message goes out live at once, and the ack deadline's check covers what the pass pushed.
    const fourth = await sendTo('held-pub', 'held', 'four');
    await deliverAll();
    expect(client.messages().at(-1)).toMatchObject({ id: fourth, attempt: 1 });
    const checks = await takePush(checkFor('held'), ACK_DEADLINE_SECONDS * 1000 + 2_000, (found) => found.length >= 2);
    const upTos = checks.flatMap((r) => targetsOf(bodyOf(r))).map((t) => t.upTo);
    expect(upTos).toContain((await inboxOf('held')).find((m) => m.id === third)?.seq);
  });

  it('lets a check release only the hold it read: one that read an older count cannot end a newer hold', async () => {
    const { connection } = await connect('held-aba');
    const table = backend.env.CONNECTIONS_TABLE as string;
    const { clientId, connectionId } = connection;
    expect(await holdConnection(table, connection)).toBe(true);
    const seen = await heldCount(table, clientId, connectionId);
    expect(seen?.count).toBe(1);
    // Another copy of the same check releases it, and a new failed push holds the connection again.
    expect(await releaseConnection(table, clientId, connectionId, { count: 1 })).toBe(true);
    expect(await heldOf(connection)).toBeUndefined();
    expect(await holdConnection(table, connection, { now: (seen?.at ?? 0) + 1 })).toBe(true);
    // The first copy, which read the older count, cannot release the new hold (whose failed page it never read),
    // neither by its count nor, giving up, by the stamp it read.
    expect(await releaseConnection(table, clientId, connectionId, { count: 1 })).toBe(false);
    expect(await releaseConnection(table, clientId, connectionId, { at: seen?.at ?? 0 })).toBe(false);
    expect(await heldOf(connection)).toBe(2);
    // A page written late holds it until the check of that write takes the page off.
    expect(await releaseConnection(table, clientId, connectionId, { count: 2 })).toBe(true);
    expect(await holdConnection(table, connection, { latePages: ['P1'] })).toBe(true);
    expect(await releaseConnection(table, clientId, connectionId, { count: 3 })).toBe(true);
    expect(await heldOf(connection)).toBe(3);
    expect(await releaseConnection(table, clientId, connectionId, { count: 3, latePage: 'P1' })).toBe(true);
    expect(await heldOf(connection)).toBeUndefined();
    // A skipped push counts only while held.
    expect(await holdConnection(table, connection, { whileHeld: true })).toBe(false);
    expect(await holdConnection(table, connection)).toBe(true);
    expect(await holdConnection(table, connection, { whileHeld: true })).toBe(true);
    expect(await heldOf(connection)).toBe(5);
    expect(await releaseConnection(table, clientId, connectionId)).toBe(true);
    expect(await holdConnection(table, connection, { whileHeld: true })).toBe(false);
  });

  it('lets each push skipped on a held connection bring a check, so a hold that lost its own still ends', async () => {
    const { client, connection } = await connect('held-stale');
    // A hold with no check left (its write answered after the check had looked, say).
    await holdConnection(backend.env.CONNECTIONS_TABLE as string, connection);
    const id = await sendTo('held-stale-pub', 'held-stale', 'one');
    await deliverAll();
    expect(client.messages()).toEqual([]);
    const [check] = await takePush(checkFor('held-stale'), ACK_DEADLINE_SECONDS * 1000 + 2_000);
    expect(targetsOf(bodyOf(check as SQSRecord))).toEqual([expect.objectContaining({ held: 0 })]);
    expect((await redeliver([check as SQSRecord])).batchItemFailures).toEqual([]);
    expect(await client.receive(1, 5_000)).toEqual([expect.objectContaining({ id })]);
    expect(await heldOf(connection)).toBeUndefined();
  });

  it('does not hold a connection when the check after its failed push cannot be scheduled', async () => {
    const { client, connection } = await connect('held-unchecked');
    gateway.faults.failPosts({ connectionId: connection.connectionId, times: 1, error: () => new ForbiddenError() });
    await sendTo('held-unchecked-pub', 'held-unchecked', 'one');
    const event = await receiveEvent(backend.clients.sqs, ingestUrl(), 1);
    const env = backend.env;
    // The push queue is missing: SendMessageBatch fails as it would for a queue deleted under the stack.
    const failed = await deliverBatch(
      event.Records.map((r) => ({ messageId: r.messageId, body: r.body, attributes: r.attributes })),
      {
        subscriptionsTable: env.SUBSCRIPTIONS_TABLE as string,
        connectionsTable: env.CONNECTIONS_TABLE as string,
        inboxTable: env.INBOX_TABLE as string,
        processedTable: env.PROCESSED_TABLE as string,
        callbackUrl: process.env.CALLBACK_URL as string,
        pushQueueUrl: `${pushUrl()}-missing`,
        ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
        messageTtlSeconds: 3_600,
        processedTtlSeconds: 3_600,
        goneGraceMs: 30_000,
      },
    );
    expect(failed).toEqual([]);
    await deleteRecords(ingestUrl(), event.Records);
    // Not held: no check would ever release it, and later messages would wait for a reconnect. The check goes
    // out first, the hold only after it.
    expect(await heldOf(connection)).toBeUndefined();
    const second = await sendTo('held-unchecked-pub', 'held-unchecked', 'two');
    await deliverAll();
    expect(await client.receive(1, 5_000)).toEqual([expect.objectContaining({ id: second, attempt: 1 })]);
  });

  it('releases a held connection whose pushes keep failing after MAX_ATTEMPTS passes, a second apart', async () => {
    const { client, connection } = await connect('held-broken');
    // 403 is not retried by the AWS SDK: one post, one failed push. Deliver's, every pass's, and the last push
    // after the release.
    gateway.faults.failPosts({
      connectionId: connection.connectionId,
      times: 2 + MAX_ATTEMPTS,
      error: () => new ForbiddenError(),
    });
    const first = await sendTo('held-broken-pub', 'held-broken', 'one');
    await deliverAll();
    for (let pass = 0; pass < MAX_ATTEMPTS; pass++) {
      const [check] = await takePush(checkFor('held-broken'), 3_000);
      expect(targetsOf(bodyOf(check as SQSRecord))).toEqual([expect.objectContaining({ held: pass })]);
      expect((await redeliver([check as SQSRecord])).batchItemFailures).toEqual([]);
    }
    expect(await heldOf(connection)).toBeUndefined();
    // No further pass: the message waits in the inbox for the next connect; later messages are pushed live again.
    expect(await takePush(checkFor('held-broken'), 2_000)).toEqual([]);
    expect((await inboxOf('held-broken')).map((m) => m.id)).toEqual([first]);
    const second = await sendTo('held-broken-pub', 'held-broken', 'two');
    await deliverAll();
    expect(await client.receive(1, 5_000)).toEqual([expect.objectContaining({ id: second, attempt: 1 })]);
  });

  it('pushes one publisher’s messages of one batch to a connection in batch order, in one messages frame', async () => {
    const { client } = await connect('fifo-sub');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(await sendTo('fifo-pub', 'fifo-sub', { n }));
    // The FIFO queue hands out a publisher's records in one receive, in the order they were accepted, as AWS does.
    const { Records: records } = await receiveEvent(backend.clients.sqs, ingestUrl(), 1);
    expect(records).toHaveLength(3);
    await deleteRecords(ingestUrl(), records);
    expect(records.map((r) => JSON.parse(r.body).message.id)).toEqual(ids);

    const response = (await h.deliver({ Records: records } as never, lambdaContext('deliver'))) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([]);
    const pushed = await client.frameOf('messages', 0, 5_000);
    expect(pushed.index).toBe(0);
    expect(pushed.items).toEqual(
      [1, 2, 3].map((n, i) => ({
        id: ids[i],
        seq: expect.stringMatching(SEQ_PATTERN),
        from: 'fifo-pub',
        payload: { n },
        publishedAt: expect.any(String),
        attempt: 1,
      })),
    );
    const seqs = (pushed.items as Frame[]).map((f) => String(f.seq));
    expect(seqs).toEqual([...seqs].sort());
    expect(idsAndAttempts(client.messages())).toEqual(ids.map((id) => [id, 1]));
  });

  it('keeps one recipient’s messages of one publisher’s batch in one inbox item, deleted with its last ack', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(await sendTo('page-pub', 'pager', { n }));
    const { Records: records } = await receiveEvent(backend.clients.sqs, ingestUrl(), 1);
    expect(records).toHaveLength(3);
    expect((await deliver({ Records: records })).batchItemFailures).toEqual([]);
    const pages = await pagesOfInbox('pager');
    expect(pages.map((p) => p.rows.map((r) => r.id))).toEqual([ids]);
    const [first, second, third] = (pages[0]?.rows ?? []).map((r) => r.seq) as [string, string, string];

    // Acked in part, the page keeps the rest; a catch-up sends only the rest.
    expect(await ack('pager', { seqs: [second] })).toMatchObject({ type: 'acked' });
    expect((await inboxOf('pager')).map((r) => r.seq)).toEqual([first, third]);
    const { client, connection } = await connect('pager');
    expect(await frame(h.replay, 'pager', { action: 'replay' }, connection.connectionId)).toEqual({
      type: 'synced',
      count: 2,
    });
    expect((await client.receive(2, 5_000)).map((f) => [f.id, f.seq])).toEqual([
      [ids[0], first],
      [ids[2], third],
    ]);
    expect(await ack('pager', { seqs: [first, third] })).toMatchObject({ type: 'acked' });
    expect(await backend.rowsOf('INBOX_TABLE', 'pager')).toEqual([]);
  });

  it('drops a record SQS delivers again by its publisher’s watermark, with no marker per message', async () => {
    const id = await sendTo('wm-pub', 'wm-1', 'once');
    const event = await receiveEvent(backend.clients.sqs, ingestUrl(), 1);
    expect(event.Records.map((r) => r.attributes.SequenceNumber)).toEqual([expect.stringMatching(/^\d+$/)]);
    expect((await deliver(event)).batchItemFailures).toEqual([]);
    expect(await ack('wm-1', { id })).toEqual({ type: 'acked', ids: [id] });

    expect((await h.deliver(event as never, lambdaContext('deliver'))) as SQSBatchResponse).toEqual({
      batchItemFailures: [],
    });
    expect(await inboxOf('wm-1')).toEqual([]);
    const item = async (messageId: string) =>
      (await db.send(new GetCommand({ TableName: backend.env.PROCESSED_TABLE, Key: { messageId } }))).Item;
    expect(await item(id)).toBeUndefined();
    const watermark = await item(`p:${groupOf('wm-pub')}`);
    expect(BigInt(String(watermark?.sequenceNumber))).toBe(BigInt(event.Records[0]?.attributes.SequenceNumber ?? -1));

    // The publisher's next message is past the watermark: delivered.
    const next = await sendTo('wm-pub', 'wm-1', 'next');
    await deliverAll();
    expect((await inboxOf('wm-1')).map((r) => r.id)).toEqual([next]);
  });

  it('looks connections up again after an inbox write that took long: one made meanwhile gets the message live', async () => {
    await subscribe('slow-write-1', 'slow-write');
    const stall = delayInboxWrites('slow-write-1', 1_500);
    try {
      const id = await publish('slow-write-pub', 'slow-write', 'late');
      const delivering = deliverAll();
      await stall.started;
      // Recorded after the lookup began, and its catch-up (not run here) would read the inbox before the write.
      const { client } = await connect('slow-write-1');
      await delivering;
      expect(idsAndAttempts(await client.receive(1, 5_000))).toEqual([[id, 1]]);
    } finally {
      stall.release();
    }
  });

  it('writes a page DynamoDB would not take a second later, pushing it then, while the other recipients get it at once', {
    timeout: 30_000,
  }, async () => {
    for (const clientId of ['stuck-1', 'fine-1']) await subscribe(clientId, 'throttled-topic');
    const stuck = await connect('stuck-1');
    const fine = await connect('fine-1');
    const release = throttleInboxWrites('stuck-1');
    let id: string;
    try {
      id = await publish('throttled-pub', 'throttled-topic', 'hot');
      await deliverAll(); // no record fails: the other recipient is not held back by this one
    } finally {
      release();
    }
    expect(idsAndAttempts(await fine.client.receive(1, 5_000))).toEqual([[id, 1]]);
    expect(await inboxOf('stuck-1')).toEqual([]);
    expect(stuck.client.messages()).toEqual([]);

    const writes = await takePush((b) => b.kind === 'write' && b.page.clientId === 'stuck-1', 5_000);
    expect(writes).toHaveLength(1);
    expect((await redeliver(writes)).batchItemFailures).toEqual([]);
    expect((await inboxOf('stuck-1')).map((r) => r.id)).toEqual([id]);
    expect(idsAndAttempts(await stuck.client.receive(1, 5_000))).toEqual([[id, 1]]);
    // What it was pushed is checked after the ack deadline, as a live push is.
    const checks = await takePush(checkFor('stuck-1'), (ACK_DEADLINE_SECONDS + 3) * 1000);
    expect(checks.flatMap((r) => targetsOf(bodyOf(r)))).toEqual([
      { ...stuck.connection, upTo: (await inboxOf('stuck-1'))[0]?.seq },
    ]);
  });

  it('holds the recipient of a page written late, so its publisher’s next message does not reach it first', async () => {
    await subscribe('stuck-2', 'late-topic');
    const stuck = await connect('stuck-2');
    const unthrottle = throttleInboxWrites('stuck-2');
    let first: string;
    try {
      first = await publish('late-pub', 'late-topic', 'one');
      await deliverAll();
    } finally {
      unthrottle();
    }
    // Written at once this time, but not pushed: the first is still waiting for redeliver to write it.
    const second = await publish('late-pub', 'late-topic', 'two');
    await deliverAll();
    expect(stuck.client.messages()).toEqual([]);
    expect(await heldOf(stuck.connection)).toBe(2);

    const writes = await takePush((b) => b.kind === 'write' && b.page.clientId === 'stuck-2', 5_000);
    expect((await redeliver(writes)).batchItemFailures).toEqual([]);
    await expect.poll(() => new Set(stuck.client.messages().map((f) => f.id)).size, { timeout: 5_000 }).toBe(2);
    expect([...new Set(stuck.client.messages().map((f) => f.id))]).toEqual([first, second]);
    expect(await heldOf(stuck.connection)).toBeUndefined();
  });
});
