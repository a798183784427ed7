import { randomUUID } from 'node:crypto';
import type { InvokeResult } from '../gateway/types.js';
import type { FunctionModel } from '../template/types.js';
import { contextFor } from './context.js';
import type { LogSink } from './logs.js';
import type { HostRoutes } from './network.ts';
import type { ErrorShape } from './protocol.js';
import { Sandbox } from './sandbox.js';

export interface PoolOptions {
  /**
   * Most instances this machine runs at once for one function. Past it, invocations wait for a free instance: on
   * AWS the account's concurrency (1,000 by default) would scale out instead, so a local refusal would be a failure
   * AWS does not produce.
   */
  maxConcurrency: number;
  /** Read when an instance starts, so values known only later (the gateway's port) can be used. */
  environment: () => Record<string, string>;
  /** Read when an instance starts, as the environment is. */
  routes: () => HostRoutes;
  sink: LogSink;
  onStrayCrash: (requestId: string | undefined, error: ErrorShape) => void;
}

/**
 * The instances of one function. A warm idle instance is reused; otherwise a new one starts (a cold start) up to
 * the local instance limit, past which the invocation waits for an instance to come free. Only a function's
 * `ReservedConcurrentExecutions` throttles, as on AWS (`TooManyRequestsException`, "Rate Exceeded.").
 */
export class FunctionPool {
  readonly #idle: Sandbox[] = [];
  readonly #all = new Set<Sandbox>();
  readonly #waiting: ((sandbox: Sandbox | Error) => void)[] = [];
  #stopped = false;
  readonly #max: number;
  readonly #reserved: number;

  constructor(
    readonly fn: FunctionModel,
    private readonly options: PoolOptions,
  ) {
    this.#reserved = fn.reservedConcurrency ?? Number.POSITIVE_INFINITY;
    this.#max = Math.min(options.maxConcurrency, this.#reserved);
  }

  /** `durationMs` is the time in an instance, as Lambda reports Duration: waiting for a free one is not counted. */
  async invoke(event: unknown): Promise<{ requestId: string; result: InvokeResult; durationMs: number }> {
    const sandbox = await this.#acquire();
    if (sandbox instanceof Error) {
      const requestId = randomUUID();
      const message = `RequestId: ${requestId} Error: Runtime exited: ${sandbox.message}`;
      return {
        requestId,
        durationMs: 0,
        result: { ok: false, error: { name: 'Runtime.ExitError', message, requestId } },
      };
    }
    if (!sandbox) {
      const requestId = randomUUID();
      return {
        requestId,
        durationMs: 0,
        result: { ok: false, error: { name: 'TooManyRequestsException', message: 'Rate Exceeded.', requestId } },
      };
    }
    const context = contextFor(this.fn, sandbox.logStreamName);
    const started = performance.now();
    const outcome = await sandbox.invoke(JSON.stringify(event ?? null), context, this.fn.timeoutSeconds * 1000);
    const durationMs = performance.now() - started;
    this.#release(sandbox);
    const requestId = context.awsRequestId;
    if (outcome.ok) return { requestId, durationMs, result: { ok: true, value: JSON.parse(outcome.payload) } };
    return { requestId, durationMs, result: { ok: false, error: { ...pick(outcome.error), requestId } } };
  }

  /** The most instances this function runs at once here: the local limit, or its reserved concurrency if lower. */
  get maxInstances(): number {
    return this.#max;
  }

  /** Instances currently running (busy or idle). */
  get size(): number {
    return this.#all.size;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const waiter of this.#waiting.splice(0)) waiter(new Error('the local runtime is stopping'));
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((s) => s.terminate()));
  }

  /** An idle or new instance; undefined when reserved concurrency is exhausted; otherwise waits for one. */
  #acquire(): Promise<Sandbox | Error | undefined> {
    if (this.#stopped) return Promise.resolve(new Error('the local runtime is stopping'));
    const sandbox = this.#idle.pop() ?? (this.#all.size < this.#max ? this.#start() : undefined);
    if (sandbox) return Promise.resolve(sandbox);
    if (this.#all.size >= this.#reserved) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(sandbox: Sandbox): void {
    if (!sandbox.alive) this.#all.delete(sandbox);
    const next = this.#waiting.shift();
    if (!next) {
      if (sandbox.alive) this.#idle.push(sandbox);
      return;
    }
    if (sandbox.alive) {
      next(sandbox);
      return;
    }
    if (this.#stopped) {
      next(new Error('the local runtime is stopping'));
      return;
    }
    try {
      next(this.#start());
    } catch (err) {
      // A replacement that cannot start (the worker failed to spawn) must not strand the waiter.
      next(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #start(): Sandbox {
    const sandbox = new Sandbox(
      this.fn,
      this.options.environment(),
      this.options.routes(),
      this.options.sink,
      (requestId, error) => {
        this.#all.delete(sandbox);
        const at = this.#idle.indexOf(sandbox);
        if (at >= 0) this.#idle.splice(at, 1);
        this.options.onStrayCrash(requestId, error);
      },
    );
    this.#all.add(sandbox);
    return sandbox;
  }
}

function pick(error: ErrorShape): { name: string; message: string } {
  return { name: error.name, message: error.message };
}
