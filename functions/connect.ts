import type { Context } from 'aws-lambda';
import { addConnection } from './lib/connections.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { callerOf, type RouteResult, type WebSocketEvent } from './lib/events.js';
import { logger } from './lib/logger.js';
import { enqueueConnected } from './lib/queue.js';

const connectionsTable = requireEnv('CONNECTIONS_TABLE');
const queueUrl = requireEnv('INGEST_QUEUE_URL');
const ttlSeconds = numberEnv('CONNECTION_TTL_SECONDS', 7500);

/** `$connect`: records the connection and asks for its pending inbox to be pushed once the handshake is done. */
export const handler = async (event: WebSocketEvent, context: Context): Promise<RouteResult> => {
  logger.addContext(context);
  const clientId = callerOf(event);
  const { connectionId, connectedAt = Date.now() } = event.requestContext;
  if (!clientId) {
    logger.warn('connect without a client identity', { connectionId });
    return { statusCode: 403 };
  }
  await addConnection(connectionsTable, { clientId, connectionId, connectedAt }, ttlSeconds);
  // Read after the row is written: deliver runs that began routing from now on find this connection themselves.
  const routedBefore = Date.now();
  await enqueueConnected(queueUrl, { clientId, connectionId, connectedAt, routedBefore });
  logger.info('connected', { clientId, connectionId });
  return { statusCode: 200 };
};
