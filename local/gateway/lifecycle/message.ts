import type { WebSocket } from 'ws';
import type { Connection } from '../connections.js';
import type { GatewayContext } from '../context.js';
import { messageEvent } from '../events/messageEvent.js';
import { newAwsId } from '../ids.js';
import { callIntegration, timedOut } from '../integration.js';
import { mockResponse } from '../mock.js';
import { selectRoute } from '../routeSelection.js';
import { gatewayFrame, sendText } from '../send.js';
import { routeResponseFrame } from './routeResponse.js';

type OpenConnection = Connection & { socket: WebSocket };

/**
 * Handles one client text message. API Gateway does not serialize a connection's messages, so each message is
 * handled on its own as it arrives (replies may come back in a different order than the requests).
 * - no route matches and there is no `$default` → a `Forbidden` frame; the connection stays open (observed);
 * - the function throws → an `Internal server error` frame; the connection stays open (observed);
 * - the integration timeout → an `Endpoint request timed out` frame (REST's INTEGRATION_TIMEOUT message; the
 *   WebSocket wording is unconfirmed);
 * - two-way routes send the route response; one-way routes send nothing;
 * - a MOCK integration answers by itself from its templates, invoking nothing.
 */
export async function handleMessage(ctx: GatewayContext, connection: OpenConnection, body: string): Promise<void> {
  const requestId = newAwsId(ctx.deps);
  const routeKey = selectRoute(ctx.api.routeSelectionExpression, body, ctx.messageRouteKeys);
  const route = routeKey === undefined ? undefined : ctx.api.routes.get(routeKey);
  if (!route) return reply(ctx, connection, gatewayFrame('Forbidden', connection.id, requestId));
  if (route.mock) {
    const result = mockResponse(route.mock);
    if (!result.ok) return reply(ctx, connection, gatewayFrame('Internal server error', connection.id, requestId));
    if (route.twoWay && result.body !== undefined) reply(ctx, connection, result.body);
    return;
  }

  const event = messageEvent(ctx.target, connection, {
    routeKey: route.routeKey,
    body,
    requestId,
    messageId: newAwsId(ctx.deps),
    requestTimeEpoch: ctx.deps.now(),
  });
  const result = await callIntegration(ctx, route.functionId, event);
  if (timedOut(result))
    return reply(ctx, connection, gatewayFrame('Endpoint request timed out', connection.id, requestId));
  if (!result.ok) return reply(ctx, connection, gatewayFrame('Internal server error', connection.id, requestId));
  if (!route.twoWay) return;
  const frame = routeResponseFrame(result.value);
  if (frame !== undefined) reply(ctx, connection, frame);
}

/** The client may have gone while the function ran; its reply is then dropped, as on AWS. */
function reply(ctx: GatewayContext, connection: OpenConnection, data: string): void {
  if (ctx.connections.open(connection.id)) sendText(ctx, connection, data);
}
