/**
 * The part of API Gateway's WebSocket proxy event the handlers read. DefinitelyTyped's
 * APIGatewayProxyWebsocketEventV2 omits `authorizer`, which a REQUEST authorizer adds to every later event.
 */
export interface WebSocketEvent {
  body?: string;
  requestContext: {
    connectionId: string;
    routeKey: string;
    eventType?: string;
    connectedAt?: number;
    requestTimeEpoch?: number;
    authorizer?: { clientId?: unknown; principalId?: unknown; caps?: unknown };
    disconnectStatusCode?: number;
    disconnectReason?: string;
  };
}

/** A proxy response; on a route with a route response its `body` is sent to the client as one frame. */
export interface RouteResult {
  statusCode: number;
  body?: string;
}

/** The client the authorizer proved at connect, carried on every later event of the connection. */
export function callerOf(event: WebSocketEvent): string | undefined {
  const { clientId, principalId } = event.requestContext.authorizer ?? {};
  const id = clientId ?? principalId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}
