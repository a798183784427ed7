import type { Connection } from '../connections.js';
import { type EventTarget, requestContext } from './requestContext.js';
import type { WebsocketProxyEvent } from './types.js';

/**
 * The `$disconnect` event. Its headers are not the handshake's but a fixed synthetic set, and the close code and
 * reason are in `requestContext` (aws-lambda-go `events/testdata/apigw-websocket-request-disconnect.json`:
 * `Host`, `x-api-key: ""`, `X-Forwarded-For: ""`, `x-restapi: ""`, `disconnectStatusCode: 1001`,
 * `disconnectReason: ""`).
 */
export function disconnectEvent(
  target: EventTarget,
  connection: Connection,
  close: { code: number; reason: string; requestId: string; requestTimeEpoch: number },
): WebsocketProxyEvent {
  const headers: Record<string, string> = {
    Host: target.domainName,
    'x-api-key': '',
    'X-Forwarded-For': '',
    'x-restapi': '',
  };
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  const context = requestContext(target, connection, {
    routeKey: '$disconnect',
    eventType: 'DISCONNECT',
    requestId: close.requestId,
    requestTimeEpoch: close.requestTimeEpoch,
  });
  return {
    headers,
    multiValueHeaders,
    requestContext: { ...context, disconnectStatusCode: close.code, disconnectReason: close.reason },
    isBase64Encoded: false,
  };
}
