import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEQ_PATTERN } from '../../functions/lib/protocol.js';
import type { Frame, TestClient } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

/**
 * What a client does with the catch-up contract (README, "Catch-up"): keep the first copy of each id; frames that
 * arrive before `synced` are held and handed on in `seq` order when it comes; after it, in arrival order.
 */
class OrderedReader {
  readonly delivered: Frame[] = [];
  readonly #seen = new Set<string>();
  #held: Frame[] = [];
  #synced = false;
  #read = 0;
  syncs = 0;

  constructor(public client: TestClient) {}

  /** Reads what the connection has received so far. */
  pump(): void {
    const frames = this.client.frames;
    for (; this.#read < frames.length; this.#read++) {
      const frame = frames[this.#read] as Frame;
      if (frame.type === 'synced') {
        this.syncs++;
        this.#synced = true;
        for (const held of this.#held.sort((a, b) => String(a.seq).localeCompare(String(b.seq)))) this.#take(held);
        this.#held = [];
      } else if (frame.type === 'message' || frame.type === 'messages') {
        const items = frame.type === 'message' ? [frame] : (frame.items as Frame[]);
        for (const item of items) {
          if (this.#synced) this.#take(item);
          else this.#held.push(item);
        }
      }
    }
  }

  /** A new connection: nothing it sends counts as caught up until its own `synced`. */
  reconnected(client: TestClient): void {
    this.pump();
    this.client = client;
    this.#read = 0;
    this.#synced = false;
    this.#held = [];
  }

  #take(item: Frame): void {
    if (this.#seen.has(item.id as string)) return;
    this.#seen.add(item.id as string);
    this.delivered.push(item);
  }
}

const orderOf = (frame: Frame) => (frame.payload as { n: number }).n;

/** The id of the client's connection (its first), for the local @connections API's faults. */
async function connectionIdOf(postbox: Postbox, clientId: string): Promise<string> {
  return (await postbox.local.spy.waitFor({ kind: 'connect', clientId })).connectionId;
}

describe('the catch-up contract', () => {
  let postbox: Postbox;
  beforeAll(async () => {
    postbox = await startPostbox();
  });
  afterAll(() => postbox?.stop());

  it('gives a subscriber that drops three times 1..120 in order, with no gap and a synced after each catch-up', async () => {
    const publisher = await postbox.connect('stream-pub');
    let subscriber = await postbox.connect('stream-sub');
    expect(await subscriber.request({ action: 'subscribe', topic: 'stream' })).toMatchObject({ type: 'subscribed' });
    await subscriber.frameOf('synced');
    const reader = new OrderedReader(subscriber);

    let published = 0;
    const publishing = (async () => {
      for (let n = 1; n <= 120; n++) {
        const reply = await publisher.request({ action: 'publish', topic: 'stream', payload: { n } });
        expect(reply).toMatchObject({ type: 'accepted' });
        published = n;
      }
    })();
    const drops: ('close' | 'kill')[] = ['close', 'kill', 'close'];
    for (const [i, how] of drops.entries()) {
      while (published < 30 * (i + 1)) await sleep(5);
      // Ack what was handed on, as a client does once its handler has returned.
      reader.pump();
      const seqs = reader.delivered.slice(-20).map((f) => f.seq);
      if (seqs.length > 0) subscriber.send({ action: 'ack', seqs });
      if (how === 'kill') subscriber.ws.socket.terminate();
      else await postbox.disconnect(subscriber);
      await sleep(300); // offline while the publisher goes on
      subscriber = await postbox.connect('stream-sub');
      reader.reconnected(subscriber);
      // Dropped again only once this connection's catch-up has been sent, so each one has its synced to count.
      await subscriber.frameOf('synced');
    }
    await publishing;
    const deadline = Date.now() + 20_000;
    while (reader.delivered.length < 120 && Date.now() < deadline) {
      await sleep(20);
      reader.pump();
    }

    expect(reader.delivered.map(orderOf)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    for (const frame of reader.delivered) expect(frame.seq).toEqual(expect.stringMatching(SEQ_PATTERN));
    // The seq order is the publish order.
    const seqs = reader.delivered.map((f) => String(f.seq));
    expect([...seqs].sort()).toEqual(seqs);
    // One synced per connection: the first and the three after the drops.
    reader.pump();
    expect(reader.syncs).toBe(4);
  });

  it("keeps a publisher's order live: a slow push does not let the next message overtake it", async () => {
    const publisher = await postbox.connect('slow-push-pub');
    const subscriber = await postbox.connect('slow-push-sub');
    await subscriber.frameOf('synced');
    const connectionId = await connectionIdOf(postbox, 'slow-push-sub');
    // API Gateway takes 500 ms to answer the push of the first message.
    postbox.local.faults.delayPosts({ connectionId, ms: 500 });
    for (const n of [1, 2, 3]) {
      expect(await publisher.request({ action: 'send', to: 'slow-push-sub', payload: { n } })).toMatchObject({
        type: 'accepted',
      });
    }
    expect((await subscriber.receive(3)).map(orderOf)).toEqual([1, 2, 3]);
  });

  it('delivers a batch publish in its order, and a batch with a bad message not at all', async () => {
    const publisher = await postbox.connect('batch-pub');
    const subscriber = await postbox.connect('batch-sub');
    expect(await subscriber.request({ action: 'subscribe', topic: 'batch' })).toMatchObject({ type: 'subscribed' });
    await subscriber.frameOf('synced');
    const messages = [1, 2, 3, 4, 5].map((n) => ({ payload: { n } }));
    const reply = await publisher.request({ action: 'publish', topic: 'batch', messages });
    expect(reply).toMatchObject({ type: 'accepted', ids: expect.any(Array) });
    const received = await subscriber.receive(5);
    expect(received.map(orderOf)).toEqual([1, 2, 3, 4, 5]);
    expect(received.map((f) => f.id)).toEqual(reply.ids);

    const bad = await publisher.request({ action: 'publish', topic: 'batch', messages: [{ payload: 6 }, { id: 'x' }] });
    expect(bad).toMatchObject({ type: 'error', code: 'BadRequest', message: 'messages.1.payload: is required' });
    expect(await publisher.request({ action: 'publish', topic: 'batch', payload: { n: 7 } })).toMatchObject({
      type: 'accepted',
    });
    expect((await subscriber.receive(1)).map(orderOf)).toEqual([7]);
  });

  it('ends every catch-up with synced: after a connect (by itself) and after replay', async () => {
    const vendor = await postbox.connect('synced-vendor');
    for (const n of [1, 2, 3]) await vendor.request({ action: 'send', to: 'synced-driver', payload: { n } });
    const driver = await postbox.connect('synced-driver');
    const synced = await driver.frameOf('synced');
    expect(synced).toMatchObject({ type: 'synced', count: 3 });
    // Everything pending came before it, oldest first (a live push of the last one may come earlier still).
    const caughtUp = driver.messages().slice(-3);
    expect(caughtUp.map(orderOf)).toEqual([1, 2, 3]);
    expect(driver.frames.slice(0, synced.index).every((f) => f.type === 'message' || f.type === 'messages')).toBe(true);
    const reader = new OrderedReader(driver);
    reader.pump();
    expect(reader.delivered.map(orderOf)).toEqual([1, 2, 3]);

    const before = driver.frames.length;
    expect(await driver.request({ action: 'replay' })).toMatchObject({ type: 'synced', count: 3 });
    expect(
      driver
        .messages()
        .slice(-3)
        .map((f) => [orderOf(f), f.attempt]),
    ).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    expect(driver.frames.length).toBeGreaterThan(before);

    // An empty inbox still gets its synced.
    const idle = await postbox.connect('synced-idle');
    expect(await idle.frameOf('synced')).toMatchObject({ count: 0 });
  });

  it('brings a message whose push failed to the same connection by itself, within seconds', async () => {
    const vendor = await postbox.connect('flaky-vendor');
    const driver = await postbox.connect('flaky-driver');
    await driver.frameOf('synced');
    const connectionId = await connectionIdOf(postbox, 'flaky-driver');
    // The local @connections API answers the driver's next posts 429, as API Gateway does when throttling: three,
    // because the AWS SDK itself retries a throttled call twice.
    postbox.local.faults.failPosts({ connectionId, times: 3 });
    const accepted = await vendor.request({ action: 'send', to: 'flaky-driver', payload: { n: 1 } });
    const [message] = await driver.receive(1, 10_000);
    expect(message).toMatchObject({ id: accepted.id, payload: { n: 1 }, attempt: 2 });
    // It came on the connection that was open all along.
    expect(driver.ws.socket.readyState).toBe(driver.ws.socket.OPEN);
    expect(postbox.local.spy.events({ kind: 'connect' }).filter((e) => e.clientId === 'flaky-driver')).toHaveLength(1);
  });

  it('lets nothing overtake a message whose push failed: the publisher’s next ones come after it, on the wire', async () => {
    const vendor = await postbox.connect('held-vendor');
    const driver = await postbox.connect('held-driver');
    await driver.frameOf('synced');
    const connectionId = await connectionIdOf(postbox, 'held-driver');
    postbox.local.faults.failPosts({ connectionId, times: 3 });
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++)
      ids.push((await vendor.request({ action: 'send', to: 'held-driver', payload: { n } })).id as string);

    // A raw client that keeps the first copy of each id, as the README's contract says.
    const firsts = async () => {
      const seen = new Set<string>();
      for (const m of driver.messages()) seen.add(m.id as string);
      return [...seen];
    };
    await expect.poll(firsts, { timeout: 10_000 }).toHaveLength(5);
    expect(await firsts()).toEqual(ids);
    expect(driver.messages().map(orderOf).slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(driver.ws.socket.readyState).toBe(driver.ws.socket.OPEN);
  });
});

describe('the ack deadline', () => {
  let postbox: Postbox;
  beforeAll(async () => {
    postbox = await startPostbox({ environment: { ACK_DEADLINE_SECONDS: '1', MAX_ATTEMPTS: '3' } });
  });
  afterAll(() => postbox?.stop());

  it('pushes an unacked message again after the deadline, up to maxAttempts, then waits for the next connect', async () => {
    const vendor = await postbox.connect('slow-vendor');
    let driver = await postbox.connect('slow-driver');
    await driver.frameOf('synced');
    const accepted = await vendor.request({ action: 'send', to: 'slow-driver', payload: { n: 1 } });

    const sends = await driver.receive(3, 15_000);
    expect(sends.map((f) => [f.id, f.attempt])).toEqual([
      [accepted.id, 1],
      [accepted.id, 2],
      [accepted.id, 3],
    ]);
    // Three sends in all: no fourth on this connection, however long it stays unacked.
    await sleep(3_000);
    expect(driver.messages()).toHaveLength(3);

    await postbox.disconnect(driver);
    driver = await postbox.connect('slow-driver');
    const [again] = await driver.receive(1);
    expect(again).toMatchObject({ id: accepted.id, attempt: 4 });
    expect(await driver.request({ action: 'ack', seq: again?.seq })).toMatchObject({
      type: 'acked',
      seqs: [again?.seq],
    });
    await sleep(2_500);
    expect(driver.messages()).toHaveLength(1);
  });

  it('stops pushing a message again once it is acked', async () => {
    const vendor = await postbox.connect('quick-vendor');
    const driver = await postbox.connect('quick-driver');
    await driver.frameOf('synced');
    await vendor.request({ action: 'send', to: 'quick-driver', payload: { n: 1 } });
    const [message] = await driver.receive(1);
    expect(await driver.request({ action: 'ack', id: message?.id })).toMatchObject({ type: 'acked' });
    await sleep(2_500);
    expect(driver.messages()).toHaveLength(1);
  });
});
