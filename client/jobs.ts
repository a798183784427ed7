import type { JobFrame, ServerFrame } from '#protocol';

/** A job as its handler gets it, with what it needs to keep the lease while it works. */
export interface Job<T = unknown> extends Omit<JobFrame, 'type' | 'payload'> {
  payload: T;
  /** Aborted when the lease is lost with the connection: the job will be offered again, the work may stop. */
  signal: AbortSignal;
  /** Moves the lease's deadline to `seconds` from now (≤ 43200); resolves with the new deadline (ISO-8601). */
  extend(seconds: number): Promise<string>;
}

/** Resolving completes the job (`ack`); throwing gives it back (`nack`) after a backoff. */
export type JobHandler<T = unknown> = (job: Job<T>) => void | Promise<void>;

export interface ConsumeOptions {
  /** Jobs this connection holds at once (1–100). @default 1 */
  prefetch?: number;
}

/** The delay of a nack after attempt `attempt` failed: 1 s, 2 s, 4 s, … up to SQS's 900 s. */
export function nackDelaySeconds(attempt: number): number {
  return Math.min(900, 2 ** Math.max(0, attempt - 1));
}

interface Lease {
  queue: string;
  id: string;
  lease: string;
}

interface ConsumerDeps {
  /** A request that is not resent after a reconnect: a lease ends with its connection. */
  request(frame: Record<string, unknown>): Promise<ServerFrame>;
  failed(job: JobFrame, error: unknown): void;
  /** An ack or nack the server refused, or that the connection dropped. */
  report(error: unknown): void;
}

/** Remembered completed job ids, so a job that comes back after its ack was lost is acked, not done again. */
const REMEMBERED_JOBS = 10_000;

/** One queue's consumer on this client: runs the handler per job, then acks or nacks with the lease it came with. */
export class Consumer {
  /** Running jobs by id, with the lease their ack will name. */
  readonly #running = new Map<string, { controller: AbortController; lease: Lease }>();
  readonly #done = new Set<string>();

  constructor(
    readonly queue: string,
    readonly handler: JobHandler<never>,
    readonly prefetch: number,
    private readonly deps: ConsumerDeps,
  ) {}

  receive(frame: JobFrame): void {
    const running = this.#running.get(frame.id);
    if (running) {
      // Its lease expired while the handler ran and the job came back here: the handler's ack names the new lease.
      running.lease.lease = frame.lease;
      return;
    }
    const lease: Lease = { queue: frame.queue, id: frame.id, lease: frame.lease };
    if (this.#done.has(frame.id)) {
      this.deps.request({ action: 'ack', ...lease }).catch((error: unknown) => this.deps.report(error));
      return;
    }
    const controller = new AbortController();
    this.#running.set(frame.id, { controller, lease });
    void this.#run(frame, controller, lease);
  }

  /** The connection ended, and every lease with it. */
  disconnected(): void {
    for (const { controller } of this.#running.values()) controller.abort();
  }

  async #run(frame: JobFrame, controller: AbortController, lease: Lease): Promise<void> {
    const { type: _type, ...fields } = frame;
    const job: Job = {
      ...fields,
      signal: controller.signal,
      extend: async (seconds) => {
        const reply = await this.deps.request({ action: 'extend', ...lease, seconds });
        return reply.type === 'extended' ? reply.deadline : '';
      },
    };
    let failure: { error: unknown } | undefined;
    try {
      await (this.handler as JobHandler)(job);
    } catch (error) {
      failure = { error };
    }
    try {
      if (failure) this.deps.failed(frame, failure.error);
      else this.#remember(frame.id);
      // A lease lost with its connection is refused (StaleLease); the job is offered again by the server.
      if (controller.signal.aborted) return;
      if (!failure) await this.deps.request({ action: 'ack', ...lease });
      else {
        const delaySeconds = nackDelaySeconds(frame.attempt);
        await this.deps.request({ action: 'nack', ...lease, delaySeconds, reason: reasonOf(failure.error) });
      }
    } catch (error) {
      this.deps.report(error);
    } finally {
      this.#running.delete(frame.id);
    }
  }

  #remember(id: string): void {
    this.#done.add(id);
    if (this.#done.size > REMEMBERED_JOBS) {
      const oldest = this.#done.values().next().value;
      if (oldest !== undefined) this.#done.delete(oldest);
    }
  }
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1024);
}
