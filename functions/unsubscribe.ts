import { requireEnv } from './lib/env.js';
import { unsubscribeFrame } from './lib/protocol.js';
import { route } from './lib/route.js';
import { unsubscribe } from './lib/subscriptions.js';

const subscriptionsTable = requireEnv('SUBSCRIPTIONS_TABLE');

/** `unsubscribe`: ends the caller's subscription; messages already in its inbox stay until acked. */
export const handler = route(unsubscribeFrame, async ({ topic }, { clientId }) => {
  await unsubscribe(subscriptionsTable, topic, clientId);
  return { type: 'unsubscribed', topic };
});
