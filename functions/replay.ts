import { catchUp } from './lib/catchup.js';
import { requireEnv } from './lib/env.js';
import { replayFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');
const callbackUrl = requireEnv('CALLBACK_URL');

/**
 * `replay`: a catch-up on demand. Sends the caller's unacked messages to this connection, oldest first, and answers
 * `synced` with how many: the route's reply goes out after every push the handler made.
 */
export const handler = route(replayFrame, async (_frame, { clientId, connectionId }) => {
  const { count } = await catchUp(inboxTable, callbackUrl, clientId, connectionId);
  return { type: 'synced', count };
});
