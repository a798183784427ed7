import type { GatewayContext } from '../context.js';

/** A `@connections` request once the router has matched `/{stage}/@connections/{connectionId}`. */
export interface ConnectionsRequest {
  connectionId: string;
  body: Buffer;
}

/**
 * One Management API operation: its HTTP binding and success status from the Smithy model
 * (`apigatewaymanagementapi.json`: POST 200, GET 200, DELETE 204) and the action, which throws `GatewayError`s in
 * AWS's order. The router has already matched a non-empty connectionId and read the body.
 */
export interface ConnectionsOperation<Output> {
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly successStatus: number;
  run(request: ConnectionsRequest, ctx: GatewayContext): Output;
}
