import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { closeByGateway } from './closeConnection.js';
import type { Connection } from './connections.js';
import type { GatewayContext } from './context.js';
import { FrameScanner } from './frameScanner.js';
import { runDisconnect } from './lifecycle/disconnect.js';
import { handleMessage } from './lifecycle/message.js';
import { armTimeouts } from './timeouts.js';

/** Close codes for the protocol errors `ws` raises itself (its `maxPayload` is the 128 KB message quota). */
const WS_ERROR_CLOSE_CODES: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
};

/**
 * Runs an accepted connection: quotas (binary → 1003, frame or message too big → 1009, idle and maximum
 * duration → 1001), one background task per text message, and `$disconnect` once the socket has closed.
 */
export function startSession(ctx: GatewayContext, connection: Connection, socket: WebSocket, raw: Duplex): void {
  const open = Object.assign(connection, { socket });
  connection.state = 'open';
  const timeouts = armTimeouts(ctx.limits, () => closeByGateway(connection, 1001, 'Going away'));

  // Prepended so the frame header is seen before `ws` parses (and possibly delivers) the same bytes.
  const scanner = new FrameScanner((frame) => {
    const isData = frame.opcode < 0x8;
    if (isData && frame.length > ctx.limits.maxFrameBytes) closeByGateway(connection, 1009, 'Message too big');
  });
  raw.prependListener('data', (chunk: Buffer) => scanner.push(chunk));

  socket.on('message', (data, isBinary) => {
    if (connection.state !== 'open') return;
    // API Gateway rejects client binary frames with 1003 (websocket-api-develop-binary-media-types.html).
    if (isBinary) return closeByGateway(connection, 1003, 'Binary frames are not supported');
    connection.lastActiveAt = ctx.deps.now();
    timeouts.touch();
    const body = toBuffer(data).toString('utf8');
    ctx.tasks.run(`message on ${connection.id}`, () => handleMessage(ctx, open, body));
  });

  socket.on('error', (error: Error & { code?: string }) => {
    // `ws` closes the socket itself after a protocol error; remember why, for `$disconnect`.
    const code = WS_ERROR_CLOSE_CODES[error.code ?? ''] ?? 1002;
    connection.closedByGateway ??= { code, reason: '' };
    connection.state = 'closing';
  });

  socket.on('close', (code, reason) => {
    timeouts.clear();
    connection.state = 'closing';
    ctx.connections.delete(connection.id);
    const close = connection.closedByGateway ?? { code, reason: reason.toString('utf8') };
    ctx.tasks.run(`$disconnect of ${connection.id}`, () => runDisconnect(ctx, connection, close));
  });

  ctx.spy.emit({ kind: 'connect', connectionId: connection.id, ...clientIdOf(connection) });
}

/** The spy's `clientId`: the authorizer context's `clientId` (Postbox's authorizer sets it), else the principal. */
function clientIdOf(connection: Connection): { clientId?: string } {
  const { clientId, principalId } = connection.authorizer ?? {};
  if (typeof clientId === 'string') return { clientId };
  return typeof principalId === 'string' ? { clientId: principalId } : {};
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
