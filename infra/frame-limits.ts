import { newSeq } from '../functions/lib/ids.js';
import { positionOf } from '../functions/lib/inbox.js';
import { jobFrame } from '../functions/lib/jobs.js';
import { type Message, messageFrame } from '../functions/lib/protocol.js';

/**
 * API Gateway's cap on one WebSocket message, which is also the `Data` cap of `PostToConnection` in the service's
 * Smithy model (131072 bytes, not adjustable). A push over it fails with PayloadTooLargeException, again at every
 * retry, so a payload that makes one must be refused when it is published.
 */
export const MAX_FRAME_BYTES = 131_072;

/** The longest a name (topic, queue) or a clientId can be: the protocol's and the authorizer's bound. */
const MAX_NAME_LENGTH = 128;
/** The character JSON writes longest: a control character becomes `\u0000`, six bytes for one. */
const WIDEST_CHAR = '\u0000';
/** The longest ISO date `Date` can write (year +275760): wider than any date a frame carries. */
const WIDEST_DATE = new Date(8.64e15).toISOString();
/** Attempts are counted without bound (a connect or replay sends again whatever the count). */
const WIDEST_COUNT = Number.MAX_SAFE_INTEGER;

function envelope(frame: unknown): number {
  // The payload is inserted as the JSON the size check measured (`JSON.stringify(payload)`): `null` stands in for it.
  return Buffer.byteLength(JSON.stringify(frame)) - 'null'.length;
}

/**
 * The most bytes a pushed frame adds around one payload, whatever its ids, names and counts: the larger of a
 * `message` frame's envelope and a `job` frame's, each built by the functions that build the real frames, from the
 * widest values they can carry. A `messages` frame groups items only up to one 32 KB billing unit (a larger message
 * travels alone as a `message` frame), so it never carries a payload near the cap.
 */
export function frameEnvelopeBytes(): number {
  const clientId = WIDEST_CHAR.repeat(MAX_NAME_LENGTH);
  const name = 'n'.repeat(MAX_NAME_LENGTH);
  // A keyed id is a digest, longer than a ULID id.
  const id = `k${'x'.repeat(32)}`;
  const message: Message = {
    id,
    seq: positionOf(newSeq(), 99, 98),
    topic: name,
    from: clientId,
    payload: null,
    publishedAt: WIDEST_DATE,
  };
  const job = jobFrame({
    queue: name,
    key: `j#${id}`,
    id,
    status: 'leased',
    // The protocol's bound on a lease (the server's own are shorter).
    lease: 'l'.repeat(64),
    from: clientId,
    payload: null,
    enqueuedAt: WIDEST_DATE,
    attempt: WIDEST_COUNT,
    deadline: 8.64e15,
    expiresAt: 0,
  });
  return Math.max(envelope(messageFrame(message, WIDEST_COUNT)), envelope(job));
}

export const FRAME_ENVELOPE_BYTES = frameEnvelopeBytes();

/** The largest `maxPayloadBytes` a stack may set: every accepted payload's pushed frame fits in MAX_FRAME_BYTES. */
export const MAX_PAYLOAD_LIMIT = MAX_FRAME_BYTES - FRAME_ENVELOPE_BYTES;
