import { type ResolveContext, ResolveError, resolveString } from './intrinsics.js';
import type { FunctionModel } from './types.js';

/**
 * Resolves a function's `Environment.Variables` to local values, then points every API Gateway endpoint
 * (`https://{apiId}.execute-api.{region}.amazonaws.com`, as in a stage's callback URL) at the local gateway, so the
 * Management API client a handler builds with `endpoint: CALLBACK_URL` reaches it.
 */
export function resolveEnvironment(
  fn: FunctionModel,
  ctx: ResolveContext,
  api: { apiId: string; gatewayBaseUrl: string } | undefined,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    let text: string;
    try {
      text = resolveString(value, ctx);
    } catch (err) {
      if (err instanceof ResolveError) throw new ResolveError(`variable ${name}: ${err.message}`);
      throw err;
    }
    if (api) text = rewriteApiEndpoint(text, api.apiId, ctx.pseudo.region, api.gatewayBaseUrl);
    resolved[name] = text;
  }
  return resolved;
}

export function rewriteApiEndpoint(text: string, apiId: string, region: string, baseUrl: string): string {
  const prefix = `https://${apiId}.execute-api.${region}.amazonaws.com`;
  const wsPrefix = `wss://${apiId}.execute-api.${region}.amazonaws.com`;
  return text.split(prefix).join(baseUrl).split(wsPrefix).join(baseUrl.replace(/^http/, 'ws'));
}
