import { requireEnv } from './lib/env.js';
import { consume, jobsConfigFromEnv } from './lib/jobs.js';
import { consumeFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const config = jobsConfigFromEnv();
const connectionsTable = requireEnv('CONNECTIONS_TABLE');

/**
 * `consume`: this connection (not the client: two tabs are two consumers) takes up to `prefetch` of the queue's
 * jobs at a time; consuming again changes `prefetch`. Jobs ready now may be pushed before the `consuming` reply.
 */
export const handler = route(
  consumeFrame,
  async ({ queue, prefetch }, { clientId, connectionId }) => {
    await consume(config, connectionsTable, { queue, prefetch, clientId, connectionId });
    return { type: 'consuming', queue, prefetch };
  },
  ({ queue }) => [['consume', queue]],
);
