import { numberEnv, requireEnv } from './lib/env.js';
import { publishFrame } from './lib/protocol.js';
import { acceptMessage } from './lib/publish.js';
import { route } from './lib/route.js';

const queueUrl = requireEnv('INGEST_QUEUE_URL');
const maxPayloadBytes = numberEnv('MAX_PAYLOAD_BYTES', 65_536);

/** `publish`: a message for every subscriber of a topic, accepted once SQS holds it. */
export const handler = route(publishFrame, async ({ topic, payload, id }, { clientId }) => {
  const message = await acceptMessage(queueUrl, maxPayloadBytes, { from: clientId, topic, payload, key: id });
  return { type: 'accepted', id: message.id };
});
