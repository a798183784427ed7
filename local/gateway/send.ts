import type { WebSocket } from 'ws';
import type { Connection } from './connections.js';
import type { GatewayContext } from './context.js';

/**
 * Sends one text message to a client, split into frames of at most the frame quota: API Gateway fragments
 * anything over 32 KB it sends, `@connections` posts included (WebSocket quotas page). Records a `push`.
 */
export function sendText(ctx: GatewayContext, connection: Connection & { socket: WebSocket }, data: string): void {
  const bytes = Buffer.from(data, 'utf8');
  const size = ctx.limits.maxFrameBytes;
  if (bytes.length <= size) {
    connection.socket.send(bytes, { binary: false });
  } else {
    for (let offset = 0; offset < bytes.length; offset += size) {
      const fin = offset + size >= bytes.length;
      connection.socket.send(bytes.subarray(offset, offset + size), { binary: false, fin });
    }
  }
  connection.lastActiveAt = ctx.deps.now();
  ctx.spy.emit({ kind: 'push', connectionId: connection.id, data });
}

/**
 * API Gateway's own error frames, byte for byte as observed (note the one space after `"message":`):
 * `{"message": "Forbidden", "connectionId":"…", "requestId":"…"}` (aws-samples/simple-websockets-chat-app#24).
 */
export function gatewayFrame(message: string, connectionId: string, requestId: string): string {
  const json = JSON.stringify;
  return `{"message": ${json(message)}, "connectionId":${json(connectionId)}, "requestId":${json(requestId)}}`;
}
