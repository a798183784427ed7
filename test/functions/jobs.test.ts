import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { deadJobs, jobsConfigFromEnv, purgeDead, redrive } from '../../functions/lib/jobs.js';
import { DEAD_LETTERED_MESSAGE, QUEUE_REPORT_MESSAGE } from '../../functions/lib/keys.js';
import { mintToken } from '../../functions/lib/token.js';
import { type Backend, startBackend } from '../helpers/backend.js';
import { type Frame, TestClient } from '../helpers/client.js';
import { lambdaContext, receiveEvent } from '../helpers/events.js';
import { startHandlerGateway } from '../helpers/gateway.js';
import { frame, type Handler, loadHandlers } from '../helpers/handlers.js';

/** Short enough that deadlines pass within a test; the timers come off the real push queue (fauxqs). */
const LEASE_SECONDS = 2;
const MAX_DELIVERIES = 3;

type Route = 'enqueue' | 'consume' | 'cancel' | 'ack' | 'nack' | 'extend' | 'redeliver';

let backend: Backend;
let db: DynamoDBDocumentClient;
let h: Record<Route, Handler>;
let stopGateway: () => Promise<void>;
let wsUrl: string;
let pumping = true;
let pump: Promise<void>;
const sockets: TestClient[] = [];

beforeAll(async () => {
  backend = await startBackend();
  db = DynamoDBDocumentClient.from(backend.clients.dynamodb);
  // $disconnect pushes (it gives jobs back to other consumers), so the gateway's own URL must be in its environment
  // before it is loaded: the gateway calls the lifecycle handlers through this object, filled in once it listens.
  const lifecycle = {} as Record<'authorize' | 'connect' | 'disconnect', Handler>;
  const started = await startHandlerGateway(lifecycle);
  stopGateway = () => started.gateway.stop();
  wsUrl = started.gateway.url;
  const env = {
    CALLBACK_URL: started.callbackUrl,
    LEASE_SECONDS: String(LEASE_SECONDS),
    MAX_DELIVERIES: String(MAX_DELIVERIES),
    // As the stack writes `workQueues.queues: { 'wq-own': { leaseTime: 4 s, maxDeliveries: 1 } }`.
    QUEUE_SETTINGS: JSON.stringify({
      'wq-own': { leaseSeconds: 4, maxDeliveries: 1 },
      'wq-watch': { maxDeliveries: 1 },
    }),
    // The queues' reports each second rather than each minute.
    WATCH_SECONDS: '1',
  };
  Object.assign(lifecycle, await loadHandlers(backend, ['authorize', 'connect', 'disconnect'] as const, env));
  h = await loadHandlers(backend, ['enqueue', 'consume', 'cancel', 'ack', 'nack', 'extend', 'redeliver'] as const, env);
  pump = runPushQueue();
});
afterAll(async () => {
  pumping = false;
  await pump;
  await Promise.all(sockets.map((s) => s.close()));
  await stopGateway?.();
  await backend?.stop();
});

/** The push queue's event source mapping: redeliver runs catch-ups and the jobs' timers as they come due. */
async function runPushQueue(): Promise<void> {
  const url = backend.env.PUSH_QUEUE_URL as string;
  while (pumping) {
    const event = await receiveEvent(backend.clients.sqs, url, 1);
    if (event.Records.length === 0) continue;
    const response = (await h.redeliver(event as never, lambdaContext('redeliver'))) as SQSBatchResponse;
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = event.Records.filter((r) => !failed.has(r.messageId));
    if (done.length > 0)
      await backend.clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: done.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
        }),
      );
  }
}

