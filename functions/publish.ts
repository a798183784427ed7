import { numberEnv, requireEnv } from './lib/env.js';
import { publishFrame } from './lib/protocol.js';
import { acceptMessages } from './lib/publish.js';
import { route } from './lib/route.js';

const queueUrl = requireEnv('INGEST_QUEUE_URL');
const maxPayloadBytes = numberEnv('MAX_PAYLOAD_BYTES', 65_536);

/**
 * `publish`: a message (or, with `messages`, up to ten in order) for every subscriber of a topic, accepted once SQS
 * holds it: one request, and one reply, for the whole batch.
 */
export const handler = route(
  publishFrame,
  async ({ topic, payload, id, messages }, { clientId }) => {
    const drafts = (messages ?? [{ payload, id }]).map((m) => ({
      from: clientId,
      topic,
      payload: m.payload,
      key: m.id,
    }));
    const accepted = await acceptMessages(queueUrl, maxPayloadBytes, drafts);
    return messages
      ? { type: 'accepted', ids: accepted.map((m) => m.id) }
      : { type: 'accepted', id: accepted[0]?.id ?? '' };
  },
  ({ topic }) => [['publish', topic]],
);
