import { z } from 'zod';
import type { GatewayContext } from '../context.js';
import { GoneError, PayloadTooLargeError } from '../errors.js';
import { sendText } from '../send.js';
import type { ConnectionsOperation, ConnectionsRequest } from './operation.js';

const InputSchema = z.object({ connectionId: z.string().min(1), data: z.instanceof(Buffer) });
export type PostToConnectionInput = z.infer<typeof InputSchema>;

/** `Data` is capped at 131072 bytes by the Smithy model; posts over 32 KB are fine (they go out fragmented). */
export function validatePostToConnection(request: ConnectionsRequest, ctx: GatewayContext): PostToConnectionInput {
  const input = InputSchema.parse({ connectionId: request.connectionId, data: request.body });
  if (input.data.length > ctx.limits.maxMessageBytes) {
    throw new PayloadTooLargeError(input.data.length, ctx.limits.maxMessageBytes);
  }
  return input;
}

/** Sends the raw body to the connection as one text message; 410 if it is not open (or still in `$connect`). */
export function postToConnection(input: PostToConnectionInput, ctx: GatewayContext): void {
  const connection = ctx.connections.open(input.connectionId);
  if (!connection) throw new GoneError(input.connectionId);
  sendText(ctx, connection, input.data.toString('utf8'));
}

export const PostToConnection: ConnectionsOperation<PostToConnectionInput, void> = {
  name: 'PostToConnection',
  method: 'POST',
  successStatus: 200,
  validate: validatePostToConnection,
  run: postToConnection,
};
