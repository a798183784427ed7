import { type Pending, pendingMessages, recordAttempt } from './inbox.js';
import { pushMessages } from './push.js';

export interface CatchUpOptions {
  /** Only messages at or before this seq. */
  upTo?: string;
  /**
   * Only messages sent fewer times than this; they were all sent at least once already (the first live push is not
   * recorded), so the count goes on from there. Without it every pending message is sent, however often it was.
   */
  maxAttempts?: number;
}

export interface CatchUpResult {
  /** Messages sent to the connection, oldest first. */
  count: number;
  /** The connection went away part-way; what was not sent stays in the inbox. */
  gone: boolean;
}

/** Messages pushed per round: enough to fill frames, few enough that one connection does not hold a large inbox. */
const CHUNK = 50;

/**
 * Sends a client's pending messages to one of its connections, oldest first, in as few frames as fit, and records
 * each send's `attempt`. The caller ends a full catch-up with `synced`.
 */
export async function catchUp(
  inboxTable: string,
  callbackUrl: string,
  clientId: string,
  connectionId: string,
  options: CatchUpOptions = {},
): Promise<CatchUpResult> {
  let count = 0;
  let chunk: Pending[] = [];
  const flush = async (): Promise<boolean> => {
    const items = chunk.map(({ message, attempt }) => ({
      message,
      attempt: (options.maxAttempts === undefined ? attempt : Math.max(attempt, 1)) + 1,
    }));
    chunk = [];
    const { sent, gone } = await pushMessages(callbackUrl, connectionId, items);
    await Promise.all(
      items.slice(0, sent).map(({ message, attempt }) => recordAttempt(inboxTable, clientId, message.seq, attempt)),
    );
    count += sent;
    return gone;
  };
  for await (const pending of pendingMessages(inboxTable, clientId, options.upTo)) {
    if (options.maxAttempts !== undefined && Math.max(pending.attempt, 1) >= options.maxAttempts) continue;
    chunk.push(pending);
    if (chunk.length >= CHUNK && (await flush())) return { count, gone: true };
  }
  if (chunk.length > 0 && (await flush())) return { count, gone: true };
  return { count, gone: false };
}
