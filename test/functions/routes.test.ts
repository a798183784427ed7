import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribersOf } from '../../functions/lib/subscriptions.js';
import { mintToken } from '../../functions/lib/token.js';
import { HANDLER_NAMES, type HandlerName } from '../../infra/postbox-stack.js';
import { type Backend, startBackend } from '../helpers/backend.js';
import { authorizerEvent, gatewayId, lambdaContext, lifecycleEvent } from '../helpers/events.js';
import { frame, type Handler, loadHandlers } from '../helpers/handlers.js';

let backend: Backend;
// Every handler but the two that post to connections (deliver.test.ts covers those).
const names = HANDLER_NAMES.filter((name) => name !== 'replay' && name !== 'deliver');
let h: Record<HandlerName, Handler>;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  backend = await startBackend();
  h = (await loadHandlers(backend, names)) as Record<HandlerName, Handler>;
  db = DynamoDBDocumentClient.from(backend.clients.dynamodb);
});
afterAll(() => backend?.stop());

const env = (name: string) => backend.env[name] as string;

describe('publish and send', () => {
  it('accepts a publish once SQS holds the message, with a time-ordered id', async () => {
    const reply = await frame(h.publish, 'vendor-1', {
      action: 'publish',
      topic: 'pickup',
      payload: { order: 1 },
      ref: 'r1',
    });
    expect(reply).toEqual({ type: 'accepted', id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), ref: 'r1' });
    const received = await backend.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env('INGEST_QUEUE_URL'), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const bodies = (received.Messages ?? []).map((m) => JSON.parse(m.Body as string));
    expect(bodies).toContainEqual({
      kind: 'message',
      message: {
        id: reply.id,
        seq: reply.id,
        topic: 'pickup',
        from: 'vendor-1',
        payload: { order: 1 },
        publishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    });
  });

  it('accepts a batch of messages in one SQS message, in order, answering with their ids', async () => {
    const reply = await frame(h.publish, 'batcher-1', {
      action: 'publish',
      topic: 'pickup',
      messages: [{ payload: { order: 1 } }, { payload: { order: 2 }, id: 'key-2' }, { payload: { order: 3 } }],
    });
    expect(reply).toEqual({ type: 'accepted', ids: [expect.any(String), expect.any(String), expect.any(String)] });
    const ids = reply.ids as string[];
    const received = await backend.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env('INGEST_QUEUE_URL'), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const batch = (received.Messages ?? [])
      .map((m) => JSON.parse(m.Body as string))
      .find((body) => body.kind === 'messages' && body.messages[0].from === 'batcher-1');
    expect(batch.messages.map((m: { id: string }) => m.id)).toEqual(ids);
    expect(batch.messages.map((m: { payload: unknown }) => m.payload)).toEqual([
      { order: 1 },
      { order: 2 },
      { order: 3 },
    ]);
    const seqs = batch.messages.map((m: { seq: string }) => m.seq);
    expect([...seqs].sort()).toEqual(seqs);
    expect(new Set(seqs).size).toBe(3);
    // The keyed message's id is its key's digest, as for a single publish.
    expect(ids[1]).toMatch(/^k/);
  });

  it('refuses a batch with one payload over the limit, naming it, and enqueues none of it', async () => {
    const limit = Number(env('MAX_PAYLOAD_BYTES'));
    const reply = await frame(h.publish, 'batcher-2', {
      action: 'publish',
      topic: 'big',
      messages: [{ payload: 1 }, { payload: 'x'.repeat(limit) }],
    });
    expect(reply).toMatchObject({
      type: 'error',
      code: 'PayloadTooLarge',
      message: expect.stringMatching(/^messages\.1\.payload is /),
    });
    const received = await backend.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env('INGEST_QUEUE_URL'), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const bodies = (received.Messages ?? []).map((m) => m.Body as string);
    expect(bodies.some((body) => body.includes('batcher-2'))).toBe(false);
  });

  it('derives the id from the publisher and its idempotency key, so a retry has the same id', async () => {
    const first = await frame(h.send, 'vendor-1', { action: 'send', to: 'driver-1', payload: 1, id: 'order-7' });
    const retry = await frame(h.send, 'vendor-1', { action: 'send', to: 'driver-1', payload: 1, id: 'order-7' });
    const other = await frame(h.send, 'vendor-2', { action: 'send', to: 'driver-1', payload: 1, id: 'order-7' });
    expect(first.type).toBe('accepted');
    expect(retry.id).toBe(first.id);
    expect(other.id).not.toBe(first.id);
  });

  it('refuses a payload over the limit with PayloadTooLarge and enqueues nothing', async () => {
    const limit = Number(env('MAX_PAYLOAD_BYTES'));
    const reply = await frame(h.publish, 'vendor-1', {
      action: 'publish',
      topic: 'big',
      payload: 'x'.repeat(limit),
      ref: 'big',
    });
    expect(reply).toEqual({
      type: 'error',
      code: 'PayloadTooLarge',
      message: `payload is ${limit + 2} bytes; the limit is ${limit}`,
      ref: 'big',
    });
    const received = await backend.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env('INGEST_QUEUE_URL'), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const topics = (received.Messages ?? []).map((m) => JSON.parse(m.Body as string).message?.topic);
    expect(topics).not.toContain('big');
  });
});

