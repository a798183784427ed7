import type { GatewayContext } from '../context.js';
import type { WebsocketAuthorizerEvent } from '../events/types.js';
import { callIntegration, timedOut } from '../integration.js';
import type { GatewayAuthorizer } from '../types.js';
import { AuthorizerResultSchema, allows } from './policy.js';

export type AuthorizeOutcome =
  | { allowed: true; authorizer: Record<string, unknown> }
  | { allowed: false; status: number; message: string };

/**
 * Runs the `$connect` REQUEST authorizer. Status choices (AWS documents only "401 or 403" for WebSocket APIs,
 * so these follow its REST Lambda authorizers, whose responses API Gateway documents as gateway responses):
 * - a missing identity source → 401 without invoking (the WebSocket auth page shows wscat getting 401);
 * - the function throws `Error('Unauthorized')` → 401 (`UNAUTHORIZED`);
 * - a policy that does not allow `$connect` (explicit Deny, or no matching Allow) → 403 (`ACCESS_DENIED`);
 * - any other error, a timeout or a malformed result → 500 (`AUTHORIZER_FAILURE`/`AUTHORIZER_CONFIGURATION_ERROR`).
 * On Allow, `requestContext.authorizer` of later events is `principalId` + the returned `context` +
 * `integrationLatency` (ms); context values are passed as returned (their stringification is unconfirmed).
 */
export async function authorize(
  ctx: GatewayContext,
  authorizer: GatewayAuthorizer,
  event: WebsocketAuthorizerEvent,
): Promise<AuthorizeOutcome> {
  if (authorizer.identitySource.some((source) => !hasIdentity(source, event))) return unauthorized();
  const started = ctx.deps.now();
  const result = await callIntegration(ctx, authorizer.functionId, event);
  const integrationLatency = ctx.deps.now() - started;
  if (timedOut(result)) return failure();
  if (!result.ok) return result.error.message === 'Unauthorized' ? unauthorized() : failure();
  const parsed = AuthorizerResultSchema.safeParse(result.value);
  if (!parsed.success) return failure();
  if (!allows(parsed.data, event.methodArn)) return { allowed: false, status: 403, message: 'Forbidden' };
  return {
    allowed: true,
    authorizer: { principalId: parsed.data.principalId, ...parsed.data.context, integrationLatency },
  };
}

/** `route.request.header.X` / `route.request.querystring.X` / `stageVariables.X`: present and non-empty. */
function hasIdentity(source: string, event: WebsocketAuthorizerEvent): boolean {
  const [, kind, name] =
    /^(route\.request\.header|route\.request\.querystring|stageVariables|context)\.(.+)$/.exec(source) ?? [];
  if (kind === 'route.request.header') {
    const key = Object.keys(event.headers).find((header) => header.toLowerCase() === name?.toLowerCase());
    return Boolean(key && event.headers[key]);
  }
  if (kind === 'route.request.querystring') return Boolean(name && event.queryStringParameters?.[name]);
  if (kind === 'stageVariables') return Boolean(name && event.stageVariables[name]);
  // `context.X` names a context variable, always set by API Gateway itself.
  if (kind === 'context') return true;
  throw new Error(`unsupported authorizer identity source ${JSON.stringify(source)}`);
}

const unauthorized = (): AuthorizeOutcome => ({ allowed: false, status: 401, message: 'Unauthorized' });
const failure = (): AuthorizeOutcome => ({ allowed: false, status: 500, message: 'Internal server error' });
