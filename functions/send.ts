import { numberEnv, requireEnv } from './lib/env.js';
import { sendFrame } from './lib/protocol.js';
import { acceptMessages } from './lib/publish.js';
import { route } from './lib/route.js';

const queueUrl = requireEnv('INGEST_QUEUE_URL');
const maxPayloadBytes = numberEnv('MAX_PAYLOAD_BYTES', 65_536);

/** `send`: a message for one client's inbox, accepted once SQS holds it, whether or not that client is online. */
export const handler = route(
  sendFrame,
  async ({ to, payload, id }, { clientId }) => {
    const [message] = await acceptMessages(queueUrl, maxPayloadBytes, [{ from: clientId, to, payload, key: id }]);
    return { type: 'accepted', id: message?.id ?? '' };
  },
  ({ to }) => [['send', to]],
);
