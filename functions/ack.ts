import { requireEnv } from './lib/env.js';
import { ackMessages } from './lib/inbox.js';
import { ackFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');

/** `ack`: deletes messages from the caller's own inbox; acking twice, or an unknown id, is harmless. */
export const handler = route(ackFrame, async ({ id, ids }, { clientId }) => {
  const acked = [...new Set([...(id === undefined ? [] : [id]), ...(ids ?? [])])];
  await ackMessages(inboxTable, clientId, acked);
  return { type: 'acked', ids: acked };
});
