import { ProtocolError } from './errors.js';
import { messageIdFor, newSeq } from './ids.js';
import type { Message } from './protocol.js';
import { enqueueMessages } from './queue.js';

export interface Draft {
  from: string;
  payload: unknown;
  topic?: string;
  to?: string;
  /** The publisher's idempotency key. */
  key?: string;
}

/**
 * Accepts messages of one publisher: checks their sizes, gives each its id and `seq` (in order: the ULIDs of one
 * container only grow), and hands them to the ingest queue in one request. Nothing else happens on the publisher's
 * path, so its latency is one SQS write.
 */
export async function acceptMessages(
  queueUrl: string,
  maxPayloadBytes: number,
  drafts: Draft[],
  now = Date.now(),
): Promise<Message[]> {
  drafts.forEach((draft, i) => {
    const size = Buffer.byteLength(JSON.stringify(draft.payload), 'utf8');
    const field = drafts.length > 1 ? `messages.${i}.payload` : 'payload';
    if (size > maxPayloadBytes)
      throw new ProtocolError('PayloadTooLarge', `${field} is ${size} bytes; the limit is ${maxPayloadBytes}`);
  });
  const messages = drafts.map((draft): Message => {
    const seq = newSeq(now);
    return {
      id: messageIdFor(draft.from, draft.key, seq),
      seq,
      topic: draft.topic,
      to: draft.to,
      from: draft.from,
      payload: draft.payload,
      publishedAt: new Date(now).toISOString(),
    };
  });
  await enqueueMessages(queueUrl, messages);
  return messages;
}
