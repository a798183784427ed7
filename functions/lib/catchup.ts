import { type PendingPage, pendingPages, recordAttempt, trimInbox } from './inbox.js';
import { pushMessages } from './push.js';

export interface CatchUpOptions {
  /** Only pages up to the one of this position. */
  upTo?: string;
  /**
   * Only pages sent fewer times than this; they were all sent at least once already (the first live push is not
   * recorded), so the count goes on from there. Without it every pending message is sent, however often it was.
   */
  maxAttempts?: number;
  /** A full catch-up first drops the oldest messages beyond this many pending (see trimInbox). */
  cap?: number;
  /** Pages (by start) not to send again: a caller's earlier pass sent them. */
  skip?: ReadonlySet<string>;
  /** With `maxAttempts`: the pages may never have been sent (a page written late), so the count goes on from 0. */
  unsent?: boolean;
}

export interface CatchUpResult {
  /** Messages sent to the connection, oldest first. */
  count: number;
  /** The connection went away part-way; what was not sent stays in the inbox. */
  gone: boolean;
  /** Messages dropped because the inbox was over its cap, for `synced` to tell. */
  dropped: number;
  /** The `seq` of the last message sent, if any. */
  last?: string;
  /** The starts of the pages sent whole. */
  pages: string[];
}

/** Messages pushed per round: enough to fill frames, few enough that one connection does not hold a large inbox. */
const CHUNK = 50;

/**
 * Sends a client's pending messages to one of its connections, oldest first, in as few frames as fit, and records
 * each page's `attempt`. The caller ends a full catch-up with `synced`.
 */
export async function catchUp(
  inboxTable: string,
  callbackUrl: string,
  clientId: string,
  connectionId: string,
  options: CatchUpOptions = {},
): Promise<CatchUpResult> {
  const dropped = options.cap === undefined ? 0 : await trimInbox(inboxTable, clientId, options.cap);
  let count = 0;
  let last: string | undefined;
  const sentStarts: string[] = [];
  let chunk: PendingPage[] = [];
  const flush = async (): Promise<boolean> => {
    const pages = chunk.map(({ start, messages, attempt }) => ({
      start,
      messages,
      attempt: (options.maxAttempts === undefined || options.unsent ? attempt : Math.max(attempt, 1)) + 1,
    }));
    chunk = [];
    const items = pages.flatMap(({ messages, attempt }) => messages.map((message) => ({ message, attempt })));
    const { sent, gone } = await pushMessages(callbackUrl, connectionId, items);
    // A page counts as sent once all its messages went out.
    let through = 0;
    const sentPages = pages.filter(({ messages }) => {
      through += messages.length;
      return through <= sent;
    });
    await Promise.all(sentPages.map(({ start, attempt }) => recordAttempt(inboxTable, clientId, start, attempt)));
    sentStarts.push(...sentPages.map(({ start }) => start));
    count += sent;
    if (sent > 0) last = items[sent - 1]?.message.seq;
    return gone;
  };
  let queued = 0;
  for await (const pending of pendingPages(inboxTable, clientId, options.upTo)) {
    if (pending.messages.length === 0 || options.skip?.has(pending.start)) continue;
    const sends = options.unsent ? pending.attempt : Math.max(pending.attempt, 1);
    if (options.maxAttempts !== undefined && sends >= options.maxAttempts) continue;
    chunk.push(pending);
    queued += pending.messages.length;
    if (queued >= CHUNK) {
      queued = 0;
      if (await flush()) return { count, gone: true, dropped, last, pages: sentStarts };
    }
  }
  if (chunk.length > 0 && (await flush())) return { count, gone: true, dropped, last, pages: sentStarts };
  return { count, gone: false, dropped, last, pages: sentStarts };
}
