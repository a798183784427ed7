import type { Context } from 'aws-lambda';
import { requireEnv } from './lib/env.js';
import type { WebSocketEvent } from './lib/events.js';
import { ackPositions, parsePosition, positionsOfIds } from './lib/inbox.js';
import { completeJob, jobsConfigFromEnv } from './lib/jobs.js';
import { ackFrame, jobAckFrame, jsonOf } from './lib/protocol.js';
import { route } from './lib/route.js';

const inboxTable = requireEnv('INBOX_TABLE');
const jobs = jobsConfigFromEnv();

/**
 * `ack` of inbox messages: removes them from the caller's own inbox, named by the `seq` of their frames (what the
 * SDK sends: no read needed) or by `id` (looked up first); acking twice, or an unknown id, is harmless.
 */
const ackMessages = route(ackFrame, async ({ id, ids, seq, seqs }, { clientId }) => {
  const byId = [...new Set([...(id === undefined ? [] : [id]), ...(ids ?? [])])];
  const bySeq = [...new Set([...(seq === undefined ? [] : [seq]), ...(seqs ?? [])])];
  // A seq that is not a position (an older client's) names its message as an id would.
  const positions = bySeq.filter((s) => parsePosition(s) !== undefined);
  const lookups = [...byId, ...bySeq.filter((s) => parsePosition(s) === undefined)];
  await ackPositions(inboxTable, clientId, [...positions, ...(await positionsOfIds(inboxTable, clientId, lookups))]);
  return bySeq.length > 0 ? { type: 'acked', ids: byId, seqs: bySeq } : { type: 'acked', ids: byId };
});

/** `ack` naming a `queue`: completes a job under its current lease; a lease that is not current changes nothing. */
const ackJob = route(jobAckFrame, async ({ queue, id, lease }, { clientId }) => {
  await completeJob(jobs, { queue, id, lease, clientId });
  return { type: 'completed', queue, id };
});

/** One route for both acks, as DESIGN.md names them: a frame naming a queue is a job's. */
export const handler = (event: WebSocketEvent, context: Context) => {
  const json = jsonOf(event.body) as { queue?: unknown } | undefined;
  return (json !== null && typeof json === 'object' && 'queue' in json ? ackJob : ackMessages)(event, context);
};
