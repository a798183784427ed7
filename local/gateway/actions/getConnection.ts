import { z } from 'zod';
import type { GatewayContext } from '../context.js';
import { GoneError } from '../errors.js';
import type { ConnectionsOperation, ConnectionsRequest } from './operation.js';

const InputSchema = z.object({ connectionId: z.string().min(1) });
export type GetConnectionInput = z.infer<typeof InputSchema>;

/**
 * The wire body of GetConnection (restJson1, lower-camel keys); the SDK turns it into
 * `{ ConnectedAt: Date, LastActiveAt: Date, Identity: { SourceIp, UserAgent } }`.
 */
export interface GetConnectionWireOutput {
  connectedAt: string;
  lastActiveAt: string;
  identity: { sourceIp: string; userAgent?: string };
}

export function validateGetConnection(request: ConnectionsRequest): GetConnectionInput {
  return InputSchema.parse({ connectionId: request.connectionId });
}

export function getConnection(input: GetConnectionInput, ctx: GatewayContext): GetConnectionWireOutput {
  const connection = ctx.connections.open(input.connectionId);
  if (!connection) throw new GoneError(input.connectionId);
  return {
    connectedAt: new Date(connection.connectedAt).toISOString(),
    lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
    identity: { ...connection.identity },
  };
}

export const GetConnection: ConnectionsOperation<GetConnectionInput, GetConnectionWireOutput> = {
  name: 'GetConnection',
  method: 'GET',
  successStatus: 200,
  validate: validateGetConnection,
  run: getConnection,
};
