import type { GatewayContext } from '../context.js';
import { GoneError } from '../errors.js';
import type { ConnectionsOperation, ConnectionsRequest } from './operation.js';

/**
 * The wire body of GetConnection (restJson1, lower-camel keys); the SDK turns it into
 * `{ ConnectedAt: Date, LastActiveAt: Date, Identity: { SourceIp, UserAgent } }`.
 */
export interface GetConnectionWireOutput {
  connectedAt: string;
  lastActiveAt: string;
  identity: { sourceIp: string; userAgent?: string };
}

export function getConnection({ connectionId }: ConnectionsRequest, ctx: GatewayContext): GetConnectionWireOutput {
  const connection = ctx.connections.open(connectionId);
  if (!connection) throw new GoneError(connectionId);
  return {
    connectedAt: new Date(connection.connectedAt).toISOString(),
    lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
    identity: { ...connection.identity },
  };
}

export const GetConnection: ConnectionsOperation<GetConnectionWireOutput> = {
  method: 'GET',
  successStatus: 200,
  run: getConnection,
};
