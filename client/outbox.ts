import type { ServerFrame } from '#protocol';
import { PostboxError } from './errors.js';

/** A `publish` or `send` waiting for its `accepted`. */
export interface Outgoing {
  action: 'publish' | 'send';
  /** The topic of a publish, the client of a send. */
  target: string;
  payload: unknown;
  /** The idempotency key: the caller's, or one made here, so a resend after a reconnect is delivered once. */
  id: string;
  bytes: number;
  /** Refused in a batch: sent alone, so one bad message does not refuse its neighbours. */
  alone?: boolean;
  resolve(id: string): void;
  reject(error: PostboxError): void;
}

/** Messages in one `publish` frame: the protocol's limit. */
const MAX_BATCH = 10;
/**
 * A batch stays under this many bytes of payload: API Gateway closes a connection on a frame over 32 KB, and
 * browsers never fragment, so batching must not make a frame too large that alone would have fitted.
 */
const MAX_BATCH_BYTES = 16_384;

/**
 * Publishes and sends, one frame in flight at a time: the server orders a publisher's messages by the order its
 * publish function hands them to SQS, and two frames in flight at once can be handed over in either order. What
 * waits meanwhile for the same topic goes out together as one `messages` batch (fewer frames, fewer invocations).
 */
export class Outbox {
  readonly #waiting: Outgoing[] = [];
  #inFlight: { ref: string; items: Outgoing[] } | undefined;

  get size(): number {
    return this.#waiting.length + (this.#inFlight?.items.length ?? 0);
  }

  push(item: Outgoing): void {
    this.#waiting.push(item);
  }

  /** The next frame to send, if none is in flight; `ref` correlates its reply. */
  next(ref: string): Record<string, unknown> | undefined {
    const head = this.#waiting[0];
    if (this.#inFlight || !head) return undefined;
    const items = [head];
    let bytes = head.bytes;
    for (const item of this.#waiting.slice(1)) {
      if (head.action !== 'publish' || head.alone || items.length === MAX_BATCH) break;
      if (item.action !== 'publish' || item.target !== head.target || item.alone) break;
      if (bytes + item.bytes > MAX_BATCH_BYTES) break;
      items.push(item);
      bytes += item.bytes;
    }
    this.#waiting.splice(0, items.length);
    this.#inFlight = { ref, items };
    const key = head.action === 'publish' ? 'topic' : 'to';
    if (items.length === 1) return { action: head.action, [key]: head.target, payload: head.payload, id: head.id, ref };
    return { action: 'publish', topic: head.target, messages: items.map(({ payload, id }) => ({ payload, id })), ref };
  }

  /** Settles the frame in flight if `frame` answers it; returns whether it did. */
  answer(frame: ServerFrame): boolean {
    const flight = this.#inFlight;
    if (!flight || frame.ref !== flight.ref) return false;
    this.#inFlight = undefined;
    if (frame.type === 'accepted') {
      const ids = 'ids' in frame ? frame.ids : [frame.id];
      flight.items.forEach((item, i) => {
        item.resolve(ids[i] ?? '');
      });
    } else if (frame.type === 'error' && flight.items.length > 1 && BATCH_REFUSALS.has(frame.code)) {
      for (const item of flight.items) item.alone = true;
      this.#waiting.unshift(...flight.items);
    } else {
      const error =
        frame.type === 'error'
          ? PostboxError.fromFrame(frame)
          : new PostboxError('Internal', `unexpected reply ${frame.type} to a publish`, { ref: frame.ref });
      for (const item of flight.items) item.reject(error);
    }
    return true;
  }

  /** The connection dropped: what was in flight goes first again, with the same keys. */
  requeue(): void {
    if (this.#inFlight) this.#waiting.unshift(...this.#inFlight.items);
    this.#inFlight = undefined;
  }

  rejectAll(error: PostboxError): void {
    this.requeue();
    for (const item of this.#waiting.splice(0)) item.reject(error);
  }
}

/** A batch refused for one of its messages: each is tried alone, and only the bad one fails. */
const BATCH_REFUSALS = new Set(['BadRequest', 'PayloadTooLarge']);
