import type { Context } from 'aws-lambda';
import { removeConnection } from './lib/connections.js';
import { requireEnv } from './lib/env.js';
import { callerOf, type RouteResult, type WebSocketEvent } from './lib/events.js';
import { jobsConfigFromEnv, releaseConnection } from './lib/jobs.js';
import { logger } from './lib/logger.js';

const connectionsTable = requireEnv('CONNECTIONS_TABLE');
const jobs = jobsConfigFromEnv();

/**
 * `$disconnect`: forgets the connection and gives the jobs it held back to their queues at once. API Gateway runs
 * it best-effort only, so a row it misses is removed by the deliver function on the first 410 Gone, or expires by
 * TTL, and a job it held comes back at its lease's deadline.
 */
export const handler = async (event: WebSocketEvent, context: Context): Promise<RouteResult> => {
  logger.addContext(context);
  const clientId = callerOf(event);
  const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
  if (!clientId) {
    logger.warn('disconnect without a client identity; the row is left to 410 and TTL', { connectionId });
    return { statusCode: 200 };
  }
  const queues = await removeConnection(connectionsTable, clientId, connectionId);
  await releaseConnection(jobs, queues, connectionId);
  logger.info('disconnected', { clientId, connectionId, disconnectStatusCode, disconnectReason, queues });
  return { statusCode: 200 };
};
