import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEQ_PATTERN } from '../../functions/lib/protocol.js';
import type { Frame, TestClient } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

// A vendor and two drivers over real sockets against the local runtime running the synthesized app.
let postbox: Postbox;
beforeAll(async () => {
  postbox = await startPostbox();
});
afterAll(() => postbox?.stop());

const ordersOf = (frames: Frame[]) => frames.map((f) => (f.payload as { order: number }).order);

const receive = (client: TestClient, count: number, timeoutMs = 15_000) => client.receive(count, timeoutMs);

describe('pickup: a vendor and two drivers', () => {
  let vendor: TestClient;
  let driver1: TestClient;
  let driver2: TestClient;

  it('delivers every published order to both subscribed drivers, with the protocol fields', async () => {
    vendor = await postbox.connect('vendor-1');
    driver1 = await postbox.connect('driver-1');
    driver2 = await postbox.connect('driver-2');
    // Each connection's catch-up comes a second after it; waiting for its synced keeps it from repeating what follows.
    for (const client of [vendor, driver1, driver2]) await client.frameOf('synced');
    for (const driver of [driver1, driver2])
      expect(await driver.request({ action: 'subscribe', topic: 'pickup' })).toMatchObject({ type: 'subscribed' });

    const ids: string[] = [];
    for (let order = 1; order <= 5; order++) {
      const reply = await vendor.request({ action: 'publish', topic: 'pickup', payload: { order } });
      expect(reply).toMatchObject({ type: 'accepted', id: expect.any(String) });
      ids.push(reply.id as string);
    }
    for (const driver of [driver1, driver2]) {
      const frames = await receive(driver, 5);
      expect(frames.map((f) => f.id).sort()).toEqual([...ids].sort());
      for (const frame of frames) {
        expect(frame).toEqual({
          type: 'message',
          id: expect.any(String),
          seq: expect.stringMatching(SEQ_PATTERN),
          topic: 'pickup',
          from: 'vendor-1',
          payload: { order: expect.any(Number) },
          publishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          attempt: 1,
        });
      }
      expect(await driver.request({ action: 'ack', ids })).toEqual(expect.objectContaining({ type: 'acked' }));
    }
  });

  it('gives a driver who dropped the orders it missed, by itself and in order, when it reconnects', async () => {
    await postbox.disconnect(driver2);
    for (let order = 6; order <= 8; order++)
      await vendor.request({ action: 'publish', topic: 'pickup', payload: { order } });
    expect(ordersOf(await receive(driver1, 3)).sort()).toEqual([6, 7, 8]);

    driver2 = await postbox.connect('driver-2');
    const missed = await receive(driver2, 3);
    expect(ordersOf(missed)).toEqual([6, 7, 8]);
    // Acked orders 1–5 did not come back; only 6–8 were pending.
    expect(ordersOf(driver2.messages())).toEqual([6, 7, 8]);
  });

  it('never brings back acked messages on a later reconnect, and brings back unacked ones', async () => {
    const [six, seven, eight] = driver2.messages();
    expect(await driver2.request({ action: 'ack', ids: [six?.id, seven?.id] })).toMatchObject({ type: 'acked' });
    await postbox.disconnect(driver2);
    driver2 = await postbox.connect('driver-2');
    const again = await receive(driver2, 1);
    expect(again.map((f) => f.id)).toEqual([eight?.id]);
    expect(again[0]?.attempt).toBe(2);
    expect(await driver2.request({ action: 'replay' })).toMatchObject({ type: 'synced', count: 1 });
  });
});

describe('direct messages and bad frames', () => {
  it('delivers a send to an offline client when it connects', async () => {
    const vendor = await postbox.connect('vendor-2');
    const reply = await vendor.request({ action: 'send', to: 'driver-offline', payload: { note: 'gate 4' } });
    expect(reply).toMatchObject({ type: 'accepted' });
    const driver = await postbox.connect('driver-offline');
    const [message] = await receive(driver, 1);
    expect(message).toMatchObject({ type: 'message', id: reply.id, from: 'vendor-2', payload: { note: 'gate 4' } });
    expect(message?.topic).toBeUndefined();
  });

  it('answers bad frames with error frames and keeps the connection usable', async () => {
    const client = await postbox.connect('clumsy');
    client.send('not json at all');
    expect(await client.next()).toMatchObject({
      type: 'error',
      code: 'BadRequest',
      message: 'frame is not valid JSON',
    });
    expect(await client.request({ action: 'fly' })).toMatchObject({ type: 'error', code: 'UnknownAction' });
    expect(await client.request({ action: 'publish', payload: 1 })).toMatchObject({
      type: 'error',
      code: 'BadRequest',
      message: 'topic: is required',
    });
    client.sendFragmented({ action: 'publish', topic: 'x', payload: 'y'.repeat(70_000), ref: 'big' });
    expect(await client.nextMatching((f) => f.ref === 'big')).toMatchObject({ type: 'error', code: 'PayloadTooLarge' });
    expect(await client.request({ action: 'subscribe', topic: 'still-works' })).toMatchObject({
      type: 'subscribed',
      topic: 'still-works',
    });
  });

  it('leaves no connection behind for a socket killed without a close frame', async () => {
    const victim = await postbox.connect('killed-1');
    expect(await victim.request({ action: 'subscribe', topic: 'doomed' })).toMatchObject({ type: 'subscribed' });
    victim.ws.socket.terminate();
    const vendor = await postbox.connect('vendor-3');
    expect(await vendor.request({ action: 'publish', topic: 'doomed', payload: 1 })).toMatchObject({
      type: 'accepted',
    });
    await postbox.local.spy.waitFor({ kind: 'disconnect', statusCode: 1006 }, 10_000);
    expect(await postbox.connectionsOf('killed-1')).toEqual([]);
    // The message waited in the inbox and comes on the next connect.
    const back = await postbox.connect('killed-1');
    expect(await receive(back, 1)).toMatchObject([{ payload: 1 }]);
  });

  it('refuses a missing or forged token at the handshake', async () => {
    expect(await postbox.refusal(postbox.local.url)).toBe(401);
    const forged = (await postbox.urlFor('mallory')).replace(/\.[^.]+$/, '.c2lnbmF0dXJl');
    expect(await postbox.refusal(forged)).toBe(401);
  });
});
