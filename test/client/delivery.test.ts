import { connect, type PostboxClient } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { type Postbox, startPostbox } from '../helpers/local.js';
import { NetworkProxy } from '../helpers/proxy.js';
import { nextEvent, numbered, Received } from '../helpers/sdk.js';

// The Node SDK against the local runtime over real sockets: delivery, catch-up after a close, a socket cut without a
// close frame, publishes made offline. Each test uses its own topic and clients.
let postbox: Postbox;
let proxy: NetworkProxy;
const clients: PostboxClient[] = [];

beforeAll(async () => {
  postbox = await startPostbox();
  proxy = await NetworkProxy.start({ host: '127.0.0.1', port: postbox.local.port });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.stop();
  await postbox?.stop();
});

function open(clientId: string, via: 'direct' | 'proxy' = 'direct'): PostboxClient {
  const url = via === 'proxy' ? proxy.url : postbox.local.url;
  const client = connect(url, { getToken: () => mintToken(postbox.secret, clientId, '10m') });
  clients.push(client);
  return client;
}

describe('the Node SDK', () => {
  it('hands each live message to the handler once, in the order it was published', async () => {
    const bob = open('d-bob');
    const alice = open('d-alice');
    const got = new Received();
    await bob.subscribe('d-live', got.handler);
    // Published all at once: the SDK keeps them in order on the wire, one frame in flight at a time.
    const ids = await Promise.all(numbered(0, 20).map((p) => alice.publish('d-live', p)));
    await alice.publish('d-live', 'end');
    expect(await got.until(21)).toEqual([...numbered(0, 20), 'end']);
    expect(got.messages.slice(0, 20).map((m) => m.id)).toEqual(ids);
    expect(new Set(got.messages.map((m) => m.id)).size).toBe(21);
    expect(got.messages[0]).toMatchObject({ topic: 'd-live', from: 'd-alice' });
  });

  it('gives a client closed and opened again what it missed, once each, in order', async () => {
    const alice = open('c-alice');
    const first = open('c-bob');
    const before = new Received();
    await first.subscribe('c-topic', before.handler);
    for (const p of numbered(0, 5)) await alice.publish('c-topic', p);
    expect(await before.until(5)).toEqual(numbered(0, 5));
    await first.close();
    expect(first.state).toBe('closed');

    for (const p of numbered(5, 10)) await alice.publish('c-topic', p);
    const again = open('c-bob');
    const after = new Received();
    await again.subscribe('c-topic', after.handler);
    await alice.publish('c-topic', 'end');
    expect(await after.until(11)).toEqual([...numbered(5, 10), 'end']);
  });

  it('recovers by itself from a socket cut without a close frame, and misses nothing', async () => {
    const alice = open('k-alice');
    const bob = open('k-bob', 'proxy');
    const got = new Received();
    await bob.subscribe('k-topic', got.handler);
    await bob.synced();
    for (const p of numbered(0, 3)) await alice.publish('k-topic', p);
    await got.until(3);

    const states: string[] = [];
    bob.on('disconnected', () => states.push('disconnected'));
    bob.on('reconnecting', () => states.push('reconnecting'));
    bob.on('synced', () => states.push('synced'));
    const resynced = nextEvent(bob, 'synced');
    proxy.sever();
    for (const p of numbered(3, 3)) await alice.publish('k-topic', p);
    await resynced;
    await alice.publish('k-topic', 'end');
    expect(await got.until(7)).toEqual([...numbered(0, 6), 'end']);
    expect(states.slice(0, 3)).toEqual(['disconnected', 'reconnecting', 'synced']);
  });

  it('sends what was published while offline on reconnect, and each arrives once', async () => {
    const bob = open('o-bob');
    const got = new Received();
    await bob.subscribe('o-topic', got.handler);
    const alice = open('o-alice', 'proxy');
    await alice.synced();

    proxy.offline();
    await nextEvent(alice, 'disconnected');
    const accepted = Promise.all(numbered(0, 5).map((p) => alice.publish('o-topic', p)));
    proxy.online();
    const ids = await accepted;
    await alice.publish('o-topic', 'end');
    expect(await got.until(6)).toEqual([...numbered(0, 5), 'end']);
    expect(got.messages.slice(0, 5).map((m) => m.id)).toEqual(ids);
  });

  it('delivers once a publish whose accepted reply was lost with its connection (resent with the same key)', async () => {
    const bob = open('r-bob');
    const got = new Received();
    await bob.subscribe('r-topic', got.handler);
    const alice = open('r-alice', 'proxy');
    await alice.synced();

    proxy.dropReplyContaining('"type":"accepted"');
    const id = await alice.publish('r-topic', 'once');
    await alice.publish('r-topic', 'end');
    expect(await got.until(2)).toEqual(['once', 'end']);
    expect(got.messages[0]?.id).toBe(id);
    // The server saw the first frame: the publish function ran twice with the same key.
    const publishes = postbox.local.spy
      .events({ kind: 'push' })
      .filter((e) => e.data.includes('"type":"accepted"') && e.data.includes(id));
    expect(publishes.length).toBe(2);
  });
});