describe('bad frames get an error frame naming the field', () => {
  const cases: [string, string, unknown, string, string][] = [
    ['publish', 'a topic missing', { action: 'publish', payload: 1 }, 'BadRequest', 'topic: is required'],
    ['publish', 'a payload missing', { action: 'publish', topic: 't' }, 'BadRequest', 'payload: is required'],
    [
      'publish',
      'both payload and messages',
      { action: 'publish', topic: 't', payload: 1, messages: [{ payload: 2 }] },
      'BadRequest',
      'messages: give payload or messages, not both',
    ],
    [
      'publish',
      'more than 10 messages',
      { action: 'publish', topic: 't', messages: Array.from({ length: 11 }, (_, n) => ({ payload: n })) },
      'BadRequest',
      'messages: Too big',
    ],
    [
      'publish',
      'a batch message without payload',
      { action: 'publish', topic: 't', messages: [{ payload: 1 }, { id: 'k' }] },
      'BadRequest',
      'messages.1.payload: is required',
    ],
    [
      'publish',
      'a topic of the wrong type',
      { action: 'publish', topic: 5, payload: 1 },
      'BadRequest',
      'topic: Invalid input: expected string, received number',
    ],
    ['publish', 'an empty topic', { action: 'publish', topic: '', payload: 1 }, 'BadRequest', 'topic: Too small'],
    [
      'publish',
      'an id of the wrong type',
      { action: 'publish', topic: 't', payload: 1, id: 3 },
      'BadRequest',
      'id: Invalid input: expected string',
    ],
    ['send', 'no recipient', { action: 'send', payload: 1 }, 'BadRequest', 'to: is required'],
    ['subscribe', 'a topic with spaces', { action: 'subscribe', topic: 'a b' }, 'BadRequest', 'topic: use letters'],
    ['unsubscribe', 'no topic', { action: 'unsubscribe' }, 'BadRequest', 'topic: is required'],
    ['ack', 'no id, ids, seq or seqs', { action: 'ack' }, 'BadRequest', 'id: id, ids, seq or seqs is required'],
    [
      'ack',
      'over 100 ids and seqs together',
      {
        action: 'ack',
        ids: Array.from({ length: 60 }, (_, i) => `i${i}`),
        seqs: Array.from({ length: 60 }, (_, i) => `s${i}`),
      },
      'BadRequest',
      'ids: at most 100 ids and seqs in all',
    ],
    ['ack', 'a seq that is not a string', { action: 'ack', seq: 5 }, 'BadRequest', 'seq: Invalid input'],
    ['ack', 'ids not an array', { action: 'ack', ids: 'x' }, 'BadRequest', 'ids: Invalid input: expected array'],
    ['ack', 'an empty ids list', { action: 'ack', ids: [] }, 'BadRequest', 'ids: Too small'],
    ['ack', 'a wrong id in ids', { action: 'ack', ids: ['a', 2] }, 'BadRequest', 'ids.1: Invalid input'],
    [
      'publish',
      'a payload nested 3,000 deep',
      { action: 'publish', topic: 't', payload: JSON.parse(`${'['.repeat(3000)}${']'.repeat(3000)}`) },
      'BadRequest',
      'frame: nested deeper than 20 levels',
    ],
    [
      'enqueue',
      'a payload nested past what DynamoDB stores',
      { action: 'enqueue', queue: 'q', payload: JSON.parse(`${'{"a":'.repeat(25)}1${'}'.repeat(25)}`) },
      'BadRequest',
      'frame: nested deeper than 20 levels',
    ],
    ['default', 'a frame that is not JSON', 'hello', 'BadRequest', 'frame is not valid JSON'],
    ['default', 'a JSON array', '[1,2]', 'BadRequest', 'frame: must be a JSON object'],
    ['default', 'no action', { topic: 't' }, 'BadRequest', 'action: is required'],
    ['default', 'an action that is not a string', { action: 7 }, 'BadRequest', 'action: must be a string'],
    ['default', 'an unknown action', { action: 'shout' }, 'UnknownAction', "action: 'shout' is not one of"],
  ];
  it.each(cases)('%s: %s', async (route, _what, body, code, message) => {
    const withRef = typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, ref: 'q' } : body;
    const reply = await frame(h[route as keyof typeof h], 'client-1', withRef);
    expect(reply.type).toBe('error');
    expect(reply.code).toBe(code);
    expect(reply.message).toContain(message);
    if (withRef !== body) expect(reply.ref).toBe('q');
  });

  it('refuses a ref longer than 256 characters, and does not echo it', async () => {
    const reply = await frame(h.subscribe, 'client-1', { action: 'subscribe', topic: 't', ref: 'r'.repeat(257) });
    expect(reply).toEqual({ type: 'error', code: 'BadRequest', message: expect.stringMatching(/^ref: Too big/) });
  });

  it('answers Unauthorized when the event carries no authorizer identity', async () => {
    const reply = await frame(h.subscribe, undefined, { action: 'subscribe', topic: 't' });
    expect(reply).toMatchObject({ type: 'error', code: 'Unauthorized' });
  });
});

