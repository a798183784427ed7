import { connect, PostboxError } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import type { Frame } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';
import { Received } from '../helpers/sdk.js';

let postbox: Postbox;
beforeAll(async () => {
  // The stack's frameRate: { perSecond: 2, burst: 10 }: ten frames at once, then one each half second.
  postbox = await startPostbox({ environment: { FRAME_RATE: '2', FRAME_BURST: '10' } });
});
afterAll(() => postbox?.stop());

describe('a connection that sends too many frames', () => {
  it('is answered RateLimited with a retry hint, changes nothing past the limit, and may go on after the hint', async () => {
    const flood = await postbox.connect('rate-flood');
    const bystander = await postbox.connect('rate-bystander');
    // The connect's catch-up first, so that what it would send again is not counted below as a second copy.
    await flood.frameOf('synced');
    const topics = Array.from({ length: 16 }, (_, i) => `rate-${i}`);
    for (const [i, topic] of topics.entries()) flood.send({ action: 'subscribe', topic, ref: `s${i}` });
    const replies = new Map<string, Frame>();
    while (replies.size < topics.length) {
      const reply = await flood.nextMatching((f) => typeof f.ref === 'string' && f.ref.startsWith('s'));
      replies.set(reply.ref as string, reply);
    }
    const limited = [...replies.values()].filter((r) => r.code === 'RateLimited');
    const subscribed = [...replies.values()].filter((r) => r.type === 'subscribed').map((r) => r.topic);
    expect(limited.length).toBeGreaterThan(0);
    expect(subscribed.length + limited.length).toBe(topics.length);
    for (const reply of limited) {
      expect(reply).toMatchObject({ type: 'error', message: expect.stringContaining('retry after') });
      expect(reply.retryAfterMs).toBeGreaterThan(0);
      // At most two windows (burst / perSecond = 5 s here): room comes once the frames counted slide out.
      expect(reply.retryAfterMs).toBeLessThanOrEqual(10_000);
    }

    // Another client is not limited by it.
    expect(await bystander.request({ action: 'subscribe', topic: 'rate-else' })).toMatchObject({ type: 'subscribed' });

    // Only the admitted subscriptions exist: a publish to every topic reaches the flood's client once per admitted one.
    // Two publishers, each well inside its own limit.
    const publishers = [await postbox.connect('rate-publisher-1'), await postbox.connect('rate-publisher-2')];
    for (const [i, topic] of topics.entries())
      expect(await publishers[i % 2]?.request({ action: 'publish', topic, payload: { topic } })).toMatchObject({
        type: 'accepted',
      });
    const received = await flood.receive(subscribed.length);
    expect(received.map((m) => m.topic).sort()).toEqual([...subscribed].sort());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(flood.messages()).toHaveLength(subscribed.length);

    const wait = Math.max(...limited.map((r) => r.retryAfterMs as number));
    await new Promise((resolve) => setTimeout(resolve, wait));
    expect(await flood.request({ action: 'subscribe', topic: 'rate-later' })).toMatchObject({ type: 'subscribed' });
  });

  it('rejects an SDK send past the limit with a PostboxError carrying RateLimited and retryAfterMs', async () => {
    const client = connect(postbox.local.url, { token: await mintToken(postbox.secret, 'rate-sdk', '10m') });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 14 }, (_, i) => client.send(`rate-sdk-to-${i}`, { i })),
      );
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(refused.length).toBeGreaterThan(0);
      for (const error of refused) {
        expect(error).toBeInstanceOf(PostboxError);
        expect(error).toMatchObject({ code: 'RateLimited', retryAfterMs: expect.any(Number) });
      }
    } finally {
      await client.close();
    }
  });

  it('sends the SDK’s own acks again after the hint when they meet RateLimited: no error for the app, nothing left pending', async () => {
    const client = connect(postbox.local.url, { token: await mintToken(postbox.secret, 'rate-acker', '10m') });
    const errors: PostboxError[] = [];
    client.on('error', (error) => errors.push(error));
    try {
      const got = new Received<{ n: number }>();
      await client.subscribe('rate-acks', got.handler);
      await client.synced();
      // Spend the connection's burst and keep it spent while the message arrives and its ack goes out.
      let flooding = true;
      let refused = 0;
      const flood = (async () => {
        while (flooding)
          await client.send('rate-acks-sink', {}).catch(() => {
            refused += 1;
          });
      })();
      await expect.poll(() => refused, { timeout: 10_000 }).toBeGreaterThan(0);
      const publisher = await postbox.connect('rate-acks-publisher');
      await publisher.request({ action: 'publish', topic: 'rate-acks', payload: { n: 1 } });
      await got.until(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      flooding = false;
      await flood;

      // Acked within seconds, long before the ack deadline (30 s) would bring it back: a new connection of the
      // same client finds nothing pending.
      await expect
        .poll(
          async () => {
            const probe = await postbox.connect('rate-acker');
            const synced = await probe.frameOf('synced');
            await postbox.disconnect(probe);
            return synced.count;
          },
          { timeout: 10_000, interval: 1_000 },
        )
        .toBe(0);
      expect(errors.filter((e) => e.code === 'RateLimited')).toEqual([]);
      expect(got.messages).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
