import { connect, type PostboxClient, type PostboxError, type WebSocketConstructor } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { mintToken } from '../../functions/lib/token.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

// The heartbeat route of the synthesized stack, on a local gateway whose idle timeout is one second instead of ten
// minutes: API Gateway answers it by itself (a MOCK integration), and the SDK's heartbeat keeps an idle socket open.
const IDLE_MS = 1_000;
let postbox: Postbox;
const clients: PostboxClient[] = [];

beforeAll(async () => {
  postbox = await startPostbox({ limits: { idleTimeoutMs: IDLE_MS } });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await postbox?.stop();
});

const HEARTBEAT = '{"type":"heartbeat"}';
/**
 * Functions that ran since the `from`-th invocation, leaving out the two whose end is not tied to the frame under test:
 * a catch-up's Redeliver may end just after its `synced`, and the previous test's Disconnect just after its close.
 * Without the MOCK route a heartbeat would run Default.
 */
const invokedSince = (from: number) =>
  postbox.local.spy
    .events({ kind: 'invoke' })
    .slice(from)
    .map((e) => e.functionName)
    .filter((name) => !name.startsWith('Redeliver') && !name.startsWith('Disconnect'));
const invocations = () => postbox.local.spy.events({ kind: 'invoke' }).length;

async function until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the heartbeat route', () => {
  it('is answered by the gateway with {"type":"heartbeat"}, without the ref, invoking no function', async () => {
    const client = await postbox.connect('hb-raw');
    // Kept open through its catch-up (a second away, past the shortened idle timeout) by heartbeats.
    const keepAlive = setInterval(() => client.send({ action: 'heartbeat' }), 300);
    await client.frameOf('synced');
    clearInterval(keepAlive);
    expect(client.frames.filter((f) => f.type !== 'synced')).toContainEqual({ type: 'heartbeat' });

    const before = invocations();
    const seen = client.frames.length;
    client.send({ action: 'heartbeat', ref: 'h1' });
    await until(() => client.frames.length > seen);
    // A MOCK integration does not see the frame, so it cannot echo the ref.
    expect(client.frames.slice(seen)).toEqual([{ type: 'heartbeat' }]);
    expect(client.frames.filter((f) => f.type === 'error' || 'message' in f)).toEqual([]);
    expect(invokedSince(before)).toEqual([]);
    await postbox.disconnect(client);
  });

  it('goes out from an idle SDK client after heartbeatMs, gets no error, and keeps the socket past the idle timeout', async () => {
    const errors: PostboxError[] = [];
    const bob = connect(postbox.local.url, {
      getToken: () => mintToken(postbox.secret, 'hb-sdk', '10m'),
      heartbeatMs: 300,
      replyTimeoutMs: 2_000,
    });
    clients.push(bob);
    bob.on('error', (e) => errors.push(e));
    const disconnects: number[] = [];
    bob.on('disconnected', ({ code }) => disconnects.push(code));
    await bob.synced();
    const connectionId = (await postbox.local.spy.waitFor({ kind: 'connect', clientId: 'hb-sdk' })).connectionId;
    const before = invocations();

    // Three idle timeouts long, with nothing but heartbeats on the socket.
    await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_MS));
    const pushes = postbox.local.spy.events({ kind: 'push', connectionId }).map((e) => e.data);
    const replies = pushes.filter((data) => data === HEARTBEAT);
    expect(replies.length).toBeGreaterThanOrEqual(3);
    expect(pushes.filter((data) => data !== HEARTBEAT && !data.includes('"synced"'))).toEqual([]);
    expect({ errors, disconnects, state: bob.state }).toEqual({ errors: [], disconnects: [], state: 'synced' });
    expect(postbox.local.spy.events({ kind: 'disconnect', connectionId })).toEqual([]);
    expect(invokedSince(before)).toEqual([]);
  });

  it('on a stack deployed before the route, meets UnknownAction from $default and reports no error', async () => {
    // Such a stack has no heartbeat route: the frame lands on $default. Renaming the action on its way out stands in
    // for that stack (the one frame changed; the socket, gateway and functions are the real ones).
    class BeforeTheRoute extends WebSocket {
      override send(data: string): void {
        super.send(data.replace('"action":"heartbeat"', '"action":"heartbeat-unrouted"'));
      }
    }
    const errors: PostboxError[] = [];
    const old = connect(postbox.local.url, {
      getToken: () => mintToken(postbox.secret, 'hb-old', '10m'),
      heartbeatMs: 300,
      replyTimeoutMs: 2_000,
      WebSocket: BeforeTheRoute as unknown as WebSocketConstructor,
    });
    clients.push(old);
    old.on('error', (e) => errors.push(e));
    const disconnects: number[] = [];
    old.on('disconnected', ({ code }) => disconnects.push(code));
    await old.synced();
    const before = invocations();

    await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_MS));
    expect(invokedSince(before).filter((name) => name.startsWith('Default')).length).toBeGreaterThanOrEqual(3);
    expect({ errors, disconnects, state: old.state }).toEqual({ errors: [], disconnects: [], state: 'synced' });
  });
});
