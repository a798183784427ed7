import { connect, type PostboxClient } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { type Postbox, startPostbox } from '../helpers/local.js';
import { NetworkProxy } from '../helpers/proxy.js';
import { nextEvent } from '../helpers/sdk.js';

// The connection itself: tokens renewed through getToken, the heartbeat, and a path that dies silently.
let postbox: Postbox;
let proxy: NetworkProxy;
const clients: PostboxClient[] = [];

beforeAll(async () => {
  postbox = await startPostbox();
  proxy = await NetworkProxy.start({ host: '127.0.0.1', port: postbox.local.port });
});
afterAll(async () => {
  // close() gives up on a dead path's close handshake after 2 s by itself.
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.stop();
  await postbox?.stop();
});

function track(client: PostboxClient): PostboxClient {
  clients.push(client);
  return client;
}

describe('tokens', () => {
  it('asks getToken again after the handshake is refused with 401, and then connects', async () => {
    const tokens = [await mintToken('not the stack secret', 't-bob', '10m'), await mintToken(postbox.secret, 't-bob')];
    expect(await postbox.refusal(`${postbox.local.url}/?token=${tokens[0]}`)).toBe(401);
    const getToken = vi.fn(async () => tokens.shift() ?? 'none left');
    const bob = track(connect(postbox.local.url, { getToken, backoff: { initialDelayMs: 50 } }));
    await bob.synced();
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(tokens).toEqual([]);
  });

  it('asks getToken for a new token before connecting with one that has expired', async () => {
    let skewMs = 0;
    const clock = {
      now: () => Date.now() + skewMs,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    };
    const getToken = vi.fn(() => mintToken(postbox.secret, 'e-bob', '10m'));
    const bob = track(connect(proxy.url, { getToken, clock, backoff: { initialDelayMs: 50 } }));
    await bob.synced();
    expect(getToken).toHaveBeenCalledTimes(1);

    // Ten minutes later by the client's clock: the token it holds has expired, and is not sent again.
    skewMs = 10 * 60_000;
    const resynced = nextEvent(bob, 'synced');
    proxy.sever();
    await resynced;
    expect(getToken).toHaveBeenCalledTimes(2);
  });
});

describe('heartbeat', () => {
  it('sends a frame after heartbeatMs idle, and drops a connection whose frames get no reply, then reconnects', async () => {
    const bob = track(
      connect(proxy.url, {
        getToken: () => mintToken(postbox.secret, 'hb-bob', '10m'),
        heartbeatMs: 300,
        replyTimeoutMs: 1_000,
        backoff: { initialDelayMs: 50 },
      }),
    );
    await bob.synced();
    // The gateway answers the heartbeat by itself ({"type":"heartbeat"}): any frame back proves the path.
    const connectionId = (await postbox.local.spy.waitFor({ kind: 'connect', clientId: 'hb-bob' })).connectionId;
    await until(() => postbox.local.spy.events({ kind: 'push', connectionId }).some((e) => e.data === HEARTBEAT));

    const disconnected = new Promise<{ code: number; reason: string }>((resolve) => bob.on('disconnected', resolve));
    proxy.freeze();
    expect(await disconnected).toEqual({ code: 4000, reason: 'no reply' });
    await nextEvent(bob, 'synced');
    expect(bob.state).toBe('synced');
  });
});

const HEARTBEAT = '{"type":"heartbeat"}';

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
