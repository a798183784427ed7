import { type ConnectOptions, PostboxClient, type WebSocketConstructor } from './client.js';
import { PostboxError } from './errors.js';

export * from './index.js';

// A bundler that resolved the 'node' condition for a browser build would pull `ws` in, which cannot work there.
if (typeof (globalThis as { document?: unknown }).document !== 'undefined')
  throw new PostboxError(
    'Unsupported',
    "postbox's node entry was loaded in a browser: let your bundler use the 'browser' export condition, or load /postbox.js",
  );

/**
 * Opens a Postbox client on `url` from Node: Node's global WebSocket (Node 22+), or the `ws` package where there is
 * none (Node 20; `npm install ws`). It connects, and reconnects, by itself; install handlers right away.
 *
 * @example
 * const client = connect('ws://127.0.0.1:3001', { token });
 * await client.subscribe('pickup', async (message) => console.log(message.payload));
 */
export function connect(url: string, options: ConnectOptions): PostboxClient {
  return new PostboxClient(url, options, () => webSocketClass(options));
}

async function webSocketClass(options: ConnectOptions): Promise<WebSocketConstructor> {
  if (options.WebSocket) return options.WebSocket;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  try {
    const ws = (await import('ws')) as unknown as { WebSocket: WebSocketConstructor };
    return ws.WebSocket;
  } catch (error) {
    throw new PostboxError('Unsupported', 'this Node has no global WebSocket (Node 22+ has): npm install ws', {
      cause: error,
    });
  }
}