interface Consumer {
  socket: TestClient;
  clientId: string;
  connectionId: string;
  /** Sends a frame to a route handler as this connection, returning the reply. */
  say(route: Route, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Job frames received so far. */
  jobs(): Frame[];
  /** Waits for the job frames number `from`.. `from + count - 1`. */
  nextJobs(count: number, from: number, timeoutMs?: number): Promise<Frame[]>;
}

async function connect(clientId: string): Promise<Consumer> {
  const socket = await TestClient.connect(`${wsUrl}/?token=${await mintToken(backend.tokenSecret, clientId, '5m')}`);
  sockets.push(socket);
  const rows = await backend.rowsOf('CONNECTIONS_TABLE', clientId);
  const known = new Set(consumers.map((c) => c.connectionId));
  const row = rows.find((r) => !known.has(r.connectionId as string));
  if (!row) throw new Error(`no connection row for ${clientId}`);
  const connectionId = row.connectionId as string;
  const jobs = () => socket.frames.filter((f) => f.type === 'job');
  const consumer: Consumer = {
    socket,
    clientId,
    connectionId,
    say: (route, body) => frame(h[route], clientId, { action: route, ...body }, connectionId),
    jobs,
    nextJobs: async (count, from, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (jobs().length < from + count) {
        if (Date.now() > deadline) throw new Error(`${jobs().length - from} of ${count} jobs within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return jobs().slice(from, from + count);
    },
  };
  consumers.push(consumer);
  return consumer;
}
const consumers: Consumer[] = [];

const enqueue = (from: string, queue: string, payload: unknown, extra: Record<string, unknown> = {}) =>
  frame(h.enqueue, from, { action: 'enqueue', queue, payload, ...extra });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jobsConfig = () => ({ ...jobsConfigFromEnv(), maxDeliveries: MAX_DELIVERIES, leaseSeconds: LEASE_SECONDS });

/** The JSON log lines the functions write from now to the end of the test. */
function captureLogs(): () => Record<string, unknown>[] {
  const chunks: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      chunks.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof stream.write;
    onTestFinished(() => {
      stream.write = write;
    });
  }
  return () =>
    chunks
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
}

async function jobItem(queue: string, id: string): Promise<Record<string, unknown> | undefined> {
  const result = await db.send(
    new GetCommand({ TableName: backend.env.JOBS_TABLE, Key: { queue, key: `j#${id}` }, ConsistentRead: true }),
  );
  return result.Item;
}

describe('work queues', () => {
  it('leases an enqueued job to a consumer with the protocol fields, and an ack completes it for good', async () => {
    const driver = await connect('wq-driver-1');
    expect(await driver.say('consume', { queue: 'wq-1', prefetch: 1 })).toEqual({
      type: 'consuming',
      queue: 'wq-1',
      prefetch: 1,
    });
    const accepted = await enqueue('wq-vendor', 'wq-1', { order: 1 });
    expect(accepted).toEqual({ type: 'accepted', id: expect.any(String) });
    const [job] = await driver.nextJobs(1, 0);
    expect(job).toEqual({
      type: 'job',
      queue: 'wq-1',
      id: accepted.id,
      lease: expect.any(String),
      payload: { order: 1 },
      from: 'wq-vendor',
      enqueuedAt: expect.any(String),
      attempt: 1,
      deadline: expect.any(String),
    });
    const deadline = Date.parse(job?.deadline as string);
    expect(deadline - Date.now()).toBeGreaterThan(0);
    expect(deadline - Date.now()).toBeLessThanOrEqual(LEASE_SECONDS * 1000);
    expect(await driver.say('ack', { queue: 'wq-1', id: job?.id, lease: job?.lease })).toEqual({
      type: 'completed',
      queue: 'wq-1',
      id: accepted.id,
    });
    expect(await jobItem('wq-1', accepted.id as string)).toBeUndefined();
    // Completed is for good: past the lease's deadline nothing comes back.
    await sleep(LEASE_SECONDS * 1000 + 2_000);
    expect(driver.jobs()).toHaveLength(1);
  });

  it('never gives a consumer more than its prefetch, offers the oldest first, and the next as soon as it has room', async () => {
    const ids: string[] = [];
    for (let n = 1; n <= 10; n++) ids.push((await enqueue('wq-vendor', 'wq-2', { n })).id as string);
    const driver = await connect('wq-driver-2');
    await driver.say('consume', { queue: 'wq-2', prefetch: 2 });
    const first = await driver.nextJobs(2, 0);
    expect(first.map((j) => j.id)).toEqual(ids.slice(0, 2));
    await sleep(500);
    expect(driver.jobs()).toHaveLength(2);
    await driver.say('ack', { queue: 'wq-2', id: first[0]?.id, lease: first[0]?.lease });
    const [third] = await driver.nextJobs(1, 2);
    expect(third?.id).toBe(ids[2]);
    await sleep(300);
    expect(driver.jobs()).toHaveLength(3);
    // A larger prefetch takes effect at once, and the jobs it lets in arrive oldest first.
    await driver.say('consume', { queue: 'wq-2', prefetch: 10 });
    expect((await driver.nextJobs(7, 3)).map((j) => j.id)).toEqual(ids.slice(3, 10));
  });

  it('refuses a lease that is not current (stale, never leased, someone else’s) and changes nothing', async () => {
    const a = await connect('wq-driver-3a');
    const b = await connect('wq-driver-3b');
    const waiting = await enqueue('wq-vendor', 'wq-3-idle', 'never leased');
    expect(await a.say('ack', { queue: 'wq-3-idle', id: waiting.id, lease: 'made-up' })).toMatchObject({
      type: 'error',
      code: 'StaleLease',
      message: expect.stringMatching(/^lease: .*not leased/),
    });
    expect(await a.say('ack', { queue: 'wq-3-idle', id: 'no-such-job', lease: 'x' })).toMatchObject({
      type: 'error',
      code: 'StaleLease',
      message: expect.stringMatching(/^id: no job/),
    });
    await a.say('consume', { queue: 'wq-3', prefetch: 1 });
    const { id } = await enqueue('wq-vendor', 'wq-3', 'held by a');
    const [job] = await a.nextJobs(1, 0);
    for (const [who, lease] of [
      [a, 'not-the-lease'],
      [b, job?.lease],
    ] as const) {
      for (const route of ['ack', 'nack', 'extend'] as const)
        expect(
          await who.say(route, { queue: 'wq-3', id, lease, ...(route === 'extend' ? { seconds: 60 } : {}) }),
        ).toMatchObject({ type: 'error', code: 'StaleLease', message: expect.stringMatching(/^lease: not current/) });
    }
    expect(await jobItem('wq-3', id as string)).toMatchObject({ status: 'leased', lease: job?.lease, attempt: 1 });
    expect(await a.say('ack', { queue: 'wq-3', id, lease: job?.lease })).toMatchObject({ type: 'completed' });
  });

  it('makes one job of one idempotency key, however often it is enqueued', async () => {
    const first = await enqueue('wq-vendor', 'wq-4', 'once', { id: 'order-77' });
    const again = await enqueue('wq-vendor', 'wq-4', 'once', { id: 'order-77' });
    expect(again.id).toBe(first.id);
    const driver = await connect('wq-driver-4');
    await driver.say('consume', { queue: 'wq-4', prefetch: 5 });
    const [job] = await driver.nextJobs(1, 0);
    await driver.say('ack', { queue: 'wq-4', id: job?.id, lease: job?.lease });
    // Even after it was completed, the key does not make it again.
    expect((await enqueue('wq-vendor', 'wq-4', 'once', { id: 'order-77' })).id).toBe(first.id);
    await sleep(1_000);
    expect(driver.jobs()).toHaveLength(1);
  });

  it('enqueues up to ten jobs in one frame: their ids in order, offered in that order, one job per key', async () => {
    const { ids } = await enqueue('wq-vendor', 'wq-12', undefined, {
      jobs: [
        { payload: 'a', id: 'batch-a' },
        { payload: 'b' },
        { payload: 'later', delaySeconds: 1 },
        { payload: 'c' },
      ],
    });
    expect(ids).toHaveLength(4);
    // The same key again, alone or in a batch, is the same job.
    expect(await enqueue('wq-vendor', 'wq-12', 'a again', { id: 'batch-a' })).toEqual({
      type: 'accepted',
      id: (ids as string[])[0],
    });
    const driver = await connect('wq-driver-12');
    await driver.say('consume', { queue: 'wq-12', prefetch: 10 });
    const now = await driver.nextJobs(3, 0);
    expect(now.map((j) => j.payload)).toEqual(['a', 'b', 'c']);
    const [later] = await driver.nextJobs(1, 3);
    expect([later?.id, later?.payload]).toEqual([(ids as string[])[2], 'later']);
    await sleep(300);
    expect(driver.jobs()).toHaveLength(4);
    const tooBig = 'x'.repeat(70_000);
    expect(
      await enqueue('wq-vendor', 'wq-12', undefined, { jobs: [{ payload: 'fine' }, { payload: tooBig }] }),
    ).toMatchObject({
      type: 'error',
      code: 'PayloadTooLarge',
      message: expect.stringMatching(/^jobs\.1\.payload is /),
    });
    await sleep(300);
    expect(driver.jobs()).toHaveLength(4);
  });

  it('holds a delayed job back until its delay is over', async () => {
    const driver = await connect('wq-driver-5');
    await driver.say('consume', { queue: 'wq-5', prefetch: 1 });
    const enqueuedAt = Date.now();
    const { id } = await enqueue('wq-vendor', 'wq-5', 'later', { delaySeconds: 2 });
    const [job] = await driver.nextJobs(1, 0, 10_000);
    expect(job?.id).toBe(id);
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(2_000);
  });

  it('offers a job again, attempt + 1, when its lease expires, and dead-letters it after maxDeliveries', async () => {
    // The stack's dead-letter alarm is a metric filter on this log line.
    const logged = captureLogs();
    const driver = await connect('wq-driver-6');
    await driver.say('consume', { queue: 'wq-6', prefetch: 1 });
    const { id } = await enqueue('wq-vendor', 'wq-6', 'slow');
    const offered = await driver.nextJobs(MAX_DELIVERIES, 0, (LEASE_SECONDS + 3) * MAX_DELIVERIES * 1000);
    expect(offered.map((j) => [j.id, j.attempt])).toEqual([
      [id, 1],
      [id, 2],
      [id, 3],
    ]);
    expect(new Set(offered.map((j) => j.lease)).size).toBe(MAX_DELIVERIES);
    // The last lease runs out too: dead, never offered again.
    await sleep((LEASE_SECONDS + 3) * 1000);
    expect(driver.jobs()).toHaveLength(MAX_DELIVERIES);
    expect(await jobItem('wq-6', id as string)).toMatchObject({ status: 'dead', lastError: 'lease expired' });
    expect(logged().filter((line) => line.id === id)).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: DEAD_LETTERED_MESSAGE, queue: 'wq-6', id }),
    );
    expect(await deadJobs(jobsConfig(), 'wq-6')).toEqual([
      expect.objectContaining({ id, attempts: MAX_DELIVERIES, lastError: 'lease expired', payload: 'slow' }),
    ]);
    // A redrive brings it back with its deliveries counted afresh.
    expect(await redrive(jobsConfig(), 'wq-6')).toBe(1);
    const [back] = await driver.nextJobs(1, MAX_DELIVERIES);
    expect([back?.id, back?.attempt]).toEqual([id, 1]);
    expect(await deadJobs(jobsConfig(), 'wq-6')).toEqual([]);
  }, 60_000);

  it('gives a queue the stack names its own lease and deliveries, and any other queue the stack’s', async () => {
    const driver = await connect('wq-driver-own');
    await driver.say('consume', { queue: 'wq-own', prefetch: 1 });
    await driver.say('consume', { queue: 'wq-11', prefetch: 1 });
    const own = await enqueue('wq-vendor', 'wq-own', 'own');
    const [ownJob] = await driver.nextJobs(1, 0);
    const other = await enqueue('wq-vendor', 'wq-11', 'other');
    const [otherJob] = await driver.nextJobs(1, 1);
    expect([ownJob?.id, otherJob?.id]).toEqual([own.id, other.id]);
    const left = (job: Frame | undefined) => Date.parse(job?.deadline as string) - Date.now();
    expect(left(ownJob)).toBeGreaterThan(LEASE_SECONDS * 1000);
    expect(left(ownJob)).toBeLessThanOrEqual(4000);
    expect(left(otherJob)).toBeLessThanOrEqual(LEASE_SECONDS * 1000);
    // One delivery on `wq-own`: its first nack dead-letters it; `wq-11` offers its job again.
    for (const job of [ownJob, otherJob])
      expect(await driver.say('nack', { queue: job?.queue, id: job?.id, lease: job?.lease })).toMatchObject({
        type: 'released',
      });
    const [again] = await driver.nextJobs(1, 2);
    expect([again?.id, again?.attempt]).toEqual([other.id, 2]);
    expect(await jobItem('wq-own', own.id as string)).toMatchObject({ status: 'dead', attempt: 1 });
  });

  it('reports a queue’s oldest waiting job and its dead jobs while they last, for the age and depth alarms', async () => {
    const logged = captureLogs();
    const reports = () => logged().filter((l) => l.message === QUEUE_REPORT_MESSAGE && l.queue === 'wq-watch');
    const until = async (check: () => boolean, what: string) => {
      for (const deadline = Date.now() + 10_000; !check(); await sleep(50))
        if (Date.now() > deadline) throw new Error(`no ${what} within 10 s: ${JSON.stringify(reports())}`);
    };
    const { id } = await enqueue('wq-vendor', 'wq-watch', 'nobody yet');
    await until(() => reports().some((r) => (r.oldestReadyAgeSeconds as number) >= 2), 'report of a 2 s wait');
    // At WARN, so the alarms see it with -c logLevel=WARN too.
    expect(reports()[0]).toMatchObject({ level: 'WARN', deadJobs: 0, oldestReadyId: id });
    // Taken, then dead at its one delivery: the reports go on, with the dead job and nothing waiting.
    const driver = await connect('wq-driver-watch');
    await driver.say('consume', { queue: 'wq-watch', prefetch: 1 });
    const [job] = await driver.nextJobs(1, 0);
    await driver.say('nack', { queue: 'wq-watch', id, lease: job?.lease, reason: 'poison' });
    const before = reports().length;
    await until(
      () =>
        reports()
          .slice(before)
          .some((r) => r.deadJobs === 1),
      'report of the dead job',
    );
    expect(reports().at(-1)).toMatchObject({ deadJobs: 1, oldestReadyAgeSeconds: 0 });
    // Nothing waiting and nothing dead: the reports stop, and the watch's row goes.
    await purgeDead(jobsConfig(), 'wq-watch');
    const watchRow = async () =>
      (
        await db.send(
          new GetCommand({
            TableName: backend.env.JOBS_TABLE,
            Key: { queue: 'wq-watch', key: 'w#' },
            ConsistentRead: true,
          }),
        )
      ).Item;
    for (const deadline = Date.now() + 5_000; await watchRow(); await sleep(100))
      if (Date.now() > deadline) throw new Error('the watch row is still there 5 s after the purge');
    const stopped = reports().length;
    await sleep(2_500);
    expect(reports()).toHaveLength(stopped);
  }, 30_000);

  it('takes a nack back at once or after its delay, keeps its reason, and an extend keeps a lease past its deadline', async () => {
    const driver = await connect('wq-driver-7');
    await driver.say('consume', { queue: 'wq-7', prefetch: 1 });
    const { id } = await enqueue('wq-vendor', 'wq-7', 'retry me');
    const [first] = await driver.nextJobs(1, 0);
    expect(await driver.say('nack', { queue: 'wq-7', id, lease: first?.lease, reason: 'no driver nearby' })).toEqual({
      type: 'released',
      queue: 'wq-7',
      id,
    });
    const [second] = await driver.nextJobs(1, 1);
    expect(second?.attempt).toBe(2);
    const nackedAt = Date.now();
    await driver.say('nack', { queue: 'wq-7', id, lease: second?.lease, delaySeconds: 2 });
    expect(await jobItem('wq-7', id as string)).toMatchObject({ status: 'ready', lastError: 'nacked' });
    const [third] = await driver.nextJobs(1, 2, 10_000);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(2_000);
    const extended = await driver.say('extend', { queue: 'wq-7', id, lease: third?.lease, seconds: 8 });
    expect(extended).toMatchObject({ type: 'extended', queue: 'wq-7', id });
    expect(Date.parse(extended.deadline as string)).toBeGreaterThan(Date.parse(third?.deadline as string));
    // Past the first deadline the lease still holds: the ack succeeds and nothing was offered again.
    await sleep(LEASE_SECONDS * 1000 + 2_000);
    expect(driver.jobs()).toHaveLength(3);
    expect(await driver.say('ack', { queue: 'wq-7', id, lease: third?.lease })).toMatchObject({ type: 'completed' });
  }, 30_000);

  it('gives the jobs of a connection that drops to another consumer at once, and cancel stops new offers', async () => {
    const a = await connect('wq-driver-8a');
    await a.say('consume', { queue: 'wq-8', prefetch: 1 });
    const { id } = await enqueue('wq-vendor', 'wq-8', 'hot potato');
    const [held] = await a.nextJobs(1, 0);
    // Far from its deadline: only the drop can give it back within the test.
    await a.say('extend', { queue: 'wq-8', id, lease: held?.lease, seconds: 600 });
    const b = await connect('wq-driver-8b');
    await b.say('consume', { queue: 'wq-8', prefetch: 1 });
    await b.say('cancel', { queue: 'wq-8' });
    const c = await connect('wq-driver-8c');
    await c.say('consume', { queue: 'wq-8', prefetch: 1 });
    const started = Date.now();
    a.socket.ws.socket.terminate();
    const [taken] = await c.nextJobs(1, 0, 5_000);
    expect([taken?.id, taken?.attempt]).toEqual([id, 2]);
    expect(taken?.lease).not.toBe(held?.lease);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(b.jobs()).toHaveLength(0);
  });

  it('answers bad frames with an error naming the field', async () => {
    const driver = await connect('wq-driver-9');
    const cases: [Route, Record<string, unknown>, RegExp][] = [
      ['consume', { queue: 'no spaces', prefetch: 1 }, /^queue: /],
      ['consume', { queue: 'q', prefetch: 0 }, /^prefetch: /],
      ['consume', { queue: 'q', prefetch: 101 }, /^prefetch: /],
      ['enqueue', { queue: 'q' }, /^payload: is required/],
      ['enqueue', { queue: 'q', payload: 1, delaySeconds: 901 }, /^delaySeconds: /],
      ['enqueue', { queue: 'q', payload: 1, jobs: [{ payload: 2 }] }, /^jobs: give payload .* or jobs, not both/],
      ['enqueue', { queue: 'q', jobs: Array.from({ length: 11 }, () => ({ payload: 1 })) }, /^jobs: /],
      ['enqueue', { queue: 'q', jobs: [{ payload: 1 }, { id: 'k' }] }, /^jobs\.1\.payload: is required/],
      ['nack', { queue: 'q', id: 'x' }, /^lease: is required/],
      ['extend', { queue: 'q', id: 'x', lease: 'y', seconds: 0 }, /^seconds: /],
    ];
    for (const [route, body, message] of cases)
      expect(await driver.say(route, body)).toMatchObject({ type: 'error', code: 'BadRequest', message });
  });
});
