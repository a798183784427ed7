import { cancel, jobsConfigFromEnv } from './lib/jobs.js';
import { cancelFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const config = jobsConfigFromEnv();

/** `cancel`: no more jobs of the queue for this connection; those it holds stay leased to it until acked, nacked or expired. */
export const handler = route(cancelFrame, async ({ queue }, { connectionId }) => {
  await cancel(config, queue, connectionId);
  return { type: 'cancelled', queue };
});
