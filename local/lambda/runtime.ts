import type { InvokeResult } from '../gateway/types.js';
import type { Spy } from '../spy.js';
import type { FunctionModel } from '../template/types.js';
import { type LogSink, terminalSink } from './logs.js';
import type { HostRoutes } from './network.ts';
import { FunctionPool } from './pool.js';

/**
 * Instances per function this machine runs at once. Each costs a cold start (the SDK and the bundle: about a
 * second of CPU) and competes for the same few cores, so on a laptop two beat ten: the benchmark measured 149
 * against 76 messages per second. Past it, invocations wait for a free instance.
 */
export const DEFAULT_INSTANCES = 2;

export interface LambdaRuntimeOptions {
  functions: Iterable<FunctionModel>;
  /** A function's full environment (its resolved variables plus the runtime's), read when an instance starts. */
  environment: (fn: FunctionModel) => Record<string, string>;
  /**
   * The AWS hosts that reach local services, read when an instance starts; every other AWS host is refused.
   * @default none: every AWS host is refused
   */
  routes?: () => HostRoutes;
  spy: Spy;
  /** @default DEFAULT_INSTANCES */
  maxConcurrency?: number;
  /** @default each line to stdout */
  sink?: LogSink;
}

/** Runs the template's functions: `invoke(functionId, event)` → one result value per invocation. */
export class LambdaRuntime {
  readonly #pools = new Map<string, FunctionPool>();
  readonly #spy: Spy;
  readonly #sink: LogSink;

  constructor(options: LambdaRuntimeOptions) {
    this.#spy = options.spy;
    this.#sink = options.sink ?? terminalSink;
    for (const fn of options.functions) {
      const pool = new FunctionPool(fn, {
        maxConcurrency: options.maxConcurrency ?? DEFAULT_INSTANCES,
        environment: () => options.environment(fn),
        routes: options.routes ?? (() => ({ local: {} })),
        sink: this.#sink,
        onStrayCrash: (requestId, error) => this.#report(fn, requestId ?? 'unknown', 0, { ok: false, error }),
      });
      this.#pools.set(fn.logicalId, pool);
    }
  }

  /** Invokes by logical id; never rejects: handler errors, timeouts, crashes and throttles are failed results. */
  readonly invoke = async (functionId: string, event: unknown): Promise<InvokeResult> => {
    const pool = this.#pools.get(functionId);
    if (!pool) throw new Error(`no function ${functionId} in the template`);
    const { requestId, result, durationMs } = await pool.invoke(event);
    this.#report(pool.fn, requestId, durationMs, result);
    return result;
  };

  /** How many instances of the function run at once here. */
  readonly instancesOf = (functionId: string): number => this.#pools.get(functionId)?.maxInstances ?? 1;

  pool(functionId: string): FunctionPool | undefined {
    return this.#pools.get(functionId);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.stop()));
  }

  #report(
    fn: FunctionModel,
    requestId: string,
    durationMs: number,
    result: InvokeResult | { ok: false; error: { name: string; message: string } },
  ): void {
    if (!result.ok)
      this.#sink(`[${fn.displayName}] ${requestId} failed: ${result.error.name}: ${result.error.message}`);
    this.#spy.emit({
      kind: 'invoke',
      functionName: fn.displayName,
      requestId,
      ok: result.ok,
      error: result.ok ? undefined : `${result.error.name}: ${result.error.message}`,
      durationMs: Math.round(durationMs),
    });
  }
}
