import { createHash } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** A ULID: unique, and sorting as text sorts by creation time (monotonic within one container). */
export function newSeq(now = Date.now()): string {
  return nextUlid(now);
}

/**
 * The message id: a fresh ULID, or — when the publisher gives an idempotency key — a digest of publisher and key,
 * so a retried publish yields the same id (and the deliver function's duplicate check drops it), while two
 * publishers' keys never collide.
 */
export function messageIdFor(from: string, key: string | undefined, seq: string): string {
  if (key === undefined) return seq;
  return `k${createHash('sha256').update(`${from}\u0000${key}`).digest('base64url').slice(0, 32)}`;
}
