/**
 * The frame a two-way route sends back for a Lambda proxy result (apigateway-websocket-api-route-response.html):
 * - `{ statusCode, body }` → `body` when it is a string (observed), whatever the status (two-way with a non-2xx
 *   status is unconfirmed; the body is forwarded); no `body` → nothing;
 * - any other value (a plain string or object, no `statusCode`) → the function's JSON response payload as-is,
 *   i.e. `JSON.stringify(value)` (so a returned string arrives quoted). This mirrors HTTP APIs, which treat a
 *   result without `statusCode` as the body; for WebSocket APIs it is unconfirmed;
 * - `null`/`undefined` → nothing.
 */
export function routeResponseFrame(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object' && 'statusCode' in value) {
    const body = (value as { body?: unknown }).body;
    return typeof body === 'string' ? body : undefined;
  }
  return JSON.stringify(value);
}
