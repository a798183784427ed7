import { numberEnv, requireEnv } from './lib/env.js';
import { subscribeFrame } from './lib/protocol.js';
import { route } from './lib/route.js';
import { subscribe } from './lib/subscriptions.js';

const subscriptionsTable = requireEnv('SUBSCRIPTIONS_TABLE');
const ttlSeconds = numberEnv('SUBSCRIPTION_TTL_SECONDS', 1_209_600);

/** `subscribe`: a durable subscription of the caller (not of this connection) to a topic, kept while it connects. */
export const handler = route(
  subscribeFrame,
  async ({ topic }, { clientId }) => {
    await subscribe(subscriptionsTable, topic, clientId, ttlSeconds);
    return { type: 'subscribed', topic };
  },
  ({ topic }) => [['subscribe', topic]],
);
