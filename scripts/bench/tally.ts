import { CapacityEstimator, type TableSchema } from './capacity.js';

/** What one measured window cost in AWS terms. */
export interface TallySnapshot {
  /** Per function (the runtime's display name): invocations, errors and billed milliseconds (1 ms granularity). */
  lambda: Record<string, { invocations: number; errors: number; billedMs: number }>;
  /** Per SQS operation: requests and billed 64 KB chunks, and those of the chunks that went to a FIFO queue. */
  sqs: Record<string, { requests: number; chunks: number; fifoChunks: number }>;
  /** Per DynamoDB operation: requests. */
  dynamodb: Record<string, number>;
  /** Estimated capacity units (see CapacityEstimator). */
  writeUnits: number;
  readUnits: number;
  /** `@connections` posts: frames the gateway pushed whose `type` is `message`. */
  connectionPosts: number;
  /** Every frame the gateway sent to a client (route replies and posts), metered in 32 KB units. */
  messagesOut: number;
  /** Invocations refused for want of a free instance (not billed). */
  throttled: number;
}

/** The runtime events the tally listens to (a structural subset of the runtime's spy events). */
export type RuntimeEvent =
  | { kind: 'invoke'; functionName: string; ok: boolean; error?: string; durationMs: number }
  | { kind: 'push'; connectionId: string; data: string }
  | { kind: string };

const SQS_CHUNK = 64 * 1024;
const FIFO_URL = /"QueueUrl":"[^"]*\.fifo"/;
const APIGW_UNIT = 32 * 1024;

/** Counts AWS requests by kind between `reset()` and `snapshot()`. */
export class Tally {
  readonly #capacity: CapacityEstimator;
  #current: TallySnapshot = emptySnapshot();

  constructor(tables: Map<string, TableSchema>) {
    this.#capacity = new CapacityEstimator(tables);
  }

  reset(): void {
    this.#current = emptySnapshot();
    this.#capacity.resetCounters();
  }

  snapshot(): TallySnapshot {
    return structuredClone({
      ...this.#current,
      writeUnits: this.#capacity.writeUnits,
      readUnits: this.#capacity.readUnits,
    });
  }

  onRequest(request: { service: string; operation: string; body: string }): void {
    if (request.service === 'sqs') {
      const entry = this.#current.sqs[request.operation] ?? { requests: 0, chunks: 0, fifoChunks: 0 };
      this.#current.sqs[request.operation] = entry;
      entry.requests += 1;
      const chunks = Math.max(1, Math.ceil(Buffer.byteLength(request.body) / SQS_CHUNK));
      entry.chunks += chunks;
      // FIFO requests are billed higher; the queue is named in the request (JSON protocol).
      if (FIFO_URL.test(request.body)) entry.fifoChunks += chunks;
    } else if (request.service === 'dynamodb') {
      this.#current.dynamodb[request.operation] = (this.#current.dynamodb[request.operation] ?? 0) + 1;
      this.#capacity.observe(request.operation, request.body);
    }
  }

  onEvent(event: RuntimeEvent): void {
    if (event.kind === 'invoke' && 'functionName' in event) {
      if (!event.ok && /TooManyRequests/.test(event.error ?? '')) {
        // A throttled invocation never ran and is not billed.
        this.#current.throttled += 1;
        return;
      }
      const entry = this.#current.lambda[event.functionName] ?? { invocations: 0, errors: 0, billedMs: 0 };
      this.#current.lambda[event.functionName] = entry;
      entry.invocations += 1;
      entry.errors += event.ok ? 0 : 1;
      entry.billedMs += Math.max(1, Math.ceil(event.durationMs));
    } else if (event.kind === 'push' && 'data' in event) {
      this.#current.messagesOut += Math.max(1, Math.ceil(Buffer.byteLength(event.data) / APIGW_UNIT));
      if (POSTED.has(frameType(event.data))) this.#current.connectionPosts += 1;
    }
  }
}

export function emptySnapshot(): TallySnapshot {
  return {
    lambda: {},
    sqs: {},
    dynamodb: {},
    writeUnits: 0,
    readUnits: 0,
    connectionPosts: 0,
    messagesOut: 0,
    throttled: 0,
  };
}

/** Frames that reach a client through `@connections` posts; the others are route replies. */
const POSTED = new Set<unknown>(['message', 'messages', 'synced']);

function frameType(data: string): unknown {
  try {
    return (JSON.parse(data) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}
