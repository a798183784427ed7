import type { Connection } from '../connections.js';
import { type EventTarget, requestContext } from './requestContext.js';
import type { WebsocketProxyEvent } from './types.js';

/**
 * A MESSAGE event: the raw frame text as `body`, a `messageId`, and no headers or query
 * (aws-lambda-go `events/testdata/apigw-websocket-request-send-message.json`).
 */
export function messageEvent(
  target: EventTarget,
  connection: Connection,
  message: { routeKey: string; body: string; requestId: string; messageId: string; requestTimeEpoch: number },
): WebsocketProxyEvent {
  const context = requestContext(target, connection, {
    routeKey: message.routeKey,
    eventType: 'MESSAGE',
    requestId: message.requestId,
    requestTimeEpoch: message.requestTimeEpoch,
  });
  // Key order of the recorded event: routeKey, messageId, then the rest.
  const { routeKey, ...rest } = context;
  return {
    requestContext: { routeKey, messageId: message.messageId, ...rest },
    body: message.body,
    isBase64Encoded: false,
  };
}
