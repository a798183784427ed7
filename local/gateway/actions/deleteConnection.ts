import { closeByGateway } from '../closeConnection.js';
import type { GatewayContext } from '../context.js';
import { GoneError } from '../errors.js';
import type { ConnectionsOperation, ConnectionsRequest } from './operation.js';

/**
 * The close code a client sees after DeleteConnection is unconfirmed for AWS; 1000 (normal closure) is used, and
 * `$disconnect` then runs with it.
 */
export const DELETE_CLOSE_CODE = 1000;

/** Starts closing the connection and answers 204 at once; `$disconnect` follows when the socket has closed. */
export function deleteConnection({ connectionId }: ConnectionsRequest, ctx: GatewayContext): void {
  const connection = ctx.connections.open(connectionId);
  if (!connection) throw new GoneError(connectionId);
  closeByGateway(connection, DELETE_CLOSE_CODE, '');
}

export const DeleteConnection: ConnectionsOperation<void> = {
  method: 'DELETE',
  successStatus: 204,
  run: deleteConnection,
};