describe('subscribe and unsubscribe', () => {
  it('records a durable subscription of the client and ends it', async () => {
    expect(await frame(h.subscribe, 'driver-1', { action: 'subscribe', topic: 'pickup', ref: 's' })).toEqual({
      type: 'subscribed',
      topic: 'pickup',
      ref: 's',
    });
    const key = { TableName: env('SUBSCRIPTIONS_TABLE'), Key: { topic: 'pickup', clientId: 'driver-1' } };
    expect((await db.send(new GetCommand(key))).Item).toMatchObject({ topic: 'pickup', clientId: 'driver-1' });
    expect(await frame(h.unsubscribe, 'driver-1', { action: 'unsubscribe', topic: 'pickup' })).toEqual({
      type: 'unsubscribed',
      topic: 'pickup',
    });
    expect((await db.send(new GetCommand(key))).Item).toBeUndefined();
  });
});

describe('$connect and $disconnect', () => {
  it('record the connection under its client, with an expiry past the 2-hour cap, and remove it', async () => {
    const connectionId = gatewayId();
    const connected = await h.connect(lifecycleEvent('CONNECT', connectionId, 'driver-9') as never, lambdaContext('c'));
    expect(connected).toEqual({ statusCode: 200 });
    const rows = await backend.rowsOf('CONNECTIONS_TABLE', 'driver-9');
    expect(rows).toHaveLength(1);
    const row = rows[0] as { connectionId: string; connectedAt: number; expiresAt: number };
    expect(row.connectionId).toBe(connectionId);
    expect(row.expiresAt - Math.floor(row.connectedAt / 1000)).toBeGreaterThan(7200);

    await h.disconnect(lifecycleEvent('DISCONNECT', connectionId, 'driver-9') as never, lambdaContext('d'));
    const after = await db.send(
      new GetCommand({ TableName: env('CONNECTIONS_TABLE'), Key: { clientId: 'driver-9', connectionId } }),
    );
    expect(after.Item).toBeUndefined();
  });
});

