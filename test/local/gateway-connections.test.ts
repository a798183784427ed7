import {
  ApiGatewayManagementApiClient,
  type ApiGatewayManagementApiServiceException,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../local/gateway/index.js';
import type { Gateway } from '../../local/gateway/types.js';
import { Spy } from '../../local/spy.js';
import { fakeInvoke, WsClient } from '../helpers/ws.js';

type AnyEvent = { requestContext: { connectionId: string }; queryStringParameters?: Record<string, string> };

/** `$connect` parks here while a test posts to the connection it is establishing. */
let holdConnect: { connectionId: string; release: () => void } | undefined;
let connectHeld: (() => void) | undefined;

const fake = fakeInvoke({
  connect: async (e) => {
    const event = e as AnyEvent;
    if (event.queryStringParameters?.hold) {
      await new Promise<void>((release) => {
        holdConnect = { connectionId: event.requestContext.connectionId, release };
        connectHeld?.();
      });
    }
    return { statusCode: 200 };
  },
  disconnect: () => ({ statusCode: 200 }),
  whoami: (e) => ({ statusCode: 200, body: (e as AnyEvent).requestContext.connectionId }),
});

const spy = new Spy();
let gateway: Gateway;
let sdk: ApiGatewayManagementApiClient;

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    region: 'us-east-1',
    spy,
    invoke: fake.invoke,
    api: {
      apiId: 'abcdef1234',
      name: 'gateway-connections-test',
      stage: 'prod',
      routeSelectionExpression: '$request.body.action',
      routes: new Map([
        ['$connect', { routeKey: '$connect', functionId: 'connect', twoWay: false }],
        ['$disconnect', { routeKey: '$disconnect', functionId: 'disconnect', twoWay: false }],
        ['$default', { routeKey: '$default', functionId: 'whoami', twoWay: true }],
      ]),
    },
  });
  sdk = client(`${gateway.httpUrl}/prod`);
});

afterAll(async () => {
  sdk?.destroy();
  await gateway?.stop();
});

function client(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

async function open(): Promise<{ ws: WsClient; connectionId: string }> {
  const ws = await WsClient.connect(`${gateway.url}/`);
  ws.send('whoami');
  return { ws, connectionId: await ws.next() };
}

/** The error a call rejects with, asserted as the SDK surfaces AWS errors: class, name, status and message. */
async function expectAwsError(
  call: Promise<unknown>,
  type: new (...args: never[]) => ApiGatewayManagementApiServiceException,
  status: number,
  message: string,
): Promise<void> {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  const aws = error as ApiGatewayManagementApiServiceException;
  expect({ name: aws.name, status: aws.$metadata.httpStatusCode, message: aws.message }).toEqual({
    name: type.name,
    status,
    message,
  });
}

describe('PostToConnection', () => {
  it('sends the raw body as one text message and records a push', async () => {
    const { ws, connectionId } = await open();
    const out = await sdk.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"message","n":1}' }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(await ws.next()).toBe('{"type":"message","n":1}');
    expect(spy.events({ kind: 'push', connectionId }).map((e) => e.data)).toContain('{"type":"message","n":1}');
    await ws.close();
  });

  it('delivers a 131072-byte post (sent in 32 KB frames) and refuses one byte more with 413', async () => {
    const { ws, connectionId } = await open();
    const max = 'x'.repeat(131_072);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: max }));
    expect(await ws.next()).toBe(max);
    await expectAwsError(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: `${max}x` })),
      PayloadTooLargeException,
      413,
      'Message of 131073 bytes exceeds the 131072-byte limit',
    );
    await ws.close();
  });

  it('answers 410 GoneException for an unknown connection and after a disconnect', async () => {
    await expectAwsError(
      sdk.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' })),
      GoneException,
      410,
      'Connection AAAAAAAAAAAAAAA= is gone',
    );
    const { ws, connectionId } = await open();
    await ws.close();
    await spy.waitFor({ kind: 'disconnect', connectionId });
    await expectAwsError(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })),
      GoneException,
      410,
      `Connection ${connectionId} is gone`,
    );
  });

  it('answers 410 while the connection is still in $connect, then delivers once it is open', async () => {
    const held = new Promise<void>((resolve) => {
      connectHeld = resolve;
    });
    const connecting = WsClient.connect(`${gateway.url}/?hold=1`);
    await held;
    const { connectionId, release } = holdConnect as NonNullable<typeof holdConnect>;
    await expectAwsError(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'early' })),
      GoneException,
      410,
      `Connection ${connectionId} is gone`,
    );
    await expectAwsError(
      sdk.send(new GetConnectionCommand({ ConnectionId: connectionId })),
      GoneException,
      410,
      `Connection ${connectionId} is gone`,
    );
    release();
    const ws = await connecting;
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'now' }));
    expect(await ws.next()).toBe('now');
    await ws.close();
  });
});

describe('GetConnection', () => {
  it('returns connectedAt, lastActiveAt and the identity', async () => {
    const before = Date.now();
    const ws = await WsClient.connect(`${gateway.url}/`, { headers: { 'User-Agent': 'postbox-test/1.0' } });
    ws.send('whoami');
    const connectionId = await ws.next();
    const out = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'postbox-test/1.0' });
    expect(out.ConnectedAt).toBeInstanceOf(Date);
    expect(out.ConnectedAt?.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(out.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(out.ConnectedAt?.getTime() ?? Number.NaN);
    await ws.close();
  });
});

describe('DeleteConnection', () => {
  it('answers 204, closes the socket and runs $disconnect; later calls get 410', async () => {
    const { ws, connectionId } = await open();
    const out = await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    expect(out.$metadata.httpStatusCode).toBe(204);
    expect(await ws.closed).toEqual({ code: 1000, reason: '' });
    await expect(spy.waitFor({ kind: 'disconnect', connectionId })).resolves.toMatchObject({ statusCode: 1000 });
    await expectAwsError(
      sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId })),
      GoneException,
      410,
      `Connection ${connectionId} is gone`,
    );
  });
});

describe('routing', () => {
  it('answers 403 ForbiddenException for a wrong stage', async () => {
    const wrong = client(`${gateway.httpUrl}/dev`);
    await expectAwsError(
      wrong.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' })),
      ForbiddenException,
      403,
      'Forbidden',
    );
    wrong.destroy();
  });

  it('answers 403 ForbiddenException when the stage is missing from the endpoint', async () => {
    const noStage = client(gateway.httpUrl);
    await expectAwsError(
      noStage.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' })),
      ForbiddenException,
      403,
      'Forbidden',
    );
    noStage.destroy();
  });

  it('accepts %40connections and sets x-amzn-ErrorType on errors', async () => {
    const { ws, connectionId } = await open();
    const posted = await fetch(`${gateway.httpUrl}/prod/%40connections/${encodeURIComponent(connectionId)}`, {
      method: 'POST',
      body: 'raw',
    });
    expect({ status: posted.status, body: await posted.text() }).toEqual({ status: 200, body: '' });
    expect(await ws.next()).toBe('raw');
    const gone = await fetch(`${gateway.httpUrl}/prod/@connections/nope`, { method: 'GET' });
    expect(gone.status).toBe(410);
    expect(gone.headers.get('x-amzn-errortype')).toBe('GoneException');
    expect(await gone.json()).toEqual({ message: 'Connection nope is gone' });
    const put = await fetch(`${gateway.httpUrl}/prod/@connections/${encodeURIComponent(connectionId)}`, {
      method: 'PUT',
    });
    expect(put.status).toBe(403);
    await ws.close();
  });
});
