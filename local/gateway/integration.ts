import type { GatewayContext } from './context.js';
import type { InvokeResult } from './types.js';

export type IntegrationResult = InvokeResult | { ok: false; timedOut: true };

/**
 * Invokes a route's function the way the integration does: API Gateway stops waiting after the integration
 * timeout (29 s at most for WebSocket APIs) even though the function may keep running; its late result is then
 * dropped. A rejected `invoke` is a runtime bug, not a Lambda error, so it propagates to the caller.
 */
export async function callIntegration(
  ctx: GatewayContext,
  functionId: string,
  event: unknown,
): Promise<IntegrationResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<IntegrationResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, timedOut: true }), ctx.limits.integrationTimeoutMs);
  });
  const invocation = ctx.invoke(functionId, event);
  try {
    return await Promise.race([invocation, timeout]);
  } finally {
    clearTimeout(timer);
    // A late rejection must still be reported rather than become an unhandled rejection.
    invocation.catch((error: unknown) => ctx.report(error, `invoke ${functionId} (after the integration timeout)`));
  }
}

export function timedOut(result: IntegrationResult): result is { ok: false; timedOut: true } {
  return !result.ok && 'timedOut' in result;
}
