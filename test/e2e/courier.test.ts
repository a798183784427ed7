import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, TestClient } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

// The seed's courier over real sockets against the local runtime, with the stack's defaults (lease 30 s, 5
// deliveries): a vendor enqueues orders, three drivers compete for them, one vanishes holding an order.
let postbox: Postbox;
beforeAll(async () => {
  postbox = await startPostbox();
});
afterAll(() => postbox?.stop());

const QUEUE = 'orders';
const ORDERS = 30;
const MAX_DELIVERIES = 5;

interface Order {
  order?: number;
  poison?: boolean;
}

const waitFor = async (what: string, done: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('courier: one order, one driver', () => {
  it('completes every order exactly once, never held by two drivers, through a driver killed holding one and a poison order', async () => {
    const vendor = await postbox.connect('vendor');
    const drivers = await Promise.all(['driver-a', 'driver-b', 'driver-c'].map((id) => postbox.connect(id)));
    const victim = drivers[2] as TestClient;

    /** Which driver holds each job right now: a second holder is what must never happen. */
    const holding = new Map<string, string>();
    const overlaps: string[] = [];
    /** `completed` replies, by order number. */
    const completed = new Map<number, number>();
    const poisonAttempts: number[] = [];
    let killedWith: Frame | undefined;
    const handledBy = new Map<number, string>();

    drivers.forEach((driver, n) => {
      const name = `driver-${'abc'[n]}`;
      const jobOf = new Map<string, Order>();
      driver.ws.socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        if (frame.type === 'completed') {
          const order = jobOf.get(frame.id as string)?.order as number;
          completed.set(order, (completed.get(order) ?? 0) + 1);
          return;
        }
        if (frame.type !== 'job') return;
        const id = frame.id as string;
        const payload = frame.payload as Order;
        jobOf.set(id, payload);
        const holder = holding.get(id);
        if (holder !== undefined) overlaps.push(`${id} offered to ${name} while ${holder} held it`);
        holding.set(id, name);
        const { lease } = frame;
        if (payload.poison) {
          poisonAttempts.push(frame.attempt as number);
          holding.delete(id);
          driver.send({ action: 'nack', queue: QUEUE, id, lease, reason: 'cannot be delivered' });
          return;
        }
        if (driver === victim && killedWith === undefined) {
          // Gone without a close frame, the order in hand.
          killedWith = frame;
          holding.delete(id);
          victim.ws.socket.terminate();
          return;
        }
        setTimeout(
          () => {
            holding.delete(id);
            handledBy.set(payload.order as number, name);
            driver.send({ action: 'ack', queue: QUEUE, id, lease });
          },
          20 + Math.random() * 40,
        );
      });
    });
    for (const driver of drivers)
      expect(await driver.request({ action: 'consume', queue: QUEUE, prefetch: 1 })).toMatchObject({
        type: 'consuming',
        queue: QUEUE,
        prefetch: 1,
      });

    const started = Date.now();
    const poison = await vendor.request({ action: 'enqueue', queue: QUEUE, payload: { poison: true } });
    expect(poison).toMatchObject({ type: 'accepted', id: expect.any(String) });
    for (let order = 1; order <= ORDERS; order++)
      expect(await vendor.request({ action: 'enqueue', queue: QUEUE, payload: { order } })).toMatchObject({
        type: 'accepted',
      });

    await waitFor('every order completed', () => completed.size === ORDERS);
    await waitFor('the poison order offered maxDeliveries times', () => poisonAttempts.length === MAX_DELIVERIES);
    // Under a minute with the defaults: the killed driver's order came back at its $disconnect, not its deadline.
    expect(Date.now() - started).toBeLessThan(30_000);

    expect(overlaps).toEqual([]);
    expect([...completed.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: ORDERS }, (_, i) => i + 1));
    expect([...completed.values()].every((count) => count === 1)).toBe(true);
    expect(killedWith).toBeDefined();
    const lost = (killedWith?.payload as Order | undefined)?.order as number;
    expect(['driver-a', 'driver-b']).toContain(handledBy.get(lost));
    expect(poisonAttempts).toEqual([1, 2, 3, 4, 5]);
    // Dead-lettered: not offered again, though two drivers have room.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(poisonAttempts).toHaveLength(MAX_DELIVERIES);
  }, 60_000);
});
