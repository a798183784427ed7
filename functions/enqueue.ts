import { numberEnv } from './lib/env.js';
import { ProtocolError } from './lib/errors.js';
import { enqueueJobs, jobsConfigFromEnv } from './lib/jobs.js';
import { enqueueFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const config = jobsConfigFromEnv();
const maxPayloadBytes = numberEnv('MAX_PAYLOAD_BYTES', 65_536);

/**
 * `enqueue`: a job (or, with `jobs`, up to ten) for one consumer of a work queue, accepted once it is stored
 * (DynamoDB), then offered at once to a consumer with room, or when its delay is over. The same `id` on the same
 * queue never makes a second job.
 */
export const handler = route(
  enqueueFrame,
  async ({ queue, payload, id, delaySeconds, jobs }, { clientId }) => {
    const drafts = (jobs ?? [{ payload, id, delaySeconds }]).map((job, i) => {
      const size = Buffer.byteLength(JSON.stringify(job.payload), 'utf8');
      const field = jobs ? `jobs.${i}.payload` : 'payload';
      if (size > maxPayloadBytes)
        throw new ProtocolError('PayloadTooLarge', `${field} is ${size} bytes; the limit is ${maxPayloadBytes}`);
      return { queue, payload: job.payload, from: clientId, key: job.id, delaySeconds: job.delaySeconds };
    });
    const ids = await enqueueJobs(config, drafts);
    return jobs ? { type: 'accepted', ids } : { type: 'accepted', id: ids[0] ?? '' };
  },
  ({ queue }) => [['enqueue', queue]],
);
