import { z } from 'zod';
import { ProtocolError } from './errors.js';

/** Every route the client can name in `action`; anything else lands on `$default`. */
export const ACTIONS = [
  'subscribe',
  'unsubscribe',
  'publish',
  'send',
  'ack',
  'replay',
  'enqueue',
  'consume',
  'cancel',
  'nack',
  'extend',
  'heartbeat',
] as const;

/**
 * The answer to `{"action":"heartbeat"}`, which API Gateway gives by itself (a MOCK integration, no Lambda): a
 * client frame keeps the connection inside the 10-minute idle limit, and the answer proves the path alive. A MOCK
 * integration does not see the frame, so the answer carries no `ref`.
 */
export const HEARTBEAT_REPLY = { type: 'heartbeat' } as const;

/** The longest `ref` a frame may carry; the reply echoes it. */
export const MAX_REF_LENGTH = 256;
const ref = z.string().max(MAX_REF_LENGTH).optional();
/** What a topic or queue name may be made of (1–128 of them). */
export const NAME_PATTERN = /^[A-Za-z0-9_.:/-]+$/;
const topic = z.string().min(1).max(128).regex(NAME_PATTERN, 'use letters, digits and _ . : / - only');
const clientId = z.string().min(1).max(128);
const messageId = z.string().min(1).max(128);

/**
 * The form of a message frame's `seq`: its inbox page (the first message's publish id, a ULID), the page's size and
 * the message's index in it. Opaque to clients, which compare seqs as text: they sort in inbox order.
 */
export const SEQ_PATTERN = /^([0-9A-HJKMNP-TV-Z]{26})\.(\d\d)\.(\d\d)$/;
// `payload` may be any JSON value but must be present: z.unknown() alone would accept a missing key.
const payload = z.custom<unknown>((value) => value !== undefined, { message: 'is required' });

export const subscribeFrame = z.object({ action: z.literal('subscribe'), topic, ref });
export const unsubscribeFrame = z.object({ action: z.literal('unsubscribe'), topic, ref });
/**
 * Messages one `publish` frame may carry: SendMessageBatch's limit, and what one deliver batch takes. Jobs one
 * `enqueue` frame may carry too.
 */
export const MAX_BATCH_MESSAGES = 10;
export const publishFrame = z
  .object({
    action: z.literal('publish'),
    topic,
    payload: payload.optional(),
    id: messageId.optional(),
    messages: z
      .array(z.object({ payload, id: messageId.optional() }))
      .min(1)
      .max(MAX_BATCH_MESSAGES)
      .optional(),
    ref,
  })
  .refine((f) => f.payload !== undefined || f.messages !== undefined, {
    message: 'is required (or messages: a list of up to 10 {payload, id?})',
    path: ['payload'],
  })
  .refine((f) => f.payload === undefined || f.messages === undefined, {
    message: 'give payload or messages, not both',
    path: ['messages'],
  });
export const sendFrame = z.object({ action: z.literal('send'), to: clientId, payload, id: messageId.optional(), ref });
export const ackFrame = z
  .object({
    action: z.literal('ack'),
    id: messageId.optional(),
    ids: z.array(messageId).min(1).max(100).optional(),
    seq: messageId.optional(),
    seqs: z.array(messageId).min(1).max(100).optional(),
    ref,
  })
  .refine((f) => f.id !== undefined || f.ids !== undefined || f.seq !== undefined || f.seqs !== undefined, {
    message: 'id, ids, seq or seqs is required',
    path: ['id'],
  })
  .refine((f) => (f.ids?.length ?? 0) + (f.seqs?.length ?? 0) <= 100, {
    message: 'at most 100 ids and seqs in all',
    path: ['ids'],
  });
export const replayFrame = z.object({ action: z.literal('replay'), ref });

// ── Work queues ──
const queue = topic;
const jobId = messageId;
const lease = z.string().min(1).max(64);
/** SQS's longest delay of a message; a job's `delaySeconds` and a nack's are bounded by it too. */
export const MAX_DELAY_SECONDS = 900;
/** Jobs one connection may hold at once on one queue. */
export const MAX_PREFETCH = 100;
/** The longest lease an `extend` asks for: SQS's longest visibility timeout, 12 hours. */
export const MAX_EXTEND_SECONDS = 43_200;
const delaySeconds = z.number().int().min(0).max(MAX_DELAY_SECONDS);

const jobDraft = z.object({ payload, id: messageId.optional(), delaySeconds: delaySeconds.optional() });
export const enqueueFrame = z
  .object({
    action: z.literal('enqueue'),
    queue,
    payload: payload.optional(),
    id: messageId.optional(),
    delaySeconds: delaySeconds.optional(),
    jobs: z.array(jobDraft).min(1).max(MAX_BATCH_MESSAGES).optional(),
    ref,
  })
  .refine((f) => f.payload !== undefined || f.jobs !== undefined, {
    message: 'is required (or jobs: a list of up to 10 {payload, id?, delaySeconds?})',
    path: ['payload'],
  })
  .refine(
    (f) => f.jobs === undefined || (f.payload === undefined && f.id === undefined && f.delaySeconds === undefined),
    {
      message: 'give payload (with id, delaySeconds) or jobs, not both',
      path: ['jobs'],
    },
  );
