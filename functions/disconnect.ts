import type { Context } from 'aws-lambda';
import { removeConnection } from './lib/connections.js';
import { requireEnv } from './lib/env.js';
import { callerOf, type RouteResult, type WebSocketEvent } from './lib/events.js';
import { logger } from './lib/logger.js';

const connectionsTable = requireEnv('CONNECTIONS_TABLE');

/**
 * `$disconnect`: forgets the connection. API Gateway runs it best-effort only, so a row it misses is removed by
 * the deliver function on the first 410 Gone, or expires by TTL.
 */
export const handler = async (event: WebSocketEvent, context: Context): Promise<RouteResult> => {
  logger.addContext(context);
  const clientId = callerOf(event);
  const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
  if (!clientId) {
    logger.warn('disconnect without a client identity; the row is left to 410 and TTL', { connectionId });
    return { statusCode: 200 };
  }
  await removeConnection(connectionsTable, clientId, connectionId);
  logger.info('disconnected', { clientId, connectionId, disconnectStatusCode, disconnectReason });
  return { statusCode: 200 };
};
