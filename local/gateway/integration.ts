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
    const result = await Promise.race([invocation, timeout]);
    // A rejection after the timeout won must still be reported rather than become an unhandled rejection; one
    // before it has already propagated from the race.
    if (timedOut(result))
      invocation.catch((error: unknown) => ctx.report(error, `invoke ${functionId} (after the integration timeout)`));
    return result;
  } finally {
    clearTimeout(timer);
  }
}

export function timedOut(result: IntegrationResult): result is { ok: false; timedOut: true } {
  return !result.ok && 'timedOut' in result;
}
