import { z } from 'zod';
import { closeByGateway } from '../closeConnection.js';
import type { GatewayContext } from '../context.js';
import { GoneError } from '../errors.js';
import type { ConnectionsOperation, ConnectionsRequest } from './operation.js';

const InputSchema = z.object({ connectionId: z.string().min(1) });
export type DeleteConnectionInput = z.infer<typeof InputSchema>;

/**
 * The close code a client sees after DeleteConnection is unconfirmed for AWS; 1000 (normal closure) is used, and
 * `$disconnect` then runs with it.
 */
export const DELETE_CLOSE_CODE = 1000;

export function validateDeleteConnection(request: ConnectionsRequest): DeleteConnectionInput {
  return InputSchema.parse({ connectionId: request.connectionId });
}

/** Starts closing the connection and answers 204 at once; `$disconnect` follows when the socket has closed. */
export function deleteConnection(input: DeleteConnectionInput, ctx: GatewayContext): void {
  const connection = ctx.connections.open(input.connectionId);
  if (!connection) throw new GoneError(input.connectionId);
  closeByGateway(connection, DELETE_CLOSE_CODE, '');
}

export const DeleteConnection: ConnectionsOperation<DeleteConnectionInput, void> = {
  name: 'DeleteConnection',
  method: 'DELETE',
  successStatus: 204,
  validate: validateDeleteConnection,
  run: deleteConnection,
};
