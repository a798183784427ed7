import { randomUUID } from 'node:crypto';
import type { InvokeResult } from '../gateway/types.js';
import type { FunctionModel } from '../template/types.js';
import { contextFor } from './context.js';
import type { LogSink } from './logs.js';
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
  readonly #waiting: ((sandbox: Sandbox) => void)[] = [];
  readonly #max: number;
  readonly #reserved: number;

  constructor(
    readonly fn: FunctionModel,
    private readonly options: PoolOptions,
  ) {
    this.#reserved = fn.reservedConcurrency ?? Number.POSITIVE_INFINITY;
    this.#max = Math.min(options.maxConcurrency, this.#reserved);
  }

  async invoke(event: unknown): Promise<{ requestId: string; result: InvokeResult }> {
    const sandbox = await this.#acquire();
    if (!sandbox) {
      const requestId = randomUUID();
      return {
        requestId,
        result: { ok: false, error: { name: 'TooManyRequestsException', message: 'Rate Exceeded.', requestId } },
      };
    }
    const context = contextFor(this.fn, sandbox.logStreamName);
    const outcome = await sandbox.invoke(JSON.stringify(event ?? null), context, this.fn.timeoutSeconds * 1000);
    this.#release(sandbox);
    const requestId = context.awsRequestId;
    if (outcome.ok) return { requestId, result: { ok: true, value: JSON.parse(outcome.payload) } };
    return { requestId, result: { ok: false, error: { ...pick(outcome.error), requestId } } };
  }

  /** Instances currently running (busy or idle). */
  get size(): number {
    return this.#all.size;
  }

  async stop(): Promise<void> {
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((s) => s.terminate()));
  }

  /** An idle or new instance; undefined when reserved concurrency is exhausted; otherwise waits for one. */
  #acquire(): Promise<Sandbox | undefined> {
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
    next(sandbox.alive ? sandbox : this.#start());
  }

  #start(): Sandbox {
    const sandbox = new Sandbox(this.fn, this.options.environment(), this.options.sink, (requestId, error) => {
      this.#all.delete(sandbox);
      const at = this.#idle.indexOf(sandbox);
      if (at >= 0) this.#idle.splice(at, 1);
      this.options.onStrayCrash(requestId, error);
    });
    this.#all.add(sandbox);
    return sandbox;
  }
}

function pick(error: ErrorShape): { name: string; message: string } {
  return { name: error.name, message: error.message };
}
