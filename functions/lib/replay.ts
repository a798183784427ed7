import { pendingMessages, recordAttempt } from './inbox.js';
import { messageFrame } from './protocol.js';
import { pushFrame } from './push.js';

export interface ReplayResult {
  /** Messages sent to the connection, oldest first. */
  count: number;
  /** The connection went away part-way; what was not sent stays in the inbox. */
  gone: boolean;
}

/**
 * Sends a client's unacked messages to one of its connections, oldest first and one at a time so they arrive in
 * order. Each send bumps the message's `attempt`. `routedBefore` limits it to the messages routed before then
 * (see `pendingMessages`).
 */
export async function replayInbox(
  inboxTable: string,
  callbackUrl: string,
  clientId: string,
  connectionId: string,
  routedBefore?: number,
): Promise<ReplayResult> {
  let count = 0;
  for await (const { message, attempt } of pendingMessages(inboxTable, clientId, routedBefore)) {
    const next = attempt + 1;
    if ((await pushFrame(callbackUrl, connectionId, JSON.stringify(messageFrame(message, next)))) === 'gone')
      return { count, gone: true };
    await recordAttempt(inboxTable, clientId, message.id, next);
    count++;
  }
  return { count, gone: false };
}
