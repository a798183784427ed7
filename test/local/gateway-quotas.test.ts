import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../local/gateway/index.js';
import type { Gateway, GatewayApi } from '../../local/gateway/types.js';
import { Spy } from '../../local/spy.js';
import { fakeInvoke, WsClient } from '../helpers/ws.js';

type AnyEvent = { requestContext: { connectionId: string; disconnectStatusCode?: number }; body?: string };

const fake = fakeInvoke({
  disconnect: () => ({ statusCode: 200 }),
  echo: (e) => ({
    statusCode: 200,
    body: `${(e as AnyEvent).requestContext.connectionId} ${(e as AnyEvent).body?.length}`,
  }),
});

const api: GatewayApi = {
  apiId: 'abcdef1234',
  name: 'gateway-quotas-test',
  stage: 'prod',
  routeSelectionExpression: '$request.body.action',
  routes: new Map([
    ['$disconnect', { routeKey: '$disconnect', functionId: 'disconnect', twoWay: false }],
    ['$default', { routeKey: '$default', functionId: 'echo', twoWay: true }],
  ]),
};

function start(spy: Spy, limits: Parameters<typeof startGateway>[0]['limits']) {
  return startGateway({ port: 0, host: '127.0.0.1', region: 'us-east-1', spy, invoke: fake.invoke, api, limits });
}

/** The connectionId of a client, from the echo route. */
async function idOf(client: WsClient): Promise<string> {
  client.send('id');
  return (await client.next()).split(' ')[0] as string;
}

function disconnectCode(connectionId: string): number | undefined {
  const call = fake.calls.find(
    (c) => c.functionId === 'disconnect' && (c.event as AnyEvent).requestContext.connectionId === connectionId,
  );
  return (call?.event as AnyEvent | undefined)?.requestContext.disconnectStatusCode;
}

describe('frame and message quotas (AWS defaults: 32 KB frame, 128 KB message)', () => {
  const spy = new Spy();
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await start(spy, {});
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('closes with 1003 on a binary frame and runs $disconnect with it', async () => {
    const client = await WsClient.connect(gateway.url);
    const connectionId = await idOf(client);
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.closed).toEqual({ code: 1003, reason: 'Binary frames are not supported' });
    await spy.waitFor({ kind: 'disconnect', connectionId });
    expect(disconnectCode(connectionId)).toBe(1003);
  });

  it('accepts a 32 KB frame', async () => {
    const client = await WsClient.connect(gateway.url);
    client.send('x'.repeat(32_768));
    expect(await client.next()).toMatch(/ 32768$/);
    await client.close();
  });

  it('closes with 1009 on a single frame over 32 KB, without invoking the route', async () => {
    const client = await WsClient.connect(gateway.url);
    const connectionId = await idOf(client);
    const before = fake.calls.length;
    client.send('x'.repeat(32_769));
    expect(await client.closed).toEqual({ code: 1009, reason: 'Message too big' });
    await spy.waitFor({ kind: 'disconnect', connectionId });
    expect(fake.calls.slice(before).map((c) => c.functionId)).toEqual(['disconnect']);
    expect(disconnectCode(connectionId)).toBe(1009);
  });

  it('accepts a 96 KB message sent as three 32 KB fragments', async () => {
    const client = await WsClient.connect(gateway.url);
    const part = 'y'.repeat(32_768);
    client.socket.send(part, { fin: false });
    client.socket.send(part, { fin: false });
    client.socket.send(part, { fin: true });
    expect(await client.next()).toMatch(/ 98304$/);
    await client.close();
  });

  it('closes with 1009 on a fragmented message over 128 KB', async () => {
    const client = await WsClient.connect(gateway.url);
    const connectionId = await idOf(client);
    const part = 'z'.repeat(32_768);
    for (let i = 0; i < 4; i++) client.socket.send(part, { fin: false });
    client.socket.send('z', { fin: true });
    expect((await client.closed).code).toBe(1009);
    await spy.waitFor({ kind: 'disconnect', connectionId });
    expect(disconnectCode(connectionId)).toBe(1009);
  });
});

describe('idle timeout and maximum duration (short limits)', () => {
  const spy = new Spy();
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await start(spy, { idleTimeoutMs: 200, maxConnectionMs: 700 });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('closes an idle connection with 1001 Going away and runs $disconnect', async () => {
    const client = await WsClient.connect(gateway.url);
    const connectionId = await idOf(client);
    const started = Date.now();
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await expect(spy.waitFor({ kind: 'disconnect', connectionId })).resolves.toMatchObject({ statusCode: 1001 });
    expect(disconnectCode(connectionId)).toBe(1001);
  });

  it('keeps a connection that sends messages past the idle timeout, up to the maximum duration', async () => {
    const started = Date.now();
    const client = await WsClient.connect(gateway.url);
    const heartbeat = setInterval(() => client.send('ping'), 80);
    const closed = await client.closed;
    clearInterval(heartbeat);
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
  });
});

describe('stop()', () => {
  it('closes every connection with 1001 and runs $disconnect before resolving', async () => {
    const spy = new Spy();
    const gateway = await start(spy, {});
    const client = await WsClient.connect(gateway.url);
    const connectionId = await idOf(client);
    await gateway.stop();
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(spy.events({ kind: 'disconnect', connectionId })).toEqual([
      { kind: 'disconnect', connectionId, statusCode: 1001, reason: 'Going away' },
    ]);
    await expect(WsClient.connect(gateway.url)).rejects.toThrow(/ECONNREFUSED/);
  });
});
