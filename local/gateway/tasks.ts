/**
 * Background work the gateway started (message invocations, `$disconnect`), so none is left unawaited: each
 * failure goes to `report`, and `stop()` can wait for what is still running, within a bound.
 */
export class Tasks {
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly report: (error: unknown, where: string) => void) {}

  run(where: string, work: () => Promise<void>): void {
    const task = work().catch((error: unknown) => this.report(error, where));
    this.#running.add(task);
    void task.finally(() => this.#running.delete(task));
  }

  /** Resolves when every running task has settled, or after `timeoutMs`, whichever comes first. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.#running]), timeout]);
    clearTimeout(timer);
  }
}
