import type { GatewayContext } from '../context.js';

/** A `@connections` request once the router has matched `/{stage}/@connections/{connectionId}`. */
export interface ConnectionsRequest {
  connectionId: string;
  body: Buffer;
}

/**
 * One Management API operation: its AWS name, HTTP binding and success status from the Smithy model
 * (`apigatewaymanagementapi.json`: POST 200, GET 200, DELETE 204), an edge validation that turns the raw request
 * into typed input (throwing `GatewayError`s in AWS's order), and the action itself.
 */
export interface ConnectionsOperation<Input, Output> {
  readonly name: string;
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly successStatus: number;
  validate(request: ConnectionsRequest, ctx: GatewayContext): Input;
  run(input: Input, ctx: GatewayContext): Output;
}
