import type { GatewayContext } from '../context.js';
import type { WebsocketProxyEvent } from '../events/types.js';
import { callIntegration, timedOut } from '../integration.js';
import type { GatewayRoute } from '../types.js';

export type ConnectOutcome =
  | { accepted: true; protocol?: string }
  | { accepted: false; status: number; message?: string };

/**
 * Runs the `$connect` integration while the upgrade is held
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html).
 * - no `$connect` route → accepted;
 * - a proxy result with a 2xx `statusCode` → accepted, echoing its `Sec-WebSocket-Protocol` header if any
 *   (websocket-connect-route-subprotocol.html); any other `statusCode` → refused with that status (docs: 400;
 *   a public test log shows 301/401/501 passed through);
 * - the function throws → 502 (observed);
 * - a result with no numeric `statusCode` (including `null`) → 502, like a malformed proxy response on REST APIs:
 *   AWS's behaviour is unconfirmed, and refusing keeps a handler that only works here from reaching AWS;
 * - the integration timeout → 504 `Endpoint request timed out` (REST's INTEGRATION_TIMEOUT; unconfirmed here).
 */
export async function runConnect(
  ctx: GatewayContext,
  route: GatewayRoute | undefined,
  event: WebsocketProxyEvent,
): Promise<ConnectOutcome> {
  if (!route) return { accepted: true };
  // The template loader allows MOCK integrations on message routes only.
  if (route.mock) throw new Error('a MOCK integration on $connect is not supported locally');
  const result = await callIntegration(ctx, route.functionId, event);
  if (timedOut(result)) return { accepted: false, status: 504, message: 'Endpoint request timed out' };
  if (!result.ok) return { accepted: false, status: 502, message: 'Internal server error' };
  const response = result.value as { statusCode?: unknown; headers?: unknown } | null;
  const status = response?.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    return { accepted: false, status: 502, message: 'Internal server error' };
  }
  if (status < 200 || status > 299) return { accepted: false, status };
  const protocol = header(response?.headers, 'sec-websocket-protocol');
  return protocol === undefined ? { accepted: true } : { accepted: true, protocol };
}

function header(headers: unknown, lowerName: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === lowerName);
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}
