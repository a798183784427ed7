import { catchUp } from './lib/catchup.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { replayFrame, syncedFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');
const callbackUrl = requireEnv('CALLBACK_URL');
const maxPending = numberEnv('MAX_PENDING_MESSAGES', 10_000);

/**
 * `replay`: a catch-up on demand. Sends the caller's unacked messages to this connection, oldest first, and answers
 * `synced` with how many: the route's reply goes out after every push the handler made.
 */
export const handler = route(replayFrame, async (_frame, { clientId, connectionId }) => {
  const { count, dropped } = await catchUp(inboxTable, callbackUrl, clientId, connectionId, { cap: maxPending });
  return syncedFrame(count, dropped);
});
