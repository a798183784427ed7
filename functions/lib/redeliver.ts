import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { catchUp } from './catchup.js';
import { dynamo } from './clients.js';
import { connectionsOf, type Hold, heldCount, releaseConnection } from './connections.js';
import { type Page, pageItem } from './inbox.js';
import { checkLeases, type JobsConfig, readyTimer, reportQueue } from './jobs.js';
import { logger } from './logger.js';
import { syncedFrame } from './protocol.js';
import { pushFrame } from './push.js';
import { enqueueCatchUp, enqueueChecks, jsonOfPush, type PushBody, type PushTarget } from './queue.js';

export interface RedeliverConfig {
  inboxTable: string;
  connectionsTable: string;
  messageTtlSeconds: number;
  callbackUrl: string;
  pushQueueUrl: string;
  ackDeadlineSeconds: number;
  /** Sends of a message to live connections, in all, after which it waits for the next connect or replay. */
  maxAttempts: number;
  /** Pending messages an inbox keeps at most; a catch-up drops the oldest beyond it. */
  maxPending: number;
  /** A catch-up that meets Gone on a connection younger than this tries again: it may still be in $connect. */
  goneGraceMs: number;
  jobs: JobsConfig;
}

export interface PushRecord {
  messageId: string;
  body: string;
}

/**
 * Handles a batch of push records and returns the SQS message ids to retry:
 *
 * - `connected`: the catch-up of a new connection: everything pending, oldest first, then `synced`; Gone while the
 *   connection is young (still in $connect) asks for the catch-up again a second later.
 * - `check`: what each connection was pushed up to `upTo`, still unacked, and sent fewer than `maxAttempts` times, is
 *   pushed again; if anything was, another check follows after the ack deadline. Gone ends it: the client's next
 *   connect catches up.
 *
 * - `write`: an inbox page deliver could not write; written now, then the recipient's live connections are pushed
 *   what is pending up to `upTo` (older pending messages too: the client drops what it already has).
 *
 * - `leases`, `ready` and `watch`: work-queue timers: lease deadlines, the ends of delays, the queues' reports (see
 *   jobs.ts).
 *
 * Whatever is pushed is followed by a check after the ack deadline.
 */
export async function redeliverBatch(records: PushRecord[], config: RedeliverConfig): Promise<string[]> {
  const failed: string[] = [];
  const again: PushTarget[] = [];
  const leaseTimers: { record: PushRecord; timer: Extract<PushBody, { kind: 'leases' }> }[] = [];
  await Promise.all(
    records.map(async (record) => {
      const body = jsonOfPush(record.body);
      if (!body) {
        logger.error('unreadable push record', { sqsMessageId: record.messageId });
        failed.push(record.messageId);
        return;
      }
      try {
        if (body.kind === 'connected') {
          const pushed = await catchUpConnection(body.target, config);
          if (pushed) again.push(pushed);
        } else if (body.kind === 'write') {
          again.push(...(await writeLate(body.page, body.upTo, config)));
        } else if (body.kind === 'leases') {
          leaseTimers.push({ record, timer: body });
        } else if (body.kind === 'ready') {
          await readyTimer(config.jobs, body.queue, body.at);
        } else if (body.kind === 'watch') {
          await reportQueue(config.jobs, body.queue, body.at);
        } else {
          const results = await Promise.all(
            body.targets.map((target) =>
              target.held === undefined ? recheck(target, config) : release(target, config),
            ),
          );
          again.push(...results.filter((t): t is PushTarget => t !== undefined));
        }
      } catch (err) {
        logger.error('push record failed', { sqsMessageId: record.messageId, error: err as Error });
        failed.push(record.messageId);
      }
    }),
  );
  // The batch's lease deadlines together: one read for all of them.
  if (leaseTimers.length > 0)
    await checkLeases(
      config.jobs,
      leaseTimers.map((t) => t.timer),
    ).catch((err: unknown) => {
      logger.error('lease timers failed', err as Error);
      failed.push(...leaseTimers.map((t) => t.record.messageId));
    });
  if (again.length > 0) await enqueueChecks(config.pushQueueUrl, again, config.ackDeadlineSeconds);
  return failed;
}

/** A catch-up; returns the target to check after the ack deadline when it sent anything. */
async function catchUpConnection(target: PushTarget, config: RedeliverConfig): Promise<PushTarget | undefined> {
  const { clientId, connectionId, connectedAt } = target;
  const caughtUp = await catchUp(config.inboxTable, config.callbackUrl, clientId, connectionId, {
    cap: config.maxPending,
  });
  const { count, dropped } = caughtUp;
  const synced = JSON.stringify(syncedFrame(count, dropped));
  const gone = caughtUp.gone || (await pushFrame(config.callbackUrl, connectionId, synced)) === 'gone';
  logger.info('caught up', { clientId, connectionId, count, gone });
  if (gone) {
    // API Gateway answers 410 until $connect has returned; a connection that old is really gone.
    if (connectedAt !== undefined && Date.now() - connectedAt < config.goneGraceMs)
      await enqueueCatchUp(config.pushQueueUrl, target);
    return undefined;
  }
  return count > 0 ? { clientId, connectionId, connectedAt } : undefined;
}

