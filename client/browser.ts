import { type ConnectOptions, PostboxClient, type WebSocketConstructor } from './client.js';
import { PostboxError } from './errors.js';

export * from './index.js';

/**
 * Opens a Postbox client on `url` (`ws://127.0.0.1:3001` locally, the stack's `WebSocketUrl` on AWS) with the
 * browser's WebSocket. It connects, and reconnects, by itself; install handlers right away.
 *
 * @example
 * const client = connect('ws://127.0.0.1:3001', { getToken: () => fetch('/token').then((r) => r.text()) });
 * await client.subscribe('pickup', (message) => render(message.payload));
 */
export function connect(url: string, options: ConnectOptions): PostboxClient {
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocket)
    throw new PostboxError(
      'Unsupported',
      "postbox's browser entry found no WebSocket here: in Node, import the package's node entry (the 'node' export condition), or pass options.WebSocket",
    );
  return new PostboxClient(url, options, async () => WebSocket);
}
