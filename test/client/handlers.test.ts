import { connect, type Job, type PostboxClient } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

// Handlers that fail: a message comes again, a job comes back, a job whose handler never returns goes to another
// consumer. Short server timers (1 s ack deadline, 2 s lease) make the server's redeliveries come soon.
let postbox: Postbox;
const clients: PostboxClient[] = [];

beforeAll(async () => {
  postbox = await startPostbox({ environment: { ACK_DEADLINE_SECONDS: '1', LEASE_SECONDS: '2' } });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await postbox?.stop();
});

function open(clientId: string): PostboxClient {
  const client = connect(postbox.local.url, { getToken: () => mintToken(postbox.secret, clientId, '10m') });
  clients.push(client);
  return client;
}

/** Resolves with what `record` collected once `done` says so, polling the array the handlers push to. */
async function until<T>(items: T[], done: (items: T[]) => boolean, timeoutMs = 20_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  while (!done(items)) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms: ${JSON.stringify(items)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return items;
}

describe('SDK handlers', () => {
  it('hands a message again after its handler threw, and reports the failure as HandlerFailed', async () => {
    const bob = open('h-bob');
    const alice = open('h-alice');
    const calls: { payload: unknown; attempt: number }[] = [];
    const errors: string[] = [];
    bob.on('error', (error) => errors.push(`${error.code}: ${error.message}`));
    await bob.subscribe('h-topic', (message) => {
      calls.push({ payload: message.payload, attempt: message.attempt });
      if (calls.length === 1) throw new Error('not now');
    });
    const id = await alice.publish('h-topic', 'retry me');
    await until(calls, (c) => c.length >= 2);
    // The second copy may be a later send (attempt + 1) or a copy already on its way (a live push beside the
    // connect's catch-up, attempt 1 both): either way the handler that threw gets the message again.
    expect(calls.slice(0, 2).map((c) => c.payload)).toEqual(['retry me', 'retry me']);
    expect(errors).toEqual([`HandlerFailed: handler of message ${id} failed: not now`]);
    // Handled the second time, so acked: a later message comes, and the first does not come a third time.
    await alice.publish('h-topic', 'next');
    await until(calls, (c) => c.length >= 3);
    expect(calls.map((c) => c.payload)).toEqual(['retry me', 'retry me', 'next']);
  });

  it('gives a job back when its handler throws; it comes again with attempt 2 and is completed', async () => {
    const driver = open('j-driver');
    const vendor = open('j-vendor');
    const attempts: { payload: unknown; attempt: number }[] = [];
    await driver.queue('j-orders').consume(
      (job) => {
        attempts.push({ payload: job.payload, attempt: job.attempt });
        if (job.attempt === 1) throw new Error('flat tyre');
      },
      { prefetch: 1 },
    );
    const id = await vendor.queue('j-orders').enqueue({ order: 17 });
    await until(attempts, (a) => a.length >= 2);
    expect(attempts).toEqual([
      { payload: { order: 17 }, attempt: 1 },
      { payload: { order: 17 }, attempt: 2 },
    ]);
    const pushes = () => postbox.local.spy.events({ kind: 'push' }).map((e) => e.data);
    await until([0], () => pushes().some((data) => data.includes('"type":"completed"') && data.includes(id)));
    expect(pushes().filter((data) => data.includes('"type":"released"') && data.includes(id))).toHaveLength(1);
  });

  it('lets a job handler extend its lease, and a handler that never returns loses the job to another consumer', async () => {
    const vendor = open('l-vendor');
    const slow = open('l-slow');
    const fast = open('l-fast');
    const held: Job[] = [];
    let deadlines: [string, string] | undefined;
    await slow.queue('l-orders').consume(
      async (job) => {
        held.push(job);
        const extended = await job.extend(3);
        deadlines = [job.deadline, extended];
        await new Promise(() => {});
      },
      { prefetch: 1 },
    );
    await vendor.queue('l-orders').enqueue('parcel');
    await until(held, (h) => h.length === 1);
    await until([0], () => deadlines !== undefined);
    const [first, extended] = deadlines as [string, string];
    expect(Date.parse(extended)).toBeGreaterThan(Date.parse(first));

    const taken: Job[] = [];
    await fast.queue('l-orders').consume((job) => {
      taken.push(job);
    });
    await until(taken, (t) => t.length === 1);
    // After the extended deadline the job is offered again; the slow consumer has room again too (its lease ended),
    // so which attempt reaches the fast one is the server's choice.
    expect(taken[0]).toMatchObject({ payload: 'parcel', id: held[0]?.id });
    expect(taken[0]?.attempt).toBeGreaterThanOrEqual(2);
    expect(held).toHaveLength(1);
  });
});
