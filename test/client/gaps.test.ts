import { connect, type PostboxClient } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { ForbiddenError } from '../../local/gateway/errors.js';
import type { TestClient } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';
import { Received } from '../helpers/sdk.js';

// A gap the SDK sees (a page of the inbox pushed in part) healed by the SDK itself, over real sockets: the local
// @connections API refuses one push, as API Gateway can, and the handler still gets every message once, in order.
let postbox: Postbox;
const clients: PostboxClient[] = [];

beforeAll(async () => {
  postbox = await startPostbox();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await postbox?.stop();
});

/** Payloads this large travel one to a frame (deliver fills frames up to 32 KB), so a page is several posts. */
const big = (n: number) => ({ n, pad: 'x'.repeat(20_000) });

/** Invocations of the function whose name matches, so far. */
function invocations(name: RegExp): number {
  return postbox.local.spy.events({ kind: 'invoke' }).filter((e) => name.test(e.functionName)).length;
}
const replays = () => invocations(/replay/i);

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function connectionOf(clientId: string): Promise<string> {
  const event = await postbox.local.spy.waitFor({ kind: 'connect', clientId });
  return event.connectionId;
}

/** One publish of three messages: one inbox page of three for each subscriber, pushed as three frames. */
async function publishPage(alice: TestClient, topic: string, from: number): Promise<string[]> {
  const ref = `p${from}`;
  alice.sendFragmented({ action: 'publish', topic, messages: [0, 1, 2].map((i) => ({ payload: big(from + i) })), ref });
  const accepted = await alice.nextMatching((f) => f.ref === ref);
  expect(accepted).toMatchObject({
    type: 'accepted',
    ids: [expect.any(String), expect.any(String), expect.any(String)],
  });
  return accepted.ids as string[];
}

describe('gaps', () => {
  it('fills a page pushed in part with one replay, before the server’s re-push, and the handler sees each message once, in order', async () => {
    const alice = await postbox.connect('g-alice');
    // Warm the replay function, so the race below is the SDK's timer against the server's re-push, not a cold start.
    await (await postbox.connect('g-warm')).request({ action: 'replay' });
    const bob = connect(postbox.local.url, { getToken: () => mintToken(postbox.secret, 'g-bob', '10m'), gapMs: 150 });
    clients.push(bob);
    const got = new Received<{ n: number }>();
    await bob.subscribe('g-topic', got.handler);
    await bob.synced();
    const connectionId = await connectionOf('g-bob');
    const before = replays();

    // The page's first frame gets through, its second is refused (403: the AWS SDK does not retry it), so deliver
    // stops there and leaves the rest to its re-push a second later; the SDK sees P.03.00 alone.
    postbox.local.faults.failPosts({ connectionId, after: 1, times: 1, error: () => new ForbiddenError() });
    const rechecks = invocations(/redeliver/i);
    const ids = await publishPage(alice, 'g-topic', 0);
    // A later message of the same publisher, which must not overtake the two missing ones.
    const [later] = await publishPage(alice, 'g-topic', 3);

    await got.until(6);
    expect(got.messages.map((m) => m.payload.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(got.messages.slice(0, 3).map((m) => m.id)).toEqual(ids);
    expect(got.messages[3]?.id).toBe(later);
    // Sent once (attempt 1) to this client: by the replay, not by the server's re-push, which counts 2.
    expect(got.messages.slice(1, 3).map((m) => m.attempt)).toEqual([1, 1]);
    expect(replays() - before).toBe(1);

    // The server's re-push still runs (it was scheduled when the push failed) and finds the page acked, or pushes it
    // again; either way the handler sees nothing twice, and no second replay goes out.
    await until(() => invocations(/redeliver/i) > rechecks, 10_000);
    expect(got.messages).toHaveLength(6);
    expect(replays() - before).toBe(1);
  });

  it('a message whose every push failed is not overtaken by the publisher’s next ones: the server holds them', async () => {
    const alice = await postbox.connect('h-alice');
    const bob = connect(postbox.local.url, { getToken: () => mintToken(postbox.secret, 'h-bob', '10m') });
    clients.push(bob);
    const got = new Received<{ n: number }>();
    await bob.subscribe('h-topic', got.handler);
    await bob.synced();
    const connectionId = await connectionOf('h-bob');

    // The first message's only frame is refused: nothing of it reaches the SDK, which so sees no gap. Its
    // publisher's next messages come while deliver's re-push is still a second away.
    postbox.local.faults.failPosts({ connectionId, times: 1, error: () => new ForbiddenError() });
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      const accepted = await alice.request({ action: 'publish', topic: 'h-topic', payload: { n } });
      ids.push(accepted.id as string);
    }

    await got.until(4);
    expect(got.messages.map((m) => m.payload.n)).toEqual([0, 1, 2, 3]);
    expect(got.messages.map((m) => m.id)).toEqual(ids);
  });
});
