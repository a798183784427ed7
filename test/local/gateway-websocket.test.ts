import { connect as connectTcp } from 'node:net';
import { APIGatewayProxyWebsocketEventSchema } from '@aws-lambda-powertools/parser/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startGateway } from '../../local/gateway/index.js';
import type { Gateway, GatewayApi, GatewayRoute } from '../../local/gateway/types.js';
import { Spy } from '../../local/spy.js';
import { fakeInvoke, WsClient } from '../helpers/ws.js';

const ID = /^[A-Za-z0-9_-]{15}=$/;
type AnyEvent = {
  requestContext: Record<string, unknown> & { connectionId: string; eventType: string };
  queryStringParameters?: Record<string, string>;
  body?: string;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function api(routes: GatewayRoute[]): GatewayApi {
  return {
    apiId: 'abcdef1234',
    name: 'gateway-test',
    stage: 'prod',
    routeSelectionExpression: '$request.body.action',
    routes: new Map(routes.map((r) => [r.routeKey, r])),
  };
}

const authorizer = { name: 'token', functionId: 'authorize', identitySource: ['route.request.querystring.token'] };
const policy = (effect: 'Allow' | 'Deny', resource: string) => ({
  principalId: 'client-1',
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
  },
  context: { clientId: 'client-1', tier: 7, admin: false },
});

const fake = fakeInvoke({
  authorize: (e) => {
    const event = e as { methodArn: string; queryStringParameters?: Record<string, string> };
    const token = event.queryStringParameters?.token;
    if (token === 'unauthorized') throw new Error('Unauthorized');
    if (token === 'boom') throw new TypeError('boom');
    return policy(token === 'deny' ? 'Deny' : 'Allow', event.methodArn);
  },
  connect: async (e) => {
    const q = (e as AnyEvent).queryStringParameters ?? {};
    if (q.connect === 'throw') throw new Error('connect failed');
    if (q.connect === 'slow') await sleep(400);
    if (q.connect === 'null') return null;
    if (q.protocol) return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': q.protocol } };
    return { statusCode: Number(q.status ?? 200) };
  },
  disconnect: () => ({ statusCode: 200 }),
  whoami: (e) => {
    const { connectionId, authorizer: auth } = (e as AnyEvent).requestContext;
    return { statusCode: 200, body: JSON.stringify({ connectionId, authorizer: auth }) };
  },
  echo: (e) => ({ statusCode: 200, body: `echo:${(e as AnyEvent).body}` }),
  oneway: () => ({ statusCode: 200, body: 'never sent' }),
  fail: () => {
    throw new Error('kaput');
  },
  plain: (e) => (JSON.parse((e as AnyEvent).body ?? '{}').object ? { type: 'pong' } : 'pong'),
  slow: async (e) => {
    await sleep(Number(JSON.parse((e as AnyEvent).body ?? '{}').ms));
    return { statusCode: 200, body: `slept:${(e as AnyEvent).body}` };
  },
  default: (e) => ({ statusCode: 200, body: `default:${(e as AnyEvent).body}` }),
});

const spy = new Spy();
let gateway: Gateway;
let bare: Gateway;

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    region: 'us-east-1',
    spy,
    invoke: fake.invoke,
    limits: { integrationTimeoutMs: 250 },
    api: api([
      { routeKey: '$connect', functionId: 'connect', twoWay: false, authorizer },
      { routeKey: '$disconnect', functionId: 'disconnect', twoWay: false },
      { routeKey: 'whoami', functionId: 'whoami', twoWay: true },
      { routeKey: 'echo', functionId: 'echo', twoWay: true },
      { routeKey: 'oneway', functionId: 'oneway', twoWay: false },
      { routeKey: 'fail', functionId: 'fail', twoWay: true },
      { routeKey: 'plain', functionId: 'plain', twoWay: true },
      { routeKey: 'slow', functionId: 'slow', twoWay: true },
      { routeKey: '$default', functionId: 'default', twoWay: true },
    ]),
  });
  // No $connect (connections are accepted) and no $default route.
  bare = await startGateway({
    port: 0,
    host: '127.0.0.1',
    region: 'us-east-1',
    spy: new Spy(),
    invoke: fake.invoke,
    api: api([{ routeKey: 'echo', functionId: 'echo', twoWay: true }]),
  });
});

afterAll(async () => {
  await gateway?.stop();
  await bare?.stop();
});

const url = (query: string) => `${gateway.url}/?${query}`;

async function whoami(client: WsClient): Promise<{ connectionId: string; authorizer: Record<string, unknown> }> {
  client.send('{"action":"whoami"}');
  return JSON.parse(await client.next());
}

