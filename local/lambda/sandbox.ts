import { Worker } from 'node:worker_threads';
import type { FunctionModel } from '../template/types.js';
import { newLogStreamName } from './context.js';
import { type LogSink, pipeLines } from './logs.js';
import type { HostRoutes } from './network.ts';
import type { ContextFields, ErrorShape, SandboxData, WorkerMessage } from './protocol.js';

export type SandboxOutcome = { ok: true; payload: string } | { ok: false; error: ErrorShape };

const WORKER_URL = new URL('./worker.ts', import.meta.url);

/**
 * One execution environment of a function: a worker thread with its own `process.env` and module state, reused
 * while warm. It serves one invocation at a time, and is terminated on a timeout, a crash or an init failure,
 * as Lambda resets the sandbox in those cases.
 */
export class Sandbox {
  readonly logStreamName = newLogStreamName();
  #worker: Worker;
  #alive = true;
  #pending: { requestId: string; settle: (outcome: SandboxOutcome) => void } | undefined;

  constructor(
    fn: FunctionModel,
    env: Record<string, string>,
    routes: HostRoutes,
    sink: LogSink,
    /** Told about a crash that happened between invocations (a timer or promise nobody awaited). */
    private readonly onStrayCrash: (requestId: string | undefined, error: ErrorShape) => void,
  ) {
    const workerData: SandboxData = {
      taskRoot: fn.taskRoot,
      handler: fn.handler,
      handlerFile: fn.handlerFile,
      handlerExport: fn.handlerExport,
      routes,
    };
    // execArgv: [] keeps the parent's loaders (tsx, under `npm start`) out of the sandbox: worker.ts needs only Node's
    // own type stripping, and running every bundled handler through tsx made each cold start cost seconds of CPU.
    this.#worker = new Worker(WORKER_URL, { workerData, env, stdout: true, stderr: true, execArgv: [] });
    pipeLines(this.#worker.stdout, `[${fn.displayName}]`, sink);
    pipeLines(this.#worker.stderr, `[${fn.displayName}]`, sink);
    this.#worker.on('message', (message: WorkerMessage) => this.#onMessage(message));
    this.#worker.on('error', (err) => this.#fail(undefined, { name: 'Runtime.ExitError', message: err.message }));
    this.#worker.on('exit', (code) =>
      this.#fail(undefined, { name: 'Runtime.ExitError', message: `Runtime exited with error: exit status ${code}` }),
    );
  }

  get alive(): boolean {
    return this.#alive;
  }

  invoke(event: string, context: ContextFields, timeoutMs: number): Promise<SandboxOutcome> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((settle) => {
      const timer = setTimeout(() => {
        // Lambda stops the function at its timeout and discards the environment.
        const seconds = (timeoutMs / 1000).toFixed(2);
        const message = `RequestId: ${context.awsRequestId} Error: Task timed out after ${seconds} seconds`;
        this.#fail(context.awsRequestId, { name: 'Sandbox.Timedout', message });
      }, timeoutMs);
      this.#pending = {
        requestId: context.awsRequestId,
        settle: (outcome) => {
          clearTimeout(timer);
          this.#pending = undefined;
          settle(outcome);
        },
      };
      this.#worker.postMessage({ event, context, deadline });
    });
  }

  /** Ends the instance (the runtime is stopping); an invocation still running fails rather than hanging. */
  async terminate(): Promise<void> {
    this.#alive = false;
    const message = `RequestId: ${this.#pending?.requestId} Error: Runtime exited: the local runtime is stopping`;
    this.#pending?.settle({ ok: false, error: { name: 'Runtime.ExitError', message } });
    await this.#worker.terminate();
  }

  #onMessage(message: WorkerMessage): void {
    if (message.type === 'crash') {
      this.#fail(message.requestId, message.error);
      return;
    }
    if (message.requestId !== this.#pending?.requestId) return;
    if (message.ok) this.#pending.settle({ ok: true, payload: message.payload });
    else if (message.fatal) this.#fail(message.requestId, message.error);
    else this.#pending.settle({ ok: false, error: message.error });
  }

  /** Ends the sandbox: the pending invocation (if any) fails with `error`; a crash outside one is reported. */
  #fail(requestId: string | undefined, error: ErrorShape): void {
    const wasAlive = this.#alive;
    this.#alive = false;
    if (this.#pending) this.#pending.settle({ ok: false, error });
    else if (wasAlive) this.onStrayCrash(requestId, error);
    if (wasAlive) void this.#worker.terminate();
  }
}
