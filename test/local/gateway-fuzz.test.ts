import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../local/gateway/index.js';
import type { Gateway, GatewayApi } from '../../local/gateway/types.js';
import { Spy } from '../../local/spy.js';
import { fakeInvoke, WsClient } from '../helpers/ws.js';

type MessageEvent = { body?: string };
const digest = (body: string) => createHash('sha256').update(body).digest('base64url');

/** Two two-way routes that answer with the route's name and a digest of the frame they were given. */
const fake = fakeInvoke({
  ping: (e) => ({ statusCode: 200, body: `ping ${digest((e as MessageEvent).body ?? '')}` }),
  fallback: (e) => ({ statusCode: 200, body: `$default ${digest((e as MessageEvent).body ?? '')}` }),
  disconnect: () => ({ statusCode: 200 }),
});

const api: GatewayApi = {
  apiId: 'fuzz123456',
  name: 'gateway-fuzz-test',
  stage: 'prod',
  routeSelectionExpression: '$request.body.action',
  routes: new Map([
    ['ping', { routeKey: 'ping', functionId: 'ping', twoWay: true }],
    ['$default', { routeKey: '$default', functionId: 'fallback', twoWay: true }],
    ['$disconnect', { routeKey: '$disconnect', functionId: 'disconnect', twoWay: false }],
  ]),
};

/** The route API Gateway picks for `$request.body.action`: `ping` only for a JSON object whose action is "ping". */
function expectedRoute(frame: string): string {
  try {
    const parsed: unknown = JSON.parse(frame);
    const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    return isObject && Object.hasOwn(parsed, 'action') && (parsed as { action: unknown }).action === 'ping'
      ? 'ping'
      : '$default';
  } catch {
    return '$default';
  }
}

/** `depth` levels of arrays or objects around `inner`: far past what any parser of ours should recurse through. */
const nested = fc
  .record({ depth: fc.integer({ min: 1, max: 8_000 }), objects: fc.boolean(), inner: fc.jsonValue({ maxDepth: 1 }) })
  .map(({ depth, objects, inner }) =>
    objects
      ? `${'{"a":'.repeat(depth)}${JSON.stringify(inner)}${'}'.repeat(depth)}`
      : `${'['.repeat(depth)}${JSON.stringify(inner)}${']'.repeat(depth)}`,
  );

/** Text frames within the 32 KB frame quota: JSON of every shape, routed or not, deep nesting, and plain text. */
const goodFrame = fc
  .oneof(
    fc.json(),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc
      .record({ action: fc.oneof(fc.constant('ping'), fc.jsonValue()), ref: fc.string() })
      .map((o) => JSON.stringify(o)),
    nested,
    nested.map((deep) => `{"action":${deep},"payload":${deep}}`),
    nested.map((deep) => `{"action":"ping","payload":${deep}}`),
    fc.integer({ min: 1, max: 32_768 }).map((n) => 'x'.repeat(n)),
  )
  .filter((frame) => Buffer.byteLength(frame) <= 32_768);

/** What ends a run: nothing (the client closes), a binary frame (1003), or a frame over 32 KB (1009). */
const ending = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })),
  fc.integer({ min: 32_769, max: 40_000 }).map((size) => ({ kind: 'oversized' as const, size })),
);

describe('the gateway fuzzed with frames of every shape', () => {
  const spy = new Spy();
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway({
      port: 0,
      host: '127.0.0.1',
      region: 'us-east-1',
      spy,
      invoke: fake.invoke,
      api,
      limits: {},
    });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('answers every frame within the quotas on its route, then closes with 1003 or 1009 on a bad one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(goodFrame, { minLength: 1, maxLength: 6 }), ending, async (frames, end) => {
        const client = await WsClient.connect(gateway.url);
        try {
          for (const frame of frames) client.send(frame);
          const answers: string[] = [];
          for (let i = 0; i < frames.length; i++) answers.push(await client.next(5_000));
          // Frames are handled concurrently, as on AWS: the answers may come in any order.
          expect(answers.sort()).toEqual(frames.map((f) => `${expectedRoute(f)} ${digest(f)}`).sort());
          if (end.kind === 'none') {
            expect(await client.close(1000)).toMatchObject({ code: 1000 });
          } else if (end.kind === 'binary') {
            client.socket.send(Buffer.from(end.bytes), { binary: true });
            expect(await client.closed).toEqual({ code: 1003, reason: 'Binary frames are not supported' });
          } else {
            client.send('y'.repeat(end.size));
            expect(await client.closed).toEqual({ code: 1009, reason: 'Message too big' });
          }
          expect(client.messages).toHaveLength(frames.length);
        } finally {
          client.socket.terminate();
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
