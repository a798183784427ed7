/**
 * The issue's check against `npm start`: a subscriber gets 20 messages once each in order, closes, misses 10, and
 * gets those 10 once each in order when it reconnects. Tokens from `npm start`'s output (or `npm run token`):
 *
 *   ALICE=<token> BOB=<token> npx tsx examples/node-client.ts [ws://127.0.0.1:3001]
 */
import { connect, type Message } from 'postbox/client';

const url = process.argv[2] ?? 'ws://127.0.0.1:3001';
const [alice, bob] = [process.env.ALICE, process.env.BOB];
if (!alice || !bob) throw new Error('set ALICE and BOB to tokens of two clients');
const topic = `example-${Date.now()}`;

async function receive(count: number, publish: (n: number) => Promise<unknown>, from: number): Promise<number[]> {
  const got: number[] = [];
  const subscriber = connect(url, { token: bob as string });
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  await subscriber.subscribe<number>(topic, (message: Message<number>) => {
    got.push(message.payload);
    if (got.length === count) done();
  });
  for (let n = from; n < from + count; n++) await publish(n);
  await all;
  await subscriber.close();
  return got;
}

const publisher = connect(url, { token: alice });
const first = await receive(20, (n) => publisher.publish(topic, n), 0);
console.log('live:', first.join(' '));
// Closed now: these 10 wait in bob's inbox.
for (let n = 20; n < 30; n++) await publisher.publish(topic, n);
const missed = await receive(10, async () => {}, 20);
console.log('after reconnect:', missed.join(' '));
await publisher.close();
const ok =
  first.join() === [...Array(20).keys()].join() && missed.join() === [...Array(10).keys()].map((n) => n + 20).join();
console.log(ok ? 'ok: once each, in order' : 'NOT OK');
process.exit(ok ? 0 : 1);