/** A check; returns the target to check again when it pushed anything. */
async function recheck(
  target: PushTarget,
  config: RedeliverConfig,
  /** What is pending may never have been sent (a page written late): `attempt` counts from 0. */
  unsent = false,
): Promise<PushTarget | undefined> {
  const { clientId, connectionId, upTo } = target;
  const { count, gone } = await catchUp(config.inboxTable, config.callbackUrl, clientId, connectionId, {
    upTo,
    maxAttempts: config.maxAttempts,
    unsent,
  });
  if (count > 0) logger.info('pushed again', { clientId, connectionId, count, gone });
  return count > 0 && !gone ? target : undefined;
}

/** A held check passes over the inbox again at most this often before it waits a second and starts over. */
const RELEASE_ROUNDS = 3;
/** A held check that could not finish tries again this soon (as deliver's retry after a failed push). */
const HELD_RETRY_SECONDS = 1;

/**
 * A held check (connections.ts, holdConnection): pushes everything pending, oldest first, then releases the
 * connection, unless a deliver skipped a push meanwhile (the hold's count moved): then it passes again over what it
 * has not pushed yet. One that follows a page written late (`late`) takes that page off the hold as it releases.
 * A check that cannot finish (a push or a request fails, or publishers keep outpacing it) tries again a second
 * later, `maxAttempts` times in all; then it releases the hold it read whatever its count (not a newer one, which
 * has a check of its own), pushes once more what came meanwhile, and what it cannot push waits for the next
 * connect. Gone releases it too. Returns the target to check after the ack deadline when it pushed anything.
 */
async function release(
  target: PushTarget,
  config: RedeliverConfig,
  /** Whether what is pending was sent before (after a failed push), so `attempt` counts from 1. */
  sentBefore = true,
): Promise<PushTarget | undefined> {
  const { clientId, connectionId, connectedAt } = target;
  const table = config.connectionsTable;
  const sent = new Set<string>();
  let last: string | undefined;
  let hold: Hold | undefined;
  const pass = async () => {
    const result = await catchUp(config.inboxTable, config.callbackUrl, clientId, connectionId, {
      maxAttempts: config.maxAttempts,
      unsent: !sentBefore,
      skip: sent,
    });
    for (const start of result.pages) sent.add(start);
    last = result.last ?? last;
    return result;
  };
  const pushed = (): PushTarget | undefined =>
    last === undefined ? undefined : { clientId, connectionId, connectedAt, upTo: last };
  try {
    for (let round = 0; round < RELEASE_ROUNDS; round++) {
      hold = await heldCount(table, clientId, connectionId);
      // Released by another check of the same connection (SQS may deliver one twice), or closed.
      if (hold === undefined)
        return round > 0
          ? pushed()
          : recheck({ clientId, connectionId, connectedAt, upTo: target.upTo }, config, !sentBefore);
      if ((await pass()).gone) {
        await releaseConnection(table, clientId, connectionId);
        return undefined;
      }
      if (await releaseConnection(table, clientId, connectionId, { count: hold.count, latePage: target.late })) {
        logger.info('held connection released', { clientId, connectionId, rounds: round + 1 });
        return pushed();
      }
    }
    logger.warn('held connection outpaced; passing again shortly', { clientId, connectionId });
  } catch (err) {
    logger.warn('held check failed; trying again shortly', { clientId, connectionId, error: err as Error });
  }
  const tries = (target.held ?? 0) + 1;
  try {
    if (tries < config.maxAttempts) {
      await enqueueChecks(config.pushQueueUrl, [{ ...target, held: tries }], HELD_RETRY_SECONDS);
      return pushed();
    }
    logger.warn('held connection released after its last try', { clientId, connectionId });
    if (hold) await releaseConnection(table, clientId, connectionId, { at: hold.at });
    // A deliver that skipped a push just before the release has written its page: it goes out now.
    await pass();
  } catch (err) {
    // Each push skipped meanwhile has a check of its own coming (deliver.ts, skipHeld), which tries again.
    logger.error('held check gave up', { clientId, connectionId, error: err as Error });
  }
  return pushed();
}

/**
 * Writes a page deliver could not, then pushes the recipient's live connections what is pending and releases the
 * holds deliver put on them meanwhile (as a held check does; one not held gets what is pending up to `upTo`).
 * Returns the connections to check after the ack deadline.
 */
async function writeLate(page: Page, upTo: string, config: RedeliverConfig): Promise<PushTarget[]> {
  await dynamo.send(
    new PutCommand({
      TableName: config.inboxTable,
      Item: pageItem(page, JSON.stringify(page.messages), config.messageTtlSeconds),
    }),
  );
  const pushed: PushTarget[] = [];
  for (const { clientId, connectionId, connectedAt } of await connectionsOf(config.connectionsTable, page.clientId)) {
    const target = await release(
      { clientId, connectionId, connectedAt, upTo, held: 0, late: page.start },
      config,
      false,
    );
    if (target) pushed.push(target);
  }
  logger.info('inbox page written late', { clientId: page.clientId, seq: page.start, connections: pushed.length });
  return pushed;
}
