import type { IncomingMessage } from 'node:http';

/** The handshake's headers and query, shaped the way API Gateway hands them to `$connect` and the authorizer. */
export interface HandshakeRequest {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  /** Absent when the URL had no query, as in recorded `$connect` events. */
  query?: { single: Record<string, string>; multi: Record<string, string[]> };
}

/**
 * Reads the upgrade request. Header names keep the client's casing (`Sec-WebSocket-Key`), as in recorded events;
 * for repeated headers `headers` holds the last value. API Gateway adds `X-Forwarded-For` (client address
 * appended), `X-Forwarded-Port`, `X-Forwarded-Proto` and `X-Amzn-Trace-Id`; the same are added here with local
 * values (`X-Forwarded-Proto: http`, since the local gateway does not terminate TLS).
 */
export function readHandshake(req: IncomingMessage, sourceIp: string, traceId: string): HandshakeRequest {
  const multi: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const list = multi[name] ?? [];
    list.push(req.rawHeaders[i + 1] as string);
    multi[name] = list;
  }
  const forwardedFor = findHeader(multi, 'x-forwarded-for');
  setHeader(multi, 'X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${sourceIp}` : sourceIp);
  setHeader(multi, 'X-Forwarded-Port', String(req.socket.localPort ?? ''));
  setHeader(multi, 'X-Forwarded-Proto', 'http');
  setHeader(multi, 'X-Amzn-Trace-Id', traceId);

  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(multi)) headers[name] = values.at(-1) ?? '';

  const request: HandshakeRequest = { headers, multiValueHeaders: multi };
  const query = readQuery(req.url ?? '/');
  if (query) request.query = query;
  return request;
}

function readQuery(url: string): HandshakeRequest['query'] {
  const params = new URL(url, 'http://localhost').searchParams;
  if (params.size === 0) return undefined;
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of params) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { single, multi };
}

function findHeader(multi: Record<string, string[]>, lowerName: string): string | undefined {
  const name = Object.keys(multi).find((key) => key.toLowerCase() === lowerName);
  return name ? multi[name]?.at(-1) : undefined;
}

/** Replaces a header whatever its casing, so a client cannot send a second copy. */
function setHeader(multi: Record<string, string[]>, name: string, value: string): void {
  for (const key of Object.keys(multi)) if (key.toLowerCase() === name.toLowerCase()) delete multi[key];
  multi[name] = [value];
}
