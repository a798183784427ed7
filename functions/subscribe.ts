import { requireEnv } from './lib/env.js';
import { subscribeFrame } from './lib/protocol.js';
import { route } from './lib/route.js';
import { subscribe } from './lib/subscriptions.js';

const subscriptionsTable = requireEnv('SUBSCRIPTIONS_TABLE');

/** `subscribe`: a durable subscription of the caller (not of this connection) to a topic. */
export const handler = route(subscribeFrame, async ({ topic }, { clientId }) => {
  await subscribe(subscriptionsTable, topic, clientId);
  return { type: 'subscribed', topic };
});
