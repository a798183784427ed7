import { numberEnv } from './lib/env.js';
import { ProtocolError } from './lib/errors.js';
import { enqueueJob, jobsConfigFromEnv } from './lib/jobs.js';
import { enqueueFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const config = jobsConfigFromEnv();
const maxPayloadBytes = numberEnv('MAX_PAYLOAD_BYTES', 65_536);

/**
 * `enqueue`: a job for one consumer of a work queue, accepted once it is stored (DynamoDB), then offered at once to
 * a consumer with room, or when its delay is over. The same `id` on the same queue never makes a second job.
 */
export const handler = route(enqueueFrame, async ({ queue, payload, id, delaySeconds }, { clientId }) => {
  const size = Buffer.byteLength(JSON.stringify(payload), 'utf8');
  if (size > maxPayloadBytes)
    throw new ProtocolError('PayloadTooLarge', `payload is ${size} bytes; the limit is ${maxPayloadBytes}`);
  const jobId = await enqueueJob(config, { queue, payload, from: clientId, key: id, delaySeconds });
  return { type: 'accepted', id: jobId };
});
