import { z } from 'zod';
import { ProtocolError } from './errors.js';
import type { WebSocketEvent } from './events.js';

/**
 * What a token may do, by name: topics for `subscribe` and `publish`, the recipient's clientId for `send`, queues for
 * `enqueue` and `consume`. Receiving, acking and replaying one's own inbox, and finishing one's own jobs, need none.
 */
export const OPERATIONS = ['subscribe', 'publish', 'send', 'enqueue', 'consume'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** A name pattern: an exact name, a prefix ending in `*` (`news/*`), or `*` alone. */
const pattern = z.string().min(1).max(129);

/** The `caps` claim: pattern → operations. Bounded: it travels in the authorizer's context on every frame. */
export const capabilitiesSchema = z
  .record(pattern, z.array(z.enum(OPERATIONS)).max(OPERATIONS.length))
  .refine((caps) => Object.keys(caps).length <= 50, { message: 'at most 50 patterns' });
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** Everything on every name: the demo tokens of `npm start` and `npm run token` without `--allow`. */
export const FULL_ACCESS: Capabilities = { '*': [...OPERATIONS] };

/** The authorizer context's key for the caller's capabilities (JSON: API Gateway's context holds only scalars). */
export const CAPABILITIES_CONTEXT_KEY = 'caps';

function matches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

export function allows(caps: Capabilities, operation: Operation, name: string): boolean {
  return Object.entries(caps).some(([p, operations]) => operations.includes(operation) && matches(p, name));
}

/** Refuses, as a `Forbidden` error frame, an operation the caller's capabilities do not allow. */
export function requireCapability(caps: Capabilities, operation: Operation, name: string): void {
  if (!allows(caps, operation, name))
    throw new ProtocolError('Forbidden', `${operation} on '${name}' is not allowed by this connection's token`);
}

/**
 * `npm run token`'s `--allow operation:pattern` (repeatable; `operation` may be a comma list) as a `caps` claim.
 * Throws a sentence naming the bad one.
 */
export function capabilitiesFromAllows(allows: string[]): Capabilities {
  const caps: Record<string, Operation[]> = {};
  for (const allow of allows) {
    const split = allow.indexOf(':');
    const operations = (split < 0 ? '' : allow.slice(0, split)).split(',');
    const name = allow.slice(split + 1);
    for (const operation of operations) {
      if (split < 0 || !(OPERATIONS as readonly string[]).includes(operation) || name.length === 0)
        throw new Error(
          `--allow "${allow}" is not operation:pattern with operation one of ${OPERATIONS.join(', ')} (e.g. subscribe:news/*)`,
        );
      caps[name] = [...new Set([...(caps[name] ?? []), operation as Operation])];
    }
  }
  return capabilitiesSchema.parse(caps);
}

/**
 * The capabilities the authorizer put in the connection's context, or `undefined` when it put none this code can read
 * (a connection made before capabilities existed, or an authorizer of another version).
 */
export function contextCapabilities(event: WebSocketEvent): Capabilities | undefined {
  const raw = event.requestContext.authorizer?.[CAPABILITIES_CONTEXT_KEY];
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed = capabilitiesSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What a frame of the connection may do: nothing that needs a capability when its context has none it can read. */
export function capabilitiesOf(event: WebSocketEvent): Capabilities {
  return contextCapabilities(event) ?? {};
}
