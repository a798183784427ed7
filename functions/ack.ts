import { requireEnv } from './lib/env.js';
import { ackPositions, parsePosition, positionsOfIds } from './lib/inbox.js';
import { ackFrame } from './lib/protocol.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');

/**
 * `ack`: removes messages from the caller's own inbox, named by the `seq` of their frames (what the SDK sends: no
 * read needed) or by `id` (looked up first); acking twice, or an unknown id, is harmless.
 */
export const handler = route(ackFrame, async ({ id, ids, seq, seqs }, { clientId }) => {
  const byId = [...new Set([...(id === undefined ? [] : [id]), ...(ids ?? [])])];
  const bySeq = [...new Set([...(seq === undefined ? [] : [seq]), ...(seqs ?? [])])];
  // A seq that is not a position (an older client's) names its message as an id would.
  const positions = bySeq.filter((s) => parsePosition(s) !== undefined);
  const lookups = [...byId, ...bySeq.filter((s) => parsePosition(s) === undefined)];
  await ackPositions(inboxTable, clientId, [...positions, ...(await positionsOfIds(inboxTable, clientId, lookups))]);
  return bySeq.length > 0 ? { type: 'acked', ids: byId, seqs: bySeq } : { type: 'acked', ids: byId };
});
