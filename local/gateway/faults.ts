import { type GatewayError, LimitExceededError } from './errors.js';

/** What a test asks the local `@connections` API to get wrong. */
export interface PostFault {
  /** Only posts to this connection; any connection when omitted. */
  connectionId?: string;
  /** How many posts fail before posts succeed again. @default 1 */
  times?: number;
  /** How many posts get through before the failures begin: a page's second frame, say. @default 0 */
  after?: number;
  /** The error AWS would answer with. @default 429 LimitExceededException (throttling) */
  error?: () => GatewayError;
}

/**
 * Faults the local `@connections` API injects on request, for the failures AWS shows that a healthy emulator does
 * not: a post answered 429 while the connection is open, as API Gateway does when its account-wide rate is hit, or
 * a post that takes long to answer.
 */
export class ConnectionFaults {
  readonly #failures: Due<() => GatewayError>[] = [];
  readonly #delays: Due<number>[] = [];

  /** Makes the next `times` posts (to `connectionId`, or to any connection) fail with `error`. */
  failPosts(fault: PostFault = {}): void {
    this.#failures.push(due(fault, fault.error ?? (() => new LimitExceededError())));
  }

  /** Makes the next `times` posts (to `connectionId`, or any) answer only after `ms`, the frame sent then. */
  delayPosts(fault: { connectionId?: string; times?: number; after?: number; ms: number }): void {
    this.#delays.push(due(fault, fault.ms));
  }

  /** Throws the fault a post to `connectionId` is due, if any. */
  checkPost(connectionId: string): void {
    const error = take(this.#failures, connectionId);
    if (error) throw error();
  }

  /** How long a post to `connectionId` is to be held, if at all. */
  delayOf(connectionId: string): number {
    return take(this.#delays, connectionId) ?? 0;
  }
}

/** A fault for the next `times` posts to one connection (or to any). */
interface Due<T> {
  connectionId?: string;
  times: number;
  after: number;
  value: T;
}

function due<T>(fault: { connectionId?: string; times?: number; after?: number }, value: T): Due<T> {
  return { connectionId: fault.connectionId, times: fault.times ?? 1, after: fault.after ?? 0, value };
}

/** The value of the first fault due for a post to `connectionId`, counting the post against it. */
function take<T>(list: Due<T>[], connectionId: string): T | undefined {
  const fault = list.find((f) => f.connectionId === undefined || f.connectionId === connectionId);
  if (!fault) return undefined;
  if (fault.after > 0) {
    fault.after -= 1;
    return undefined;
  }
  fault.times -= 1;
  if (fault.times <= 0) list.splice(list.indexOf(fault), 1);
  return fault.value;
}
