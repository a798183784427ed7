import type { Connection } from '../connections.js';
import { clfTime } from '../ids.js';
import type { WebsocketRequestContext } from './types.js';

/** Where an event is going: the fields of `requestContext` that do not depend on the connection. */
export interface EventTarget {
  apiId: string;
  stage: string;
  domainName: string;
}

export interface RequestInfo {
  routeKey: string;
  eventType: WebsocketRequestContext['eventType'];
  /** One request, one id: API Gateway documents `requestId` = `extendedRequestId` for WebSocket APIs. */
  requestId: string;
  requestTimeEpoch: number;
}

/** The `requestContext` common to CONNECT, MESSAGE and DISCONNECT, in the key order of recorded events. */
export function requestContext(
  target: EventTarget,
  connection: Connection,
  info: RequestInfo,
): WebsocketRequestContext {
  const context: WebsocketRequestContext = {
    routeKey: info.routeKey,
    eventType: info.eventType,
    extendedRequestId: info.requestId,
    requestTime: clfTime(info.requestTimeEpoch),
    messageDirection: 'IN',
    stage: target.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: info.requestTimeEpoch,
    identity: { ...connection.identity },
    requestId: info.requestId,
    domainName: target.domainName,
    connectionId: connection.id,
    apiId: target.apiId,
  };
  if (connection.authorizer) context.authorizer = { ...connection.authorizer };
  return context;
}