export const consumeFrame = z.object({
  action: z.literal('consume'),
  queue,
  prefetch: z.number().int().min(1).max(MAX_PREFETCH),
  ref,
});
export const cancelFrame = z.object({ action: z.literal('cancel'), queue, ref });
/** `ack` naming a queue completes a job; without `queue` it acks inbox messages (`ackFrame`). */
export const jobAckFrame = z.object({ action: z.literal('ack'), queue, id: jobId, lease, ref });
export const nackFrame = z.object({
  action: z.literal('nack'),
  queue,
  id: jobId,
  lease,
  delaySeconds: delaySeconds.optional(),
  reason: z.string().max(1024).optional(),
  ref,
});
export const extendFrame = z.object({
  action: z.literal('extend'),
  queue,
  id: jobId,
  lease,
  seconds: z.number().int().min(1).max(MAX_EXTEND_SECONDS),
  ref,
});

/** A message as it travels through the queue and sits in an inbox. */
export const messageSchema = z.object({
  id: z.string(),
  seq: z.string(),
  topic: z.string().optional(),
  to: z.string().optional(),
  from: z.string(),
  payload: z.unknown(),
  publishedAt: z.string(),
});
export type Message = z.infer<typeof messageSchema>;

/** Server → client frames. */
export type ServerFrame =
  | { type: 'subscribed' | 'unsubscribed'; topic: string; ref?: string }
  | { type: 'accepted'; id: string; ref?: string }
  | { type: 'accepted'; ids: string[]; ref?: string }
  | { type: 'acked'; ids: string[]; seqs?: string[]; ref?: string }
  | SyncedFrame
  | { type: 'consuming'; queue: string; prefetch: number; ref?: string }
  | { type: 'cancelled'; queue: string; ref?: string }
  | { type: 'completed' | 'released'; queue: string; id: string; ref?: string }
  | { type: 'extended'; queue: string; id: string; deadline: string; ref?: string }
  | { type: (typeof HEARTBEAT_REPLY)['type']; ref?: string }
  | { type: 'error'; code: string; message: string; retryAfterMs?: number; ref?: string };

/** A job leased to the connection it is pushed to, until `deadline`; `attempt` counts its leases, this one included. */
export interface JobFrame {
  type: 'job';
  queue: string;
  id: string;
  lease: string;
  payload: unknown;
  from: string;
  enqueuedAt: string;
  attempt: number;
  deadline: string;
}

/** Closes a catch-up: every message pending when it began has been sent, oldest first; `count` of them. */
export interface SyncedFrame {
  type: 'synced';
  count: number;
  /** Present when the inbox was over its cap: this many of its oldest messages were dropped before the catch-up. */
  dropped?: number;
  ref?: string;
}

export interface MessageFrame {
  type: 'message';
  id: string;
  /** The message's position in the recipient's inbox: catch-ups send in this order; compare as strings. */
  seq: string;
  topic?: string;
  from: string;
  payload: unknown;
  publishedAt: string;
  attempt: number;
}

/** Several messages for one connection in one frame, oldest first (API Gateway bills a frame per 32 KB). */
export interface MessagesFrame {
  type: 'messages';
  items: Omit<MessageFrame, 'type'>[];
}

/** `dropped` only when something was: a client that ignores it sees the frame it always did. */
export function syncedFrame(count: number, dropped = 0): SyncedFrame {
  return dropped > 0 ? { type: 'synced', count, dropped } : { type: 'synced', count };
}

export function messageFrame(message: Message, attempt: number): MessageFrame {
  return {
    type: 'message',
    id: message.id,
    seq: message.seq,
    topic: message.topic,
    from: message.from,
    payload: message.payload,
    publishedAt: message.publishedAt,
    attempt,
  };
}

/** Checks a frame body, already read by `jsonOf`, against a route's schema; a failure names the first wrong field. */
/**
 * How deep a frame may nest (the frame object is level 1). A stored payload sits two or three levels down in an inbox
 * page, and DynamoDB refuses an item nested deeper than 32: refused here, as a bad frame, not at the write.
 */
export const MAX_FRAME_DEPTH = 20;

export function parseFrame<T extends z.ZodType>(json: unknown, schema: T): z.infer<T> {
  if (json === undefined) throw new ProtocolError('BadRequest', 'frame is not valid JSON');
  if (depthOf(json) > MAX_FRAME_DEPTH)
    throw new ProtocolError('BadRequest', `frame: nested deeper than ${MAX_FRAME_DEPTH} levels`);
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : 'frame';
  const missing = issue?.code === 'invalid_type' && valueAt(json, issue.path) === undefined;
  throw new ProtocolError('BadRequest', `${field}: ${missing ? 'is required' : (issue?.message ?? 'is invalid')}`);
}

/** Text parsed as JSON, or undefined when it is not JSON (no JSON text parses to undefined). */
export function jsonOf(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/**
 * The `ref` of a frame, if it carries a string one no longer than the schema allows, so even a rejected frame's
 * error can be matched by the client (a longer one is refused by the schema, not echoed).
 */
export function refOf(json: unknown): string | undefined {
  const value = (json as { ref?: unknown } | null | undefined)?.ref;
  return typeof value === 'string' && value.length <= MAX_REF_LENGTH ? value : undefined;
}

/** Nesting depth of a JSON value (a scalar is 0), without recursion: a hostile frame cannot exhaust the stack. */
function depthOf(json: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[json, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_FRAME_DEPTH) return deepest;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}

function valueAt(json: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], json);
}
