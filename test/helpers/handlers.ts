import type { Context } from 'aws-lambda';
import type { Backend } from './backend.js';
import { lambdaContext, messageEvent } from './events.js';

export type Handler = (event: never, context: Context) => Promise<unknown>;

/**
 * Points the process at the backend (plus `extraEnv`, e.g. CALLBACK_URL), then imports the named handlers: they
 * read their environment at module load.
 */
export async function loadHandlers<N extends string>(
  backend: Backend,
  names: readonly N[],
  extraEnv: Record<string, string> = {},
): Promise<Record<N, Handler>> {
  Object.assign(process.env, backend.env, extraEnv);
  const loaded = await Promise.all(
    names.map(async (name) => [name, ((await import(`../../functions/${name}.ts`)) as { handler: Handler }).handler]),
  );
  return Object.fromEntries(loaded) as Record<N, Handler>;
}

/** Sends one frame to a route handler as API Gateway would and returns the frame it replies with. */
export async function frame(
  handler: Handler,
  clientId: string | undefined,
  body: unknown,
  connectionId = 'AAAAAAAAAAAAAAA=',
): Promise<Record<string, unknown>> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const result = (await handler(messageEvent(text, connectionId, clientId) as never, lambdaContext('route'))) as {
    statusCode: number;
    body: string;
  };
  return JSON.parse(result.body) as Record<string, unknown>;
}
