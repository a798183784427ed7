import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { queryItems } from './query.js';

export interface Connection {
  clientId: string;
  connectionId: string;
  connectedAt: number;
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
    });
  }
  return connections;
}
