import type { GatewayLimits } from './types.js';

export interface ConnectionTimeouts {
  /** A client data frame arrived: restart the idle countdown. */
  touch(): void;
  clear(): void;
}

/**
 * API Gateway's idle timeout (10 min) and maximum connection duration (2 h). Only client data messages count as
 * activity: whether pings reset the idle timer is unconfirmed and AWS advises an application-level heartbeat,
 * so the stricter reading is used. Both end with `onExpire`, which the session maps to close code 1001.
 */
export function armTimeouts(
  limits: Pick<GatewayLimits, 'idleTimeoutMs' | 'maxConnectionMs'>,
  onExpire: (which: 'idle' | 'max') => void,
): ConnectionTimeouts {
  const start = (ms: number, which: 'idle' | 'max') => setTimeout(() => onExpire(which), ms).unref();
  let idle = start(limits.idleTimeoutMs, 'idle');
  const max = start(limits.maxConnectionMs, 'max');
  return {
    touch() {
      clearTimeout(idle);
      idle = start(limits.idleTimeoutMs, 'idle');
    },
    clear() {
      clearTimeout(idle);
      clearTimeout(max);
    },
  };
}
