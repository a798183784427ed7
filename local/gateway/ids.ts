import { randomFillSync } from 'node:crypto';

/** Time and randomness, injected so tests can pin them (STYLE practice 8). */
export interface GatewayDeps {
  now(): number;
  randomBytes(size: number): Buffer;
}

// Every frame needs three ids; asking the OS for each one showed up as the main thread's largest crypto cost.
const pool = Buffer.alloc(8192);
let used = pool.length;

/** Cryptographic random bytes drawn from a pooled buffer refilled 8 KB at a time. */
function pooledRandomBytes(size: number): Buffer {
  if (size > pool.length) return randomFillSync(Buffer.alloc(size));
  if (used + size > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = Buffer.from(pool.subarray(used, used + size));
  used += size;
  return bytes;
}

export const defaultDeps: GatewayDeps = { now: () => Date.now(), randomBytes: pooledRandomBytes };

/**
 * An id in the format API Gateway uses for connectionId, requestId, extendedRequestId and messageId:
 * 11 random bytes as URL-safe base64 with its one `=` of padding, 16 characters
 * (recorded: `R1kmxc2VNjMCFIA=`, `JC1dgf9yoAMCK-g=`, `HXT_RfBnPHcCIIg=` in aws-lambda-go's testdata).
 */
export function newAwsId(deps: GatewayDeps): string {
  return `${deps.randomBytes(11).toString('base64url')}=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** `requestTime` in Common Log Format, always UTC as API Gateway writes it: `20/Jan/2024:11:55:00 +0000`. */
export function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${time} +0000`;
}

/** An X-Ray trace header as API Gateway adds it: `Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`. */
export function newTraceId(deps: GatewayDeps): string {
  const seconds = Math.floor(deps.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${seconds}-${deps.randomBytes(12).toString('hex')}`;
}
