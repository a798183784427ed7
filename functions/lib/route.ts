import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { capabilitiesOf, type Operation, requireCapability } from './capabilities.js';
import { numberEnv, requireEnv } from './env.js';
import { ProtocolError } from './errors.js';
import { callerOf, type RouteResult, type WebSocketEvent } from './events.js';
import { logger } from './logger.js';
import { jsonOf, parseFrame, refOf, type ServerFrame } from './protocol.js';
import { FrameLimiter, reportToConnectionRow } from './rate.js';

export interface Caller {
  clientId: string;
  connectionId: string;
}

/** What a frame asks to do, by name, for the capability check that comes before anything else. */
export type Needs<F> = (frame: F) => [Operation, string][];

/** One limiter per container: a connection's frames to this function, counted together with its other frames. */
let limiter: FrameLimiter | undefined;

/**
 * Wraps one route's domain function: count the frame against the connection's rate, parse and validate it, check
 * the caller's capabilities, run, and reply with one frame that echoes `ref`. A frame refused at any step gets an
 * error frame naming why and touches nothing else; every frame counts, even one that is refused, so a flood of bad
 * frames is limited too. Replies go out with status 200
 * even for errors: what API Gateway does with a non-2xx body on a two-way route is not documented.
 */
export function route<T extends z.ZodType>(
  schema: T,
  run: (frame: z.infer<T>, caller: Caller) => Promise<ServerFrame>,
  needs?: Needs<z.infer<T>>,
): (event: WebSocketEvent, context: Context) => Promise<RouteResult> {
  limiter ??= new FrameLimiter(
    { perSecond: numberEnv('FRAME_RATE', 100), burst: numberEnv('FRAME_BURST', 200) },
    reportToConnectionRow(requireEnv('CONNECTIONS_TABLE')),
  );
  const frames = limiter;
  return async (event, context) => {
    const { connectionId } = event.requestContext;
    const clientId = callerOf(event);
    logger.addContext(context);
    logger.appendKeys({ connectionId, clientId });
    const json = jsonOf(event.body);
    const ref = refOf(json);
    try {
      if (!clientId) throw new ProtocolError('Unauthorized', 'connection carries no client identity');
      const admission = await frames.admit({ clientId, connectionId });
      if (!admission.ok) {
        const message = `more than ${frames.rate.burst} frames at once or ${frames.rate.perSecond} a second: retry after ${admission.retryAfterMs} ms`;
        logger.info('frame rejected', { code: 'RateLimited', retryAfterMs: admission.retryAfterMs });
        return reply({ type: 'error', code: 'RateLimited', message, retryAfterMs: admission.retryAfterMs, ref });
      }
      const frame = parseFrame(json, schema);
      const caps = capabilitiesOf(event);
      for (const [operation, name] of needs?.(frame) ?? []) requireCapability(caps, operation, name);
      return reply({ ...(await run(frame, { clientId, connectionId })), ref });
    } catch (err) {
      if (err instanceof ProtocolError) {
        logger.info('frame rejected', { code: err.code, reason: err.message });
        return reply({ type: 'error', code: err.code, message: err.message, ref });
      }
      logger.error('route failed', err instanceof Error ? err : String(err));
      return reply({ type: 'error', code: 'Internal', message: 'internal error: the frame was not processed', ref });
    } finally {
      logger.resetKeys();
    }
  };
}

export function reply(frame: ServerFrame): RouteResult {
  return { statusCode: 200, body: JSON.stringify(frame) };
}
