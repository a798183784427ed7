import type { GatewayLimits } from './types.js';

/**
 * API Gateway's WebSocket quotas, none of them adjustable
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).
 */
export const AWS_LIMITS: Readonly<GatewayLimits> = Object.freeze({
  /** 10 minutes without a client frame closes the connection. */
  idleTimeoutMs: 10 * 60 * 1000,
  /** A connection lives at most 2 hours. */
  maxConnectionMs: 2 * 60 * 60 * 1000,
  /** 32 KB per frame: a bigger message must be fragmented by the client. */
  maxFrameBytes: 32 * 1024,
  /** 128 KB per message (all frames together), also the `@connections` `Data` cap in the Smithy model. */
  maxMessageBytes: 128 * 1024,
  /** 29 s, the upper end of the 50 ms – 29 s integration timeout range. */
  integrationTimeoutMs: 29_000,
});

export function resolveLimits(overrides: Partial<GatewayLimits> = {}): GatewayLimits {
  const limits = { ...AWS_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`gateway limit ${name} must be > 0, got ${value}`);
  }
  return limits;
}
