import { requireEnv } from './lib/env.js';
import { replayFrame } from './lib/protocol.js';
import { replayInbox } from './lib/replay.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');
const callbackUrl = requireEnv('CALLBACK_URL');

/** `replay`: re-sends the caller's unacked messages to this connection, oldest first, then says how many. */
export const handler = route(replayFrame, async (_frame, { clientId, connectionId }) => {
  const { count } = await replayInbox(inboxTable, callbackUrl, clientId, connectionId);
  return { type: 'replayed', count };
});