describe('authorizer', () => {
  const authorize = (query: Record<string, string>) => h.authorize(authorizerEvent(query) as never, lambdaContext('a'));

  it('allows a valid token and passes the clientId on as context', async () => {
    const token = await mintToken(backend.tokenSecret, 'vendor-1', '5m');
    const result = (await authorize({ token })) as Record<string, unknown>;
    expect(result).toMatchObject({
      principalId: 'vendor-1',
      context: { clientId: 'vendor-1' },
      policyDocument: { Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke' }] },
    });
  });

  it.each([
    ['missing', async () => ({})],
    ['forged', async () => ({ token: await mintToken('not-the-secret', 'vendor-1', '5m') })],
    ['expired', async () => ({ token: await mintToken(backend.tokenSecret, 'vendor-1', '-1m') })],
    ['garbage', async () => ({ token: 'abc.def.ghi' })],
  ])('refuses a %s token with Unauthorized', async (_what, query) => {
    await expect(authorize(await query())).rejects.toThrow(/^Unauthorized$/);
  });
});

describe('subscriptions expire when their client stays away', () => {
  const ttl = () => Number(env('SUBSCRIPTION_TTL_SECONDS'));
  const table = () => env('SUBSCRIPTIONS_TABLE');
  const expiryOf = async (topic: string, clientId: string) =>
    (await db.send(new GetCommand({ TableName: table(), Key: { topic, clientId } }))).Item?.expiresAt as
      | number
      | undefined;
  const setExpiry = (topic: string, clientId: string, expiresAt: number) =>
    db.send(new PutCommand({ TableName: table(), Item: { topic, clientId, subscribedAt: 0, expiresAt } }));
  const connect = (clientId: string) =>
    h.connect(lifecycleEvent('CONNECT', gatewayId(), clientId) as never, lambdaContext('c'));

  it('gives a subscription an expiry one TTL away (the message TTL by default)', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await frame(h.subscribe, 'roamer', { action: 'subscribe', topic: 'roam' })).toMatchObject({
      type: 'subscribed',
    });
    expect(ttl()).toBe(1_209_600);
    expect(await expiryOf('roam', 'roamer')).toBeGreaterThanOrEqual(now + ttl());
  });

  it('pushes the expiry back at connect when it is due, and leaves expired and fresh ones alone', async () => {
    const now = Math.floor(Date.now() / 1000);
    await setExpiry('due', 'returner', now + 3600); // last refreshed long ago
    await setExpiry('gone', 'returner', now - 60); // already expired: over, even if not deleted yet
    await setExpiry('fresh', 'returner', now + ttl() - 60); // refreshed a minute ago
    await frame(h.unsubscribe, 'returner', { action: 'unsubscribe', topic: 'left' });

    expect(await connect('returner')).toEqual({ statusCode: 200 });
    expect(await expiryOf('due', 'returner')).toBeGreaterThanOrEqual(now + ttl());
    expect(await expiryOf('gone', 'returner')).toBe(now - 60);
    expect(await expiryOf('fresh', 'returner')).toBe(now + ttl() - 60);
    expect(await expiryOf('left', 'returner')).toBeUndefined();
  });

  it('leaves an expired subscription out of a fan-out', async () => {
    const now = Math.floor(Date.now() / 1000);
    await setExpiry('fan', 'stayed', now + 3600);
    await setExpiry('fan', 'lapsed', now - 1);
    expect(await subscribersOf(table(), 'fan')).toEqual(['stayed']);
  });
});
