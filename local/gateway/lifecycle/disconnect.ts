import type { Connection } from '../connections.js';
import type { GatewayContext } from '../context.js';
import { disconnectEvent } from '../events/disconnectEvent.js';
import { newAwsId } from '../ids.js';
import { callIntegration } from '../integration.js';

/**
 * Runs `$disconnect` after a connection closed, whoever closed it. API Gateway calls it best-effort and ignores
 * its result (apigateway-websocket-api-route-keys-connect-disconnect.html), so errors and timeouts are dropped.
 * The `disconnect` spy event is emitted once the integration has settled, so a test that awaits it can inspect
 * what `$disconnect` received.
 */
export async function runDisconnect(
  ctx: GatewayContext,
  connection: Connection,
  close: { code: number; reason: string },
): Promise<void> {
  try {
    const route = ctx.api.routes.get('$disconnect');
    // The template loader allows MOCK integrations on message routes only.
    if (route?.functionId) {
      const event = disconnectEvent(ctx.target, connection, {
        ...close,
        requestId: newAwsId(ctx.deps),
        requestTimeEpoch: ctx.deps.now(),
      });
      await callIntegration(ctx, route.functionId, event);
    }
  } finally {
    ctx.spy.emit({ kind: 'disconnect', connectionId: connection.id, statusCode: close.code, reason: close.reason });
  }
}
