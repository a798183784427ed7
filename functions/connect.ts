import type { Context } from 'aws-lambda';
import { addConnection } from './lib/connections.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { callerOf, type RouteResult, type WebSocketEvent } from './lib/events.js';
import { logger } from './lib/logger.js';
import { enqueueCatchUp } from './lib/queue.js';

const connectionsTable = requireEnv('CONNECTIONS_TABLE');
const pushQueueUrl = requireEnv('PUSH_QUEUE_URL');
const ttlSeconds = numberEnv('CONNECTION_TTL_SECONDS', 7500);

/**
 * `$connect`: records the connection, then asks for its catch-up. The order matters: deliver writes a message to
 * the inbox before it looks up live connections, so a message either finds this row (and is pushed live) or was
 * written before the catch-up reads the inbox (and is pushed by it).
 */
export const handler = async (event: WebSocketEvent, context: Context): Promise<RouteResult> => {
  logger.addContext(context);
  const clientId = callerOf(event);
  const { connectionId, connectedAt = Date.now() } = event.requestContext;
  if (!clientId) {
    logger.warn('connect without a client identity', { connectionId });
    return { statusCode: 403 };
  }
  await addConnection(connectionsTable, { clientId, connectionId, connectedAt }, ttlSeconds);
  await enqueueCatchUp(pushQueueUrl, { clientId, connectionId, connectedAt });
  logger.info('connected', { clientId, connectionId });
  return { statusCode: 200 };
};
