import { jobsConfigFromEnv, releaseJob } from './lib/jobs.js';
import { nackFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const config = jobsConfigFromEnv();

/**
 * `nack`: gives a leased job back, to be offered again after `delaySeconds` (0: at once), with `reason` kept as its
 * last error; after its last delivery it is dead-lettered instead. A lease that is not current changes nothing.
 */
export const handler = route(nackFrame, async ({ queue, id, lease, delaySeconds, reason }, { clientId }) => {
  await releaseJob(config, { queue, id, lease, clientId }, { delaySeconds, reason });
  return { type: 'released', queue, id };
});