describe('handshake', () => {
  it('runs the authorizer, then $connect, then accepts', async () => {
    const client = await WsClient.connect(url('token=ok'));
    const { connectionId } = await whoami(client);
    expect(connectionId).toMatch(ID);
    const order = fake.calls.filter((c) => (c.event as AnyEvent).requestContext.connectionId === connectionId);
    expect(order.map((c) => c.functionId)).toEqual(['authorize', 'connect', 'whoami']);
    await expect(spy.waitFor({ kind: 'connect', connectionId })).resolves.toMatchObject({ clientId: 'client-1' });
    await client.close();
  });

  it('accepts the /{stage} path as on AWS', async () => {
    const client = await WsClient.connect(`${gateway.url}/prod?token=ok`);
    expect((await whoami(client)).connectionId).toMatch(ID);
    await client.close();
  });

  it('refuses with 401 without invoking the authorizer when the identity source is missing', async () => {
    const before = fake.calls.length;
    await expect(WsClient.refused(url('other=1'))).resolves.toEqual({
      status: 401,
      body: '{"message":"Unauthorized"}',
    });
    expect(fake.calls.length).toBe(before);
  });

  it('refuses with 401 when the authorizer throws Unauthorized', async () => {
    await expect(WsClient.refused(url('token=unauthorized'))).resolves.toEqual({
      status: 401,
      body: '{"message":"Unauthorized"}',
    });
  });

  it('refuses with 403 when the policy denies, and does not run $connect', async () => {
    const before = fake.calls.filter((c) => c.functionId === 'connect').length;
    await expect(WsClient.refused(url('token=deny'))).resolves.toEqual({
      status: 403,
      body: '{"message":"Forbidden"}',
    });
    expect(fake.calls.filter((c) => c.functionId === 'connect').length).toBe(before);
  });

  it('refuses with 500 when the authorizer fails otherwise', async () => {
    await expect(WsClient.refused(url('token=boom'))).resolves.toEqual({
      status: 500,
      body: '{"message":"Internal server error"}',
    });
  });

  it.each([400, 403, 301, 501])('refuses with the status $connect returned (%i)', async (status) => {
    await expect(WsClient.refused(url(`token=ok&status=${status}`))).resolves.toEqual({ status, body: '' });
  });

  it('accepts any 2xx from $connect', async () => {
    const client = await WsClient.connect(url('token=ok&status=201'));
    await client.close();
  });

  it('refuses with 502 when $connect throws, or returns no statusCode', async () => {
    const body = '{"message":"Internal server error"}';
    await expect(WsClient.refused(url('token=ok&connect=throw'))).resolves.toEqual({ status: 502, body });
    await expect(WsClient.refused(url('token=ok&connect=null'))).resolves.toEqual({ status: 502, body });
  });

  it('refuses with 504 when $connect outlasts the integration timeout', async () => {
    await expect(WsClient.refused(url('token=ok&connect=slow'))).resolves.toEqual({
      status: 504,
      body: '{"message":"Endpoint request timed out"}',
    });
  });

  it('survives a client that resets its socket while $connect runs', async () => {
    const { port } = new URL(gateway.url);
    const socket = connectTcp(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      [
        'GET /?token=ok&connect=slow HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    await sleep(100);
    socket.resetAndDestroy();
    await sleep(500);
    const client = await WsClient.connect(url('token=ok'));
    expect((await whoami(client)).connectionId).toMatch(ID);
    await client.close();
  });

  it('echoes the subprotocol $connect chose', async () => {
    const client = await WsClient.connect(url('token=ok&protocol=postbox.v1'), { protocols: ['postbox.v1', 'other'] });
    expect(client.socket.protocol).toBe('postbox.v1');
    await client.close();
  });

  it('fails the handshake when the client offers a subprotocol that $connect did not choose', async () => {
    await expect(WsClient.connect(url('token=ok'), { protocols: ['postbox.v1'] })).rejects.toThrow(
      'Server sent no subprotocol',
    );
  });

  it('accepts every connection when there is no $connect route', async () => {
    const client = await WsClient.connect(`${bare.url}/`);
    await client.close();
  });
});

describe('messages', () => {
  let client: WsClient;
  beforeAll(async () => {
    client = await WsClient.connect(url('token=ok'));
  });
  afterAll(async () => {
    await client.close();
  });

  it('carries the authorizer principal, context and latency on MESSAGE events', async () => {
    const { authorizer: auth } = await whoami(client);
    expect(auth).toEqual({
      principalId: 'client-1',
      clientId: 'client-1',
      tier: 7,
      admin: false,
      integrationLatency: expect.any(Number),
    });
  });

  it('sends a two-way route its body back as a text frame', async () => {
    client.send('{"action":"echo","n":1}');
    expect(await client.next()).toBe('echo:{"action":"echo","n":1}');
  });

  it('sends nothing for a one-way route', async () => {
    client.send('{"action":"oneway"}');
    client.send('{"action":"echo"}');
    expect(await client.next()).toBe('echo:{"action":"echo"}');
  });

  it('routes non-JSON frames and unknown actions to $default', async () => {
    client.send('hello there');
    expect(await client.next()).toBe('default:hello there');
    client.send('{"action":"unknown"}');
    expect(await client.next()).toBe('default:{"action":"unknown"}');
  });

  it('sends a two-way result without statusCode as its JSON payload', async () => {
    client.send('{"action":"plain"}');
    expect(await client.next()).toBe('"pong"');
    client.send('{"action":"plain","object":true}');
    expect(await client.next()).toBe('{"type":"pong"}');
  });

  it('answers a Lambda error with an Internal server error frame and keeps the connection', async () => {
    const { connectionId } = await whoami(client);
    client.send('{"action":"fail"}');
    const frame = await client.next();
    expect(frame).toMatch(/^\{"message": "Internal server error", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/);
    expect(JSON.parse(frame)).toEqual({
      message: 'Internal server error',
      connectionId,
      requestId: expect.stringMatching(ID),
    });
    client.send('{"action":"echo"}');
    expect(await client.next()).toBe('echo:{"action":"echo"}');
  });

  it('answers an integration timeout with an Endpoint request timed out frame', async () => {
    const { connectionId } = await whoami(client);
    client.send('{"action":"slow","ms":400}');
    expect(JSON.parse(await client.next())).toEqual({
      message: 'Endpoint request timed out',
      connectionId,
      requestId: expect.stringMatching(ID),
    });
  });

  it('handles messages concurrently, so replies come back as functions finish', async () => {
    client.send('{"action":"slow","ms":150}');
    client.send('{"action":"slow","ms":10}');
    expect(await client.next()).toBe('slept:{"action":"slow","ms":10}');
    expect(await client.next()).toBe('slept:{"action":"slow","ms":150}');
  });

  it('sends a Forbidden frame when no route matches and there is no $default, and stays open', async () => {
    const other = await WsClient.connect(`${bare.url}/`);
    other.send('{"action":"nope"}');
    const frame = JSON.parse(await other.next());
    expect(frame).toEqual({
      message: 'Forbidden',
      connectionId: expect.stringMatching(ID),
      requestId: expect.stringMatching(ID),
    });
    other.send('{"action":"echo"}');
    expect(await other.next()).toBe('echo:{"action":"echo"}');
    await other.close();
  });
});

describe('disconnect', () => {
  async function disconnectEventOf(connectionId: string) {
    await spy.waitFor({ kind: 'disconnect', connectionId });
    const call = fake.calls.find(
      (c) => c.functionId === 'disconnect' && (c.event as AnyEvent).requestContext.connectionId === connectionId,
    );
    return call?.event as AnyEvent;
  }

  it('runs $disconnect with the client close code and reason', async () => {
    const client = await WsClient.connect(url('token=ok'));
    const { connectionId } = await whoami(client);
    await client.close(4001, 'bye');
    const event = await disconnectEventOf(connectionId);
    expect(event.requestContext).toMatchObject({
      eventType: 'DISCONNECT',
      routeKey: '$disconnect',
      disconnectStatusCode: 4001,
      disconnectReason: 'bye',
    });
    expect(event.requestContext.authorizer).toMatchObject({ principalId: 'client-1', clientId: 'client-1' });
    expect(spy.events({ kind: 'disconnect', connectionId })).toEqual([
      { kind: 'disconnect', connectionId, statusCode: 4001, reason: 'bye' },
    ]);
  });

  it('reports 1005 when the client closes without a code', async () => {
    const client = await WsClient.connect(url('token=ok'));
    const { connectionId } = await whoami(client);
    await client.close();
    expect((await disconnectEventOf(connectionId)).requestContext).toMatchObject({
      disconnectStatusCode: 1005,
      disconnectReason: '',
    });
  });

  it('reports 1006 when the client drops the TCP connection', async () => {
    const client = await WsClient.connect(url('token=ok'));
    const { connectionId } = await whoami(client);
    client.socket.terminate();
    expect((await disconnectEventOf(connectionId)).requestContext).toMatchObject({
      disconnectStatusCode: 1006,
      disconnectReason: '',
    });
  });
});

/**
 * Powertools' `APIGatewayProxyWebsocketEventSchema` was modelled on the authorizer input in the WebSocket
 * authorizer docs (powertools-lambda-typescript#3787): it requires `type`, `methodArn`, `multiValueHeaders` and
 * the query maps, which recorded MESSAGE and DISCONNECT events do not have. The authorizer event is parsed with it
 * as-is (when the URL has a query); proxy events with the same schema minus those authorizer-only requirements,
 * which still accepts the real recorded MESSAGE event and rejects the wrong shapes.
 */
const ProxyEventSchema = APIGatewayProxyWebsocketEventSchema.omit({ type: true, methodArn: true }).extend({
  multiValueHeaders: APIGatewayProxyWebsocketEventSchema.shape.multiValueHeaders.optional(),
  queryStringParameters: APIGatewayProxyWebsocketEventSchema.shape.queryStringParameters.optional(),
  multiValueQueryStringParameters: APIGatewayProxyWebsocketEventSchema.shape.multiValueQueryStringParameters.optional(),
});
const RECORDED_MESSAGE = {
  requestContext: {
    routeKey: '$default',
    messageId: 'R1knPc2ntjMCFIA=',
    eventType: 'MESSAGE',
    extendedRequestId: 'R1knPH17NjMFftw=',
    requestId: 'R1knPH17NjMFftw=',
    requestTime: '20/Jan/2024:11:55:00 +0000',
    requestTimeEpoch: 1705751700453,
    connectedAt: 1705751697419,
    messageDirection: 'IN',
    stage: 'prod',
    identity: { userAgent: 'Mozilla/5.0', sourceIp: '192.0.2.1' },
    domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
    connectionId: 'R1kmxc2VNjMCFIA=',
    apiId: 'abc123',
  },
  body: '{"action":"send"}',
  isBase64Encoded: false,
};

describe('fabricated events', () => {
  it('the proxy schema accepts a recorded real MESSAGE event that the Powertools schema rejects', () => {
    expect(ProxyEventSchema.safeParse(RECORDED_MESSAGE).success).toBe(true);
    expect(APIGatewayProxyWebsocketEventSchema.safeParse(RECORDED_MESSAGE).success).toBe(false);
  });

  it('every CONNECT, MESSAGE and DISCONNECT event parses, and has exactly the fields AWS sends', () => {
    const proxyEvents = fake.calls.filter((c) => c.functionId !== 'authorize').map((c) => c.event as AnyEvent);
    const kinds = new Set(proxyEvents.map((e) => e.requestContext.eventType));
    expect(kinds).toEqual(new Set(['CONNECT', 'MESSAGE', 'DISCONNECT']));
    for (const event of proxyEvents) {
      const parsed = ProxyEventSchema.safeParse(event);
      expect(parsed.error).toBeUndefined();
      const ctx = event.requestContext;
      expect(ctx).toMatchObject({
        messageDirection: 'IN',
        stage: 'prod',
        apiId: 'abcdef1234',
        domainName: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
      });
      expect(ctx.requestId).toBe(ctx.extendedRequestId);
      expect(ctx.requestId).toMatch(ID);
      expect(ctx.connectionId).toMatch(ID);
      expect(ctx.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
      expect(ctx.identity).toEqual({ sourceIp: '127.0.0.1' });
      const keys = Object.keys(event).sort();
      if (ctx.eventType === 'CONNECT') {
        expect(keys).toEqual([
          'headers',
          'isBase64Encoded',
          'multiValueHeaders',
          'multiValueQueryStringParameters',
          'queryStringParameters',
          'requestContext',
        ]);
        expect(ctx).not.toHaveProperty('messageId');
        expect(event).toMatchObject({
          headers: { 'Sec-WebSocket-Version': '13', 'X-Forwarded-For': '127.0.0.1', 'X-Forwarded-Proto': 'http' },
        });
      } else if (ctx.eventType === 'MESSAGE') {
        expect(keys).toEqual(['body', 'isBase64Encoded', 'requestContext']);
        expect(ctx.messageId).toMatch(ID);
      } else {
        expect(keys).toEqual(['headers', 'isBase64Encoded', 'multiValueHeaders', 'requestContext']);
        expect(event).toMatchObject({
          headers: {
            Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
            'x-api-key': '',
            'X-Forwarded-For': '',
            'x-restapi': '',
          },
        });
        expect(ctx).toHaveProperty('disconnectStatusCode');
        expect(ctx).toHaveProperty('disconnectReason');
      }
    }
  });

  it('every authorizer event parses with the Powertools schema', () => {
    const events = fake.calls.filter((c) => c.functionId === 'authorize').map((c) => c.event);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      const parsed = APIGatewayProxyWebsocketEventSchema.extend({ isBase64Encoded: z.boolean().optional() }).safeParse(
        event,
      );
      expect(parsed.error).toBeUndefined();
      expect(event).toMatchObject({
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:us-east-1:000000000000:abcdef1234/prod/$connect',
        stageVariables: {},
        requestContext: { eventType: 'CONNECT', routeKey: '$connect' },
      });
      expect((event as AnyEvent).requestContext).not.toHaveProperty('authorizer');
    }
  });
});
