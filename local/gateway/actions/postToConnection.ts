import type { GatewayContext } from '../context.js';
import { GoneError, PayloadTooLargeError } from '../errors.js';
import { sendText } from '../send.js';
import type { ConnectionsOperation, ConnectionsRequest } from './operation.js';

/**
 * Sends the raw body to the connection as one text message; 410 if it is not open (or still in `$connect`).
 * `Data` is capped at 131072 bytes by the Smithy model; posts over 32 KB are fine (they go out fragmented).
 */
export function postToConnection({ connectionId, body }: ConnectionsRequest, ctx: GatewayContext): void {
  if (body.length > ctx.limits.maxMessageBytes) throw new PayloadTooLargeError(body.length, ctx.limits.maxMessageBytes);
  const connection = ctx.connections.open(connectionId);
  if (!connection) throw new GoneError(connectionId);
  ctx.faults.checkPost(connectionId);
  sendText(ctx, connection, body.toString('utf8'));
}

export const PostToConnection: ConnectionsOperation<void> = {
  method: 'POST',
  successStatus: 200,
  run: postToConnection,
};
