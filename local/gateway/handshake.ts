import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Connection } from './connections.js';
import type { GatewayContext } from './context.js';
import { authorizerEvent } from './events/authorizerEvent.js';
import { connectEvent } from './events/connectEvent.js';
import { readHandshake } from './events/handshakeRequest.js';
import { newAwsId, newTraceId } from './ids.js';
import { authorize } from './lifecycle/authorize.js';
import { runConnect } from './lifecycle/connect.js';
import { runDisconnect } from './lifecycle/disconnect.js';
import { startSession } from './session.js';

/** Subprotocols chosen by `$connect`, read by the server's `handleProtocols` during `handleUpgrade`. */
export type ChosenProtocols = WeakMap<IncomingMessage, string>;

/**
 * One WebSocket handshake, in API Gateway's order: the upgrade is held while the authorizer (if `$connect` has
 * one) and then the `$connect` integration run; only when both succeed is the upgrade accepted
 * (apigateway-websocket-api-route-keys-connect-disconnect.html). Until then the connection exists as
 * `connecting`, so `@connections` calls for it get 410.
 */
export async function handleUpgrade(
  ctx: GatewayContext,
  wss: WebSocketServer,
  protocols: ChosenProtocols,
  upgrade: { req: IncomingMessage; socket: Duplex; head: Buffer },
): Promise<void> {
  const { req, socket, head } = upgrade;
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || !req.headers['sec-websocket-key']) {
    return refuseUpgrade(socket, 400);
  }
  const now = ctx.deps.now();
  const sourceIp = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const userAgent = req.headers['user-agent'];
  const connection: Connection = {
    id: newAwsId(ctx.deps),
    connectedAt: now,
    lastActiveAt: now,
    identity: userAgent === undefined ? { sourceIp } : { sourceIp, userAgent },
    state: 'connecting',
  };
  ctx.connections.add(connection);
  try {
    const request = readHandshake(req, sourceIp, newTraceId(ctx.deps));
    const ids = { requestId: newAwsId(ctx.deps), requestTimeEpoch: now };
    const route = ctx.api.routes.get('$connect');
    if (route?.authorizer) {
      const where = { region: ctx.region, apiId: ctx.target.apiId, stage: ctx.target.stage };
      const event = authorizerEvent(connectEvent(ctx.target, connection, request, ids), where);
      const outcome = await authorize(ctx, route.authorizer, event);
      if (!outcome.allowed) return refuseUpgrade(socket, outcome.status, outcome.message);
      connection.authorizer = outcome.authorizer;
    }
    const outcome = await runConnect(ctx, route, connectEvent(ctx.target, connection, request, ids));
    if (!outcome.accepted) return refuseUpgrade(socket, outcome.status, outcome.message);
    if (socket.destroyed) {
      // The client gave up while `$connect` ran, after `$connect` recorded the connection: undo it as a drop.
      ctx.tasks.run(`$disconnect of ${connection.id}`, () =>
        runDisconnect(ctx, connection, { code: 1006, reason: '' }),
      );
      return;
    }
    if (outcome.protocol !== undefined) protocols.set(req, outcome.protocol);
    // Synchronous on success: the session (and state `open`) exists before the `finally` below runs.
    wss.handleUpgrade(req, socket, head, (ws) => startSession(ctx, connection, ws, socket));
  } finally {
    if (connection.state === 'connecting') ctx.connections.delete(connection.id);
  }
}

/** Answers the upgrade request with a plain HTTP error, which wscat shows as `Unexpected server response: 403`. */
export function refuseUpgrade(socket: Duplex, status: number, message?: string): void {
  if (socket.destroyed) return;
  const body = message === undefined ? '' : JSON.stringify({ message });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    ...(body ? ['Content-Type: application/json'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
