import { ProtocolError } from './errors.js';
import { messageIdFor, newSeq } from './ids.js';
import type { Message } from './protocol.js';
import { enqueueMessage } from './queue.js';

export interface Draft {
  from: string;
  payload: unknown;
  topic?: string;
  to?: string;
  /** The publisher's idempotency key. */
  key?: string;
}

/**
 * Accepts a message: checks its size, gives it its id and hands it to the ingest queue. Nothing else happens on
 * the publisher's path, so its latency is one SQS write.
 */
export async function acceptMessage(
  queueUrl: string,
  maxPayloadBytes: number,
  draft: Draft,
  now = Date.now(),
): Promise<Message> {
  const size = Buffer.byteLength(JSON.stringify(draft.payload), 'utf8');
  if (size > maxPayloadBytes)
    throw new ProtocolError('PayloadTooLarge', `payload is ${size} bytes; the limit is ${maxPayloadBytes}`);
  const seq = newSeq(now);
  const message: Message = {
    id: messageIdFor(draft.from, draft.key, seq),
    seq,
    topic: draft.topic,
    to: draft.to,
    from: draft.from,
    payload: draft.payload,
    publishedAt: new Date(now).toISOString(),
  };
  await enqueueMessage(queueUrl, message);
  return message;
}
