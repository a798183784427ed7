import type { Context } from 'aws-lambda';
import { allows, contextCapabilities } from './lib/capabilities.js';
import { addConnection } from './lib/connections.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { callerOf, type RouteResult, type WebSocketEvent } from './lib/events.js';
import { logger } from './lib/logger.js';
import { enqueueCatchUp } from './lib/queue.js';
import { refreshSubscriptions } from './lib/subscriptions.js';

const connectionsTable = requireEnv('CONNECTIONS_TABLE');
const pushQueueUrl = requireEnv('PUSH_QUEUE_URL');
const subscriptionsTable = requireEnv('SUBSCRIPTIONS_TABLE');
const ttlSeconds = numberEnv('CONNECTION_TTL_SECONDS', 7500);
const subscriptionTtlSeconds = numberEnv('SUBSCRIPTION_TTL_SECONDS', 1_209_600);

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
  // Capabilities this code cannot read (an authorizer result cached from another version) drop nothing: a deleted
  // subscription cannot be brought back.
  const caps = contextCapabilities(event);
  const [, subscriptions] = await Promise.all([
    enqueueCatchUp(pushQueueUrl, { clientId, connectionId, connectedAt }),
    // The client is back: its subscriptions live on, as far as this token allows them. A failure here must not
    // refuse the connection; the next connect tries again, long before they expire.
    refreshSubscriptions(
      subscriptionsTable,
      clientId,
      subscriptionTtlSeconds,
      (topic) => caps === undefined || allows(caps, 'subscribe', topic),
    ).catch((err: unknown) => {
      logger.error('subscriptions not refreshed', err as Error);
      return { refreshed: 0, dropped: [] };
    }),
  ]);
  logger.info('connected', { clientId, connectionId, ...subscriptions });
  return { statusCode: 200 };
};
