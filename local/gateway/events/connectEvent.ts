import type { Connection } from '../connections.js';
import type { HandshakeRequest } from './handshakeRequest.js';
import { type EventTarget, requestContext } from './requestContext.js';
import type { WebsocketProxyEvent } from './types.js';

/**
 * The `$connect` event: the handshake's headers, the query only when the URL had one, no body
 * (aws-lambda-rust-runtime fixture `example-apigw-websocket-request-without-method.json`).
 */
export function connectEvent(
  target: EventTarget,
  connection: Connection,
  request: HandshakeRequest,
  ids: { requestId: string; requestTimeEpoch: number },
): WebsocketProxyEvent {
  const event: WebsocketProxyEvent = {
    headers: request.headers,
    multiValueHeaders: request.multiValueHeaders,
    requestContext: requestContext(target, connection, { routeKey: '$connect', eventType: 'CONNECT', ...ids }),
    isBase64Encoded: false,
  };
  if (request.query) {
    event.queryStringParameters = request.query.single;
    event.multiValueQueryStringParameters = request.query.multi;
  }
  return event;
}
