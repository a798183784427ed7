import { requireEnv } from './lib/env.js';
import { ackMessages, seqsOf } from './lib/inbox.js';
import { ackFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');

/**
 * `ack`: deletes messages from the caller's own inbox, named by `seq` (what the SDK sends) or by `id`; acking twice,
 * or an unknown id, is harmless.
 */
export const handler = route(ackFrame, async ({ id, ids, seq, seqs }, { clientId }) => {
  const byId = [...new Set([...(id === undefined ? [] : [id]), ...(ids ?? [])])];
  const bySeq = [...new Set([...(seq === undefined ? [] : [seq]), ...(seqs ?? [])])];
  await ackMessages(inboxTable, clientId, [...bySeq, ...(await seqsOf(inboxTable, clientId, byId))]);
  return bySeq.length > 0 ? { type: 'acked', ids: byId, seqs: bySeq } : { type: 'acked', ids: byId };
});
