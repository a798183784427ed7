import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { type Backend, startBackend } from '../helpers/backend.js';
import { TestClient } from '../helpers/client.js';
import { lambdaContext, receiveEvent } from '../helpers/events.js';
import { startHandlerGateway } from '../helpers/gateway.js';
import { frame, type Handler, loadHandlers } from '../helpers/handlers.js';

let backend: Backend;
let db: DynamoDBDocumentClient;
let stopGateway: () => Promise<void>;
let wsUrl: string;
let h: Record<'subscribe' | 'publish' | 'send' | 'ack' | 'replay' | 'deliver', Handler>;
const clients: TestClient[] = [];

beforeAll(async () => {
  backend = await startBackend();
  db = DynamoDBDocumentClient.from(backend.clients.dynamodb);
  const lifecycle = await loadHandlers(backend, ['authorize', 'connect', 'disconnect'] as const);
  const { gateway, callbackUrl } = await startHandlerGateway(lifecycle);
  stopGateway = () => gateway.stop();
  wsUrl = gateway.url;
  h = await loadHandlers(backend, ['subscribe', 'publish', 'send', 'ack', 'replay', 'deliver'] as const, {
    CALLBACK_URL: callbackUrl,
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await stopGateway?.();
  await backend?.stop();
});

const queueUrl = () => backend.env.INGEST_QUEUE_URL as string;

async function connect(clientId: string): Promise<{ client: TestClient; connectionId: string }> {
  const client = await TestClient.connect(`${wsUrl}/?token=${await mintToken(backend.tokenSecret, clientId, '5m')}`);
  clients.push(client);
  const rows = await connectionsOf(clientId);
  return { client, connectionId: rows.at(-1)?.connectionId as string };
}

async function connectionsOf(clientId: string) {
  return (await backend.rowsOf('CONNECTIONS_TABLE', clientId)) as { connectionId: string; connectedAt: number }[];
}

async function inboxOf(clientId: string) {
  const items = await backend.rowsOf('INBOX_TABLE', clientId, 'bySeq');
  return items.map((item) => JSON.parse(item.message as string) as { id: string; payload: unknown });
}

/** Runs deliver on `event` and, like the event source mapping, deletes the records it did not report as failed. */
async function deliver(event: SQSEvent, sqs: SQSClient = backend.clients.sqs): Promise<SQSBatchResponse> {
  const response = (await h.deliver(event as never, lambdaContext('deliver'))) as SQSBatchResponse;
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  if (done.length > 0)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  return response;
}

/** Delivers whatever the ingest queue holds (including $connect's delayed records once `waitSeconds` pass). */
async function deliverAll(waitSeconds = 1): Promise<void> {
  for (;;) {
    const event = await receiveEvent(backend.clients.sqs, queueUrl(), waitSeconds);
    if (event.Records.length === 0) return;
    await deliver(event);
  }
}

/** Takes records off the ingest queue (earlier tests' leftovers included) until one whose body matches. */
async function takeQueued(matches: (body: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let tries = 0; tries < 5; tries++) {
    const event = await receiveEvent(backend.clients.sqs, queueUrl(), 2);
    if (event.Records.length === 0) continue;
    await backend.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: event.Records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
    const found = event.Records.map((r) => JSON.parse(r.body) as Record<string, unknown>).find(matches);
    if (found) return found;
  }
  throw new Error('no matching record on the ingest queue');
}

async function publish(from: string, topic: string, payload: unknown) {
  const reply = await frame(h.publish, from, { action: 'publish', topic, payload });
  expect(reply.type).toBe('accepted');
  return reply.id as string;
}

describe('deliver', () => {
  it('fans a topic message out to three subscribers: live ones get it at once, every inbox keeps it', async () => {
    const driverIds = ['fan-1', 'fan-2', 'fan-3'];
    for (const id of driverIds) await frame(h.subscribe, id, { action: 'subscribe', topic: 'fanout' });
    const live = [await connect('fan-1'), await connect('fan-2')];
    await deliverAll(); // the connects' own records: nothing pending yet
    const id = await publish('vendor-1', 'fanout', { order: 42 });
    await deliverAll(0);
    for (const { client } of live) {
      expect(await client.nextMatching((f) => f.type === 'message')).toEqual({
        type: 'message',
        id,
        topic: 'fanout',
        from: 'vendor-1',
        payload: { order: 42 },
        publishedAt: expect.any(String),
        attempt: 1,
      });
    }
    for (const driver of driverIds) expect((await inboxOf(driver)).map((m) => m.id)).toEqual([id]);
  });

  it('keeps an offline subscriber’s messages and pushes them, oldest first, soon after it connects', async () => {
    await frame(h.subscribe, 'late-1', { action: 'subscribe', topic: 'late' });
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await publish('vendor-1', 'late', { n }));
    await deliverAll(0);
    const { client } = await connect('late-1');
    await deliverAll(2); // $connect's record is delayed by a second
    const pushed = [await client.next(), await client.next(), await client.next()];
    expect(pushed.map((f) => f.id)).toEqual(ids);
    expect(pushed.map((f) => f.attempt)).toEqual([1, 1, 1]);
  });

  it('does not push again after connect what the live push already gave the new connection', async () => {
    await frame(h.subscribe, 'early-1', { action: 'subscribe', topic: 'early' });
    const { client } = await connect('early-1');
    const id = await publish('vendor-1', 'early', 'hot');
    await deliverAll(0); // the live push; $connect's own record is still delayed
    expect(await client.nextMatching((f) => f.type === 'message')).toMatchObject({ id, attempt: 1 });
    await deliverAll(2); // now $connect's record: its push leaves out what was routed after the connection was recorded
    expect(client.messages().map((f) => f.id)).toEqual([id]);
    expect((await inboxOf('early-1')).map((m) => m.id)).toEqual([id]);
  });

  it('replays unacked messages oldest first on request, then says how many, counting the attempt', async () => {
    await frame(h.subscribe, 'replay-1', { action: 'subscribe', topic: 'replay' });
    const ids = [await publish('vendor-1', 'replay', 'a'), await publish('vendor-1', 'replay', 'b')];
    await deliverAll(0);
    const { client, connectionId } = await connect('replay-1');
    const reply = await frame(h.replay, 'replay-1', { action: 'replay', ref: 'rp' }, connectionId);
    expect(reply).toEqual({ type: 'replayed', count: 2, ref: 'rp' });
    const pushed = [await client.next(), await client.next()];
    expect(pushed.map((f) => [f.id, f.attempt])).toEqual([
      [ids[0], 1],
      [ids[1], 1],
    ]);
    await frame(h.replay, 'replay-1', { action: 'replay' }, connectionId);
    expect((await client.next()).attempt).toBe(2);
  });

  it('acks delete from the caller’s inbox only; acking twice is harmless', async () => {
    const id = (await frame(h.send, 'vendor-1', { action: 'send', to: 'acker', payload: 'x' })).id as string;
    await deliverAll(0);
    expect((await inboxOf('acker')).map((m) => m.id)).toEqual([id]);

    expect(await frame(h.ack, 'intruder', { action: 'ack', id })).toEqual({ type: 'acked', ids: [id] });
    expect((await inboxOf('acker')).map((m) => m.id)).toEqual([id]);

    expect(await frame(h.ack, 'acker', { action: 'ack', ids: [id, id], ref: 'a' })).toEqual({
      type: 'acked',
      ids: [id],
      ref: 'a',
    });
    expect(await inboxOf('acker')).toEqual([]);
    expect(await frame(h.ack, 'acker', { action: 'ack', id })).toEqual({ type: 'acked', ids: [id] });
  });

  it('does not bring an acked message back when SQS delivers its record again', async () => {
    await frame(h.send, 'vendor-1', { action: 'send', to: 'dup-1', payload: 'once', id: 'order-1' });
    const event = await receiveEvent(backend.clients.sqs, queueUrl(), 1);
    expect(event.Records).toHaveLength(1);
    await deliver(event);
    const inbox = await inboxOf('dup-1');
    expect(inbox).toHaveLength(1);
    const id = inbox[0]?.id as string;
    expect(await frame(h.ack, 'dup-1', { action: 'ack', id })).toEqual({ type: 'acked', ids: [id] });

    const again = await deliver(event);
    expect(again.batchItemFailures).toEqual([]);
    // The publisher retrying with the same idempotency key is the same message too.
    expect(await frame(h.send, 'vendor-1', { action: 'send', to: 'dup-1', payload: 'once', id: 'order-1' })).toEqual({
      type: 'accepted',
      id,
    });
    await deliverAll(0);
    expect(await inboxOf('dup-1')).toEqual([]);
  });

  it('removes a connection that API Gateway calls Gone, but not one that may still be in $connect', async () => {
    const table = backend.env.CONNECTIONS_TABLE;
    const now = Date.now();
    const stale = { clientId: 'ghost', connectionId: 'R1kmxc2VNjMCFIA=', connectedAt: now - 60_000 };
    const young = { clientId: 'ghost', connectionId: 'JC1dgf9yoAMCK-g=', connectedAt: now };
    for (const item of [stale, young]) await db.send(new PutCommand({ TableName: table, Item: item }));
    const before = Date.now();
    await frame(h.send, 'vendor-1', { action: 'send', to: 'ghost', payload: 'boo' });
    await deliverAll(0);
    expect((await connectionsOf('ghost')).map((c) => c.connectionId)).toEqual([young.connectionId]);
    expect(await inboxOf('ghost')).toHaveLength(1);
    // The young one missed its live push, and its own connect-time push leaves out what was routed after it was
    // recorded: deliver asks for another one, covering up to now.
    const asked = await takeQueued((body) => body.clientId === 'ghost');
    expect(asked).toEqual({
      kind: 'connected',
      clientId: 'ghost',
      connectionId: young.connectionId,
      connectedAt: now,
      routedBefore: expect.any(Number),
    });
    expect(asked.routedBefore).toBeGreaterThan(before);
  });

  it('retries a connect-time push that finds the connection still in $connect, but not one long gone', async () => {
    await frame(h.send, 'vendor-1', { action: 'send', to: 'slowpoke', payload: 'waiting' });
    await deliverAll(0);
    const sent = await receiveEvent(backend.clients.sqs, queueUrl(), 0);
    expect(sent.Records).toEqual([]);
    const template = { messageId: '', receiptHandle: '', attributes: {}, messageAttributes: {}, md5OfBody: '' };
    const connected = (messageId: string, connectedAt: number) => ({
      ...template,
      messageId,
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ingest',
      awsRegion: 'us-east-1',
      // No socket has this id: the local gateway answers 410, as API Gateway does during $connect.
      body: JSON.stringify({ kind: 'connected', clientId: 'slowpoke', connectionId: 'Zm9vYmFyYmF6cXU=', connectedAt }),
    });
    const young = connected('8d1f4c1e-6f0e-4a53-9b1e-1f2d3c4b5a69', Date.now());
    const old = connected('0b7f3a2d-1c4e-4f5a-8b6c-7d8e9f0a1b2c', Date.now() - 120_000);
    const response = (await h.deliver(
      { Records: [young, old] } as never,
      lambdaContext('deliver'),
    )) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: young.messageId }]);
    expect(await inboxOf('slowpoke')).toHaveLength(1);
  });

  it('reports only the poison record of a batch for retry', async () => {
    await frame(h.send, 'vendor-1', { action: 'send', to: 'poisoned', payload: 'fine' });
    const event = await receiveEvent(backend.clients.sqs, queueUrl(), 1);
    const good = event.Records[0];
    if (!good) throw new Error('expected a record');
    const poison = { ...good, messageId: '059f36b4-87a3-44ab-83d2-661975830a7d', body: '{"kind":"message"' };
    const wrongShape = { ...good, messageId: '2e1424d4-f796-459a-8184-9c92662be6da', body: '{"kind":"other"}' };
    const response = (await h.deliver(
      { Records: [poison, good, wrongShape] } as never,
      lambdaContext('deliver'),
    )) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: poison.messageId },
      { itemIdentifier: wrongShape.messageId },
    ]);
    expect(await inboxOf('poisoned')).toHaveLength(1);
  });
});
