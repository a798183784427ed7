import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { queryItems } from './query.js';
import { updateIfStill } from './update.js';

export interface Connection {
  clientId: string;
  connectionId: string;
  connectedAt: number;
  /** Present while the connection is held (see holdConnection): the count of holds and skipped pushes so far. */
  held?: number;
}

/** Records a live connection; it expires by itself a little after API Gateway's 2-hour cap in case $disconnect never comes. */
export async function addConnection(table: string, connection: Connection, ttlSeconds: number): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: table,
      Item: { ...connection, expiresAt: Math.floor(connection.connectedAt / 1000) + ttlSeconds },
    }),
  );
}

/** Forgets a connection; returns the work queues it consumed (whose leases it still holds). */
export async function removeConnection(table: string, clientId: string, connectionId: string): Promise<string[]> {
  const old = await dynamo.send(
    new DeleteCommand({ TableName: table, Key: { clientId, connectionId }, ReturnValues: 'ALL_OLD' }),
  );
  return [...((old.Attributes?.queues as Set<string> | undefined) ?? [])];
}

/**
 * Removes a connection the Management API called Gone, unless it is younger than `graceMs`: API Gateway also
 * answers 410 while the connection's $connect is still running (up to the 29 s integration timeout), and such a
 * connection is about to be live.
 */
export async function removeStaleConnection(
  table: string,
  connection: Connection,
  graceMs: number,
  now = Date.now(),
): Promise<boolean> {
  if (now - connection.connectedAt < graceMs) return false;
  await removeConnection(table, connection.clientId, connection.connectionId);
  return true;
}

/**
 * A client's live connections (one Query on the partition key; rows past their expiry are ignored). The read is
 * strongly consistent: a connection recorded before the lookup began must be in it, since the push after its
 * connect leaves out the messages routed after it was recorded.
 */
export async function connectionsOf(table: string, clientId: string, now = Date.now()): Promise<Connection[]> {
  const connections: Connection[] = [];
  const items = queryItems({
    TableName: table,
    KeyConditionExpression: 'clientId = :c',
    ExpressionAttributeValues: { ':c': clientId },
    ConsistentRead: true,
  });
  for await (const item of items) {
    if (typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= now) continue;
    const hold = holdOf(item);
    connections.push({
      clientId: item.clientId as string,
      connectionId: item.connectionId as string,
      connectedAt: item.connectedAt as number,
      ...(hold && { held: hold.count }),
    });
  }
  return connections;
}

/**
 * Holds a connection's live pushes, after a push to it failed or one of its pages could not be written: until a
 * held check has pushed it everything pending, oldest first, deliver pushes it nothing and counts what it skipped
 * instead, so a publisher's next message cannot overtake the one that failed. The row keeps `held`, one more for
 * each hold and each skipped push, and `released`, the `held` a check last released at: it only grows, so a check
 * that read an older count cannot release a newer hold. `late` names the pages deliver handed to redeliver to write
 * (only the write's own check, once it has written and pushed the page, takes its page off), and `heldAt` when the
 * last hold began. `whileHeld` counts a skipped push and returns false, counting nothing, when the connection is not
 * held (the caller then pushes as usual). Returns false too when the connection is no longer recorded.
 */
export async function holdConnection(
  table: string,
  connection: Connection,
  options: { whileHeld?: boolean; now?: number; latePages?: string[] } = {},
): Promise<boolean> {
  const { whileHeld = false, now = Date.now(), latePages = [] } = options;
  const updated = await updateIfStill({
    TableName: table,
    Key: { clientId: connection.clientId, connectionId: connection.connectionId },
    UpdateExpression: whileHeld
      ? 'ADD held :one'
      : `ADD held :one${latePages.length > 0 ? ', late :late' : ''} SET heldAt = :now`,
    ConditionExpression: whileHeld ? HELD : 'attribute_exists(connectionId)',
    ExpressionAttributeValues: {
      ':one': 1,
      ...(!whileHeld && { ':now': now }),
      ...(!whileHeld && latePages.length > 0 && { ':late': new Set(latePages) }),
    },
  });
  return updated !== undefined;
}

/** Held: skipped pushes or failed ones not yet released, or a page written late not yet written. */
const HELD =
  '(attribute_exists(held) AND (attribute_not_exists(released) OR held > released)) OR attribute_exists(late)';

/** What a held check reads of a row: the count to release at, and the stamp of the hold it is releasing. */
export interface Hold {
  count: number;
  at: number;
}

function holdOf(item: Record<string, unknown> | undefined): Hold | undefined {
  if (typeof item?.held !== 'number') return undefined;
  const late = item.late instanceof Set && item.late.size > 0;
  const released = typeof item.released === 'number' && item.released >= item.held;
  return released && !late ? undefined : { count: item.held, at: Number(item.heldAt ?? 0) };
}

/** The connection's hold (strongly consistent), or undefined when it is not held or no longer recorded. */
export async function heldCount(table: string, clientId: string, connectionId: string): Promise<Hold | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: table,
      Key: { clientId, connectionId },
      ProjectionExpression: 'held, released, heldAt, late',
      ConsistentRead: true,
    }),
  );
  return holdOf(Item);
}

/**
 * Ends a hold. With `count`: only if the count is still that (a deliver that skipped a push since has written a
 * page the caller's catch-up may not have read, and the caller must catch up again), and `latePage`, once written
 * and pushed, stops holding too. With `at`: whatever the count, late pages included, but only the hold stamped
 * then (a newer hold has a check of its own). With neither: whatever it is (the connection is gone).
 */
export async function releaseConnection(
  table: string,
  clientId: string,
  connectionId: string,
  until: { count: number; latePage?: string } | { at: number } | undefined = undefined,
): Promise<boolean> {
  const byCount = until !== undefined && 'count' in until;
  const latePage = byCount ? until.latePage : undefined;
  const released = await updateIfStill({
    TableName: table,
    Key: { clientId, connectionId },
    UpdateExpression: byCount
      ? `SET released = :count${latePage ? ' DELETE late :late' : ''}`
      : 'SET released = held REMOVE late',
    ConditionExpression: byCount
      ? 'held = :count'
      : until !== undefined
        ? 'attribute_exists(held) AND heldAt = :at'
        : 'attribute_exists(held)',
    ...(until !== undefined && {
      ExpressionAttributeValues: byCount
        ? { ':count': until.count, ...(latePage && { ':late': new Set([latePage]) }) }
        : { ':at': until.at },
    }),
  });
  return released !== undefined;
}
