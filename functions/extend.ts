import { extendLease, jobsConfigFromEnv } from './lib/jobs.js';
import { extendFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const config = jobsConfigFromEnv();

/** `extend`: the lease's deadline becomes `seconds` from now (like SQS's ChangeMessageVisibility), for a job that takes longer. */
export const handler = route(extendFrame, async ({ queue, id, lease, seconds }, { clientId }) => {
  const deadline = await extendLease(config, { queue, id, lease, clientId }, seconds);
  return { type: 'extended', queue, id, deadline: new Date(deadline).toISOString() };
});
