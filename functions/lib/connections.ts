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
  /** While held: when (epoch ms) the hold began, or was last found stale. */
  heldAt?: number;
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
    connections.push({
      clientId: item.clientId as string,
      connectionId: item.connectionId as string,
      connectedAt: item.connectedAt as number,
      ...(heldOf(item) !== undefined && { held: heldOf(item), heldAt: Number(item.heldAt ?? 0) }),
    });
  }
  return connections;
}

/**
 * Holds a connection's live pushes, after a push to it failed: until the check that follows has pushed it
 * everything pending, oldest first, deliver pushes it nothing and counts what it skipped instead, so a publisher's
 * next message cannot overtake the one that failed. The row keeps two numbers that only grow: `held`, one more for
 * each hold and each skipped push, and `released`, the `held` a check last released at; the connection is held
 * while `held` is greater. (Removing `held` on release would let a check that read an older count release a newer
 * hold.) `heldAt` says when the hold began (`stamp`). `whileHeld` counts a skipped push and returns false,
 * counting nothing, when the connection is not held (the caller then pushes as usual). Returns false too when the
 * connection is no longer recorded.
 */
export async function holdConnection(
  table: string,
  connection: Connection,
  options: { whileHeld?: boolean; stamp?: boolean; now?: number } = {},
): Promise<boolean> {
  const { whileHeld = false, stamp = !whileHeld, now = Date.now() } = options;
  const updated = await updateIfStill({
    TableName: table,
    Key: { clientId: connection.clientId, connectionId: connection.connectionId },
    UpdateExpression: stamp ? 'ADD held :one SET heldAt = :now' : 'ADD held :one',
    ConditionExpression: whileHeld ? HELD : 'attribute_exists(connectionId)',
    ExpressionAttributeValues: { ':one': 1, ...(stamp && { ':now': now }) },
  });
  return updated !== undefined;
}

const HELD = 'attribute_exists(held) AND (attribute_not_exists(released) OR held > released)';

/** A row's hold count while it is held, else undefined. */
function heldOf(item: Record<string, unknown> | undefined): number | undefined {
  if (typeof item?.held !== 'number') return undefined;
  return typeof item.released === 'number' && item.released >= item.held ? undefined : item.held;
}

/** The connection's hold count (strongly consistent), or undefined when it is not held or no longer recorded. */
export async function heldCount(table: string, clientId: string, connectionId: string): Promise<number | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: table,
      Key: { clientId, connectionId },
      ProjectionExpression: 'held, released',
      ConsistentRead: true,
    }),
  );
  return heldOf(Item);
}

/**
 * Ends a hold, if its count is still `count`: a deliver that skipped a push since has written a page the caller's
 * catch-up may not have read, and the caller must catch up again. Without `count`, ends it whatever it is.
 */
export async function releaseConnection(
  table: string,
  clientId: string,
  connectionId: string,
  count?: number,
): Promise<boolean> {
  const released = await updateIfStill({
    TableName: table,
    Key: { clientId, connectionId },
    UpdateExpression: count === undefined ? 'SET released = held' : 'SET released = :count',
    ConditionExpression: count === undefined ? HELD : 'held = :count',
    ...(count !== undefined && { ExpressionAttributeValues: { ':count': count } }),
  });
  return released !== undefined;
}
