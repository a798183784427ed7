import type { MockIntegration } from './types.js';

export type MockResult = { ok: true; body: string | undefined } | { ok: false };

/**
 * What a MOCK integration answers (apigateway-websocket-api-integration-responses.html): the status its request
 * template gave selects an integration response, `/regex/` keys first, `$default` when none matches; that
 * response's template is the reply. No status, or no matching response, is a configuration error ("Execution
 * failed due to configuration error" in the execution log); the frame the client then gets is unconfirmed, and is
 * taken to be the one of a failed integration, `Internal server error`.
 */
export function mockResponse(mock: MockIntegration): MockResult {
  if (mock.statusCode === undefined) return { ok: false };
  const status = String(mock.statusCode);
  const response =
    mock.responses.find((r) => r.key !== '$default' && statusPattern(r.key)?.test(status)) ??
    mock.responses.find((r) => r.key === '$default');
  return response ? { ok: true, body: response.body } : { ok: false };
}

/** `/2\d\d/` → a pattern over the whole status, as API Gateway's selection patterns are. */
function statusPattern(key: string): RegExp | undefined {
  const match = /^\/(.*)\/$/.exec(key);
  return match ? new RegExp(`^(?:${match[1]})$`) : undefined;
}
