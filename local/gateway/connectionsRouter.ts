import type { IncomingMessage, ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { DeleteConnection } from './actions/deleteConnection.js';
import { GetConnection } from './actions/getConnection.js';
import type { ConnectionsOperation } from './actions/operation.js';
import { PostToConnection } from './actions/postToConnection.js';
import type { GatewayContext } from './context.js';
import { ForbiddenError, GatewayError } from './errors.js';

const operations = new Map<string, ConnectionsOperation<unknown>>();
function register(operation: ConnectionsOperation<unknown>): void {
  operations.set(operation.method, operation);
}
register(PostToConnection);
register(GetConnection);
register(DeleteConnection);

/**
 * The Management API: `POST|GET|DELETE /{stage}/@connections/{connectionId}` (`@` may arrive as `%40`, the id is
 * URL-encoded, `=` as `%3D`). No SigV4 check locally. Anything else is 403 ForbiddenException, as AWS answers a
 * URL that names no operation (e.g. a missing stage). Errors of our classes are serialized with
 * `x-amzn-ErrorType`, which the AWS SDK maps to its exception classes; anything else is rethrown.
 */
export async function routeConnections(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const connectionId = matchPath(req.url ?? '/', ctx.api.stage);
    const operation = operations.get(req.method ?? '');
    if (connectionId === undefined || !operation) throw new ForbiddenError();
    const body = await buffer(req);
    const delay = operation === PostToConnection ? ctx.faults.delayOf(connectionId) : 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const output = operation.run({ connectionId, body }, ctx);
    const json = output === undefined ? '' : JSON.stringify(output);
    res.writeHead(operation.successStatus, json ? { 'Content-Type': 'application/json' } : {});
    res.end(json);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    res.writeHead(error.status, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': error.awsName });
    res.end(JSON.stringify({ message: error.message }));
  }
}

/** The decoded connectionId of `/{stage}/@connections/{id}`, or `undefined` for any other path. */
export function matchPath(url: string, stage: string): string | undefined {
  const segments = new URL(url, 'http://localhost').pathname.split('/');
  if (segments.length !== 4 || segments[0] !== '') return undefined;
  const [, first, second, third] = segments.map(decode);
  if (first !== stage || second !== '@connections' || !third) return undefined;
  return third;
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
