import { type GatewayError, LimitExceededError } from './errors.js';

/** What a test asks the local `@connections` API to get wrong. */
export interface PostFault {
  /** Only posts to this connection; any connection when omitted. */
  connectionId?: string;
  /** How many posts fail before posts succeed again. @default 1 */
  times?: number;
  /** The error AWS would answer with. @default 429 LimitExceededException (throttling) */
  error?: () => GatewayError;
}

/**
 * Faults the local `@connections` API injects on request, for the failures AWS shows that a healthy emulator does
 * not: a post answered 429 while the connection is open, as API Gateway does when its account-wide rate is hit, or
 * a post that takes long to answer.
 */
export class ConnectionFaults {
  readonly #pending: (Required<Omit<PostFault, 'connectionId'>> & { connectionId?: string })[] = [];

  /** Makes the next `times` posts (to `connectionId`, or to any connection) fail with `error`. */
  failPosts(fault: PostFault = {}): void {
    this.#pending.push({
      connectionId: fault.connectionId,
      times: fault.times ?? 1,
      error: fault.error ?? (() => new LimitExceededError()),
    });
  }

  /** Throws the fault a post to `connectionId` is due, if any. */
  checkPost(connectionId: string): void {
    const fault = this.#pending.find((f) => f.connectionId === undefined || f.connectionId === connectionId);
    if (!fault) return;
    fault.times -= 1;
    if (fault.times <= 0) this.#pending.splice(this.#pending.indexOf(fault), 1);
    throw fault.error();
  }

  readonly #delays: { connectionId?: string; times: number; ms: number }[] = [];

  /** Makes the next `times` posts (to `connectionId`, or any) answer only after `ms`, the frame sent then. */
  delayPosts(fault: { connectionId?: string; times?: number; ms: number }): void {
    this.#delays.push({ connectionId: fault.connectionId, times: fault.times ?? 1, ms: fault.ms });
  }

  /** How long a post to `connectionId` is to be held, if at all. */
  delayOf(connectionId: string): number {
    const delay = this.#delays.find((d) => d.connectionId === undefined || d.connectionId === connectionId);
    if (!delay) return 0;
    delay.times -= 1;
    if (delay.times <= 0) this.#delays.splice(this.#delays.indexOf(delay), 1);
    return delay.ms;
  }

  clear(): void {
    this.#pending.length = 0;
    this.#delays.length = 0;
  }
}
