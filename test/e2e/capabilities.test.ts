import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Capabilities } from '../../functions/lib/capabilities.js';
import { mintToken } from '../../functions/lib/token.js';
import { TestClient } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

let postbox: Postbox;
const clients: TestClient[] = [];
beforeAll(async () => {
  postbox = await startPostbox();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await postbox?.stop();
});

/** A connection whose token carries `caps` (`null`: no claim, so the stack's default, which is nothing). */
async function connectWith(clientId: string, caps: Capabilities | null): Promise<TestClient> {
  const token = await mintToken(postbox.secret, clientId, '10m', { caps });
  const client = await TestClient.connect(`${postbox.local.url}/?token=${token}`);
  clients.push(client);
  return client;
}

const forbidden = (message: string) => ({ type: 'error', code: 'Forbidden', message });

describe('capabilities in the connect token', () => {
  it('lets a reader subscribe under its prefix only, and publish nothing', async () => {
    const reader = await connectWith('cap-reader', { 'news/*': ['subscribe'] });
    expect(await reader.request({ action: 'subscribe', topic: 'news/sport' })).toMatchObject({ type: 'subscribed' });
    expect(await reader.request({ action: 'subscribe', topic: 'private/ceo' })).toMatchObject(
      forbidden("subscribe on 'private/ceo' is not allowed by this connection's token"),
    );
    expect(await reader.request({ action: 'publish', topic: 'news/sport', payload: 1 })).toMatchObject(
      forbidden("publish on 'news/sport' is not allowed by this connection's token"),
    );
    // A publisher allowed on the topic reaches the reader; nothing of the refused frames was kept.
    const writer = await connectWith('cap-writer-1', { 'news/*': ['publish'] });
    expect(await writer.request({ action: 'publish', topic: 'news/sport', payload: 'goal' })).toMatchObject({
      type: 'accepted',
    });
    const [message] = await reader.receive(1);
    expect(message).toMatchObject({ topic: 'news/sport', payload: 'goal', from: 'cap-writer-1' });
    expect(await reader.request({ action: 'ack', id: message?.id })).toMatchObject({ type: 'acked' });
  });

  it('lets a writer send to the one client its token names, and no other', async () => {
    const writer = await connectWith('cap-writer-2', { 'news/*': ['publish'], 'cap-bob': ['send'] });
    expect(await writer.request({ action: 'send', to: 'cap-bob', payload: 'hi' })).toMatchObject({
      type: 'accepted',
    });
    expect(await writer.request({ action: 'send', to: 'cap-carol', payload: 'hi' })).toMatchObject(
      forbidden("send on 'cap-carol' is not allowed by this connection's token"),
    );
  });

  it('drops at connect the subscriptions a narrower token no longer allows, and keeps the others', async () => {
    const wide = await connectWith('cap-narrowed', { 'room/*': ['subscribe'] });
    for (const topic of ['room/a', 'room/b'])
      expect(await wide.request({ action: 'subscribe', topic })).toMatchObject({ type: 'subscribed' });
    await postbox.disconnect(wide);
    const narrow = await connectWith('cap-narrowed', { 'room/a': ['subscribe'] });
    const writer = await connectWith('cap-writer-4', { 'room/*': ['publish'] });
    for (const topic of ['room/b', 'room/a'])
      expect(await writer.request({ action: 'publish', topic, payload: topic })).toMatchObject({ type: 'accepted' });
    const [message] = await narrow.receive(1);
    expect(message).toMatchObject({ topic: 'room/a' });
    // room/b was published first: had its subscription survived, its message would have come before room/a's.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(narrow.messages().map((m) => m.topic)).toEqual(['room/a']);
  });

  it('gives empty caps, and a token without caps, no subscription, but their own inbox: sends arrive and are acked', async () => {
    const writer = await connectWith('cap-writer-3', { 'cap-empty': ['send'], 'cap-default': ['send'] });
    for (const [clientId, caps] of [
      ['cap-empty', {}],
      ['cap-default', null],
    ] as const) {
      const client = await connectWith(clientId, caps);
      expect(await client.request({ action: 'subscribe', topic: 'news/sport' })).toMatchObject({
        type: 'error',
        code: 'Forbidden',
      });
      expect(await client.request({ action: 'enqueue', queue: 'orders', payload: 1 })).toMatchObject({
        type: 'error',
        code: 'Forbidden',
      });
      await writer.request({ action: 'send', to: clientId, payload: `for ${clientId}` });
      const [message] = await client.receive(1);
      expect(message).toMatchObject({ from: 'cap-writer-3', payload: `for ${clientId}` });
      expect(await client.request({ action: 'ack', id: message?.id })).toMatchObject({ type: 'acked' });
      expect(await client.request({ action: 'replay' })).toMatchObject({ type: 'synced', count: 0 });
    }
  });

  it('guards work queues: enqueue and consume each need their own capability', async () => {
    const vendor = await connectWith('cap-vendor', { 'orders/*': ['enqueue'] });
    const driver = await connectWith('cap-driver', { 'orders/*': ['consume'] });
    expect(await driver.request({ action: 'enqueue', queue: 'orders/paris', payload: 1 })).toMatchObject({
      code: 'Forbidden',
    });
    expect(await vendor.request({ action: 'consume', queue: 'orders/paris', prefetch: 1 })).toMatchObject({
      code: 'Forbidden',
    });
    expect(await driver.request({ action: 'consume', queue: 'orders/paris', prefetch: 1 })).toMatchObject({
      type: 'consuming',
    });
    const { id } = await vendor.request({ action: 'enqueue', queue: 'orders/paris', payload: { order: 1 } });
    const job = await driver.nextMatching((f) => f.type === 'job');
    expect(job).toMatchObject({ queue: 'orders/paris', id, payload: { order: 1 } });
  });

  it('refuses at connect a token that lives longer than the stack allows, or whose caps are malformed', async () => {
    const key = new TextEncoder().encode(postbox.secret);
    const longLived = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cap-long')
      .setIssuedAt()
      .setExpirationTime('400d')
      .sign(key);
    expect(await postbox.refusal(`${postbox.local.url}/?token=${longLived}`)).toBe(401);
    const malformed = await new SignJWT({ caps: { '*': ['everything'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cap-bad')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);
    expect(await postbox.refusal(`${postbox.local.url}/?token=${malformed}`)).toBe(401);
  });
});

describe('hostile frames over a real socket', () => {
  it('answers a 3,000-deep action and a deep payload with BadRequest, and the connection goes on', async () => {
    const client = await connectWith('deep', { '*': ['publish'] });
    const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
    client.send(JSON.parse(`{"action":${deep},"ref":"deep-action"}`));
    expect(await client.nextMatching((f) => f.ref === 'deep-action')).toMatchObject({
      type: 'error',
      code: 'BadRequest',
    });
    expect(await client.request({ action: 'publish', topic: 't', payload: JSON.parse(deep) })).toMatchObject({
      type: 'error',
      code: 'BadRequest',
      message: 'frame: nested deeper than 20 levels',
    });
    expect(await client.request({ action: 'publish', topic: 't', payload: 'fine' })).toMatchObject({
      type: 'accepted',
    });
  });
});
