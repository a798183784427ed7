import { createHash, randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

// ulid's own PRNG asks the OS for one byte per character (16 calls per id); drawing from a pooled buffer gives the
// same cryptographic randomness for one call per 256 ids.
const pool = new Uint8Array(4096);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return (pool[next++] as number) / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

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
