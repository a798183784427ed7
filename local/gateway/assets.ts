import type { IncomingMessage, ServerResponse } from 'node:http';

/** A file the gateway's HTTP port serves as it is, by path. */
export interface StaticAsset {
  body: string | Uint8Array;
  contentType: string;
}

/** Assets by URL path (`/postbox.js`); the query string is not part of the match. */
export type StaticAssets = ReadonlyMap<string, StaticAsset>;

/**
 * Answers a GET or HEAD for one of `assets` and returns true; anything else is left to the Management API router.
 * Not an AWS behaviour: API Gateway's WebSocket endpoint serves no files. Locally it lets a page and the browser
 * SDK come from the same origin as the socket, as socket.io serves its client.
 */
export function serveAsset(assets: StaticAssets | undefined, req: IncomingMessage, res: ServerResponse): boolean {
  if (!assets || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const asset = assets.get(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (!asset) return false;
  const body = typeof asset.body === 'string' ? Buffer.from(asset.body) : asset.body;
  res.writeHead(200, {
    'Content-Type': asset.contentType,
    'Content-Length': body.byteLength,
    // Rebuilt at each start: a cached copy would hide a change to the SDK.
    'Cache-Control': 'no-cache',
    // Public files: a page on another origin may import the bundle (module scripts are fetched with CORS).
    'Access-Control-Allow-Origin': '*',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
