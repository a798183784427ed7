import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { managementApi } from './clients.js';
import { type Message, type MessageFrame, type MessagesFrame, messageFrame } from './protocol.js';

/**
 * Posts one frame (JSON text) to a connection through the Management API. `gone` means API Gateway no longer knows the
 * connection (closed, or its $connect still running); the caller decides what that means for it.
 */
export async function pushFrame(callbackUrl: string, connectionId: string, frame: string): Promise<'sent' | 'gone'> {
  try {
    await managementApi(callbackUrl).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: frame }));
    return 'sent';
  } catch (err) {
    if (err instanceof GoneException) return 'gone';
    throw err;
  }
}

/** API Gateway bills a message out per 32 KB; a frame is filled up to that and no further. */
const FRAME_BILLING_BYTES = 32 * 1024;

export interface Outgoing {
  message: Message;
  attempt: number;
}

/**
 * The frames that carry `items` to one connection, in order: a lone message as a `message` frame, several as
 * `messages` frames each filled up to one 32 KB billing unit (a message larger than that travels alone).
 */
export function framesOf(items: Outgoing[]): { frame: string; count: number }[] {
  const frames: { frame: string; count: number }[] = [];
  let group: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (group.length === 1) frames.push({ frame: `{"type":"message",${(group[0] as string).slice(1)}`, count: 1 });
    else if (group.length > 1)
      frames.push({ frame: `{"type":"messages","items":[${group.join(',')}]}`, count: group.length });
    group = [];
    bytes = 0;
  };
  for (const { message, attempt } of items) {
    const { type: _type, ...item } = messageFrame(message, attempt) satisfies MessageFrame;
    const json = JSON.stringify(item satisfies MessagesFrame['items'][number]);
    const size = Buffer.byteLength(json);
    // 40 bytes cover the `messages` wrapper and the separators.
    if (group.length > 0 && bytes + size + 40 > FRAME_BILLING_BYTES) flush();
    group.push(json);
    bytes += size + 1;
  }
  flush();
  return frames;
}

/**
 * Sends `items` to one connection, oldest first, one frame after another so that they arrive in that order.
 * Returns how many items went out before the connection turned out to be gone; other errors are thrown.
 */
export async function pushMessages(
  callbackUrl: string,
  connectionId: string,
  items: Outgoing[],
): Promise<{ sent: number; gone: boolean }> {
  let sent = 0;
  for (const { frame, count } of framesOf(items)) {
    if ((await pushFrame(callbackUrl, connectionId, frame)) === 'gone') return { sent, gone: true };
    sent += count;
  }
  return { sent, gone: false };
}
