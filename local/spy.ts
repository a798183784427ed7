import { EventEmitter } from 'node:events';

/** What the local runtime reports as it runs; tests await these instead of sleeping. */
export type SpyEvent =
  | { kind: 'connect'; connectionId: string; clientId?: string }
  | { kind: 'disconnect'; connectionId: string; statusCode: number; reason: string }
  | { kind: 'push'; connectionId: string; data: string }
  | { kind: 'invoke'; functionName: string; requestId: string; ok: boolean; error?: string; durationMs: number }
  | { kind: 'batch'; functionName: string; queueName: string; size: number; failed: number }
  | { kind: 'dead-letter'; queueName: string; deadLetterQueueName: string; messageId: string };

export type SpyFilter<K extends SpyEvent['kind']> = { kind: K } & Partial<Extract<SpyEvent, { kind: K }>>;

/**
 * Records every event and lets a test wait for one that matches a filter (fields compared with ===),
 * whether it happened before or after the call, like fauxqs's MessageSpy.
 */
export class Spy {
  readonly #events: SpyEvent[] = [];
  readonly #emitter = new EventEmitter();
  readonly #limit: number;

  constructor(limit = 10_000) {
    this.#limit = limit;
    this.#emitter.setMaxListeners(0);
  }

  emit(event: SpyEvent): void {
    if (this.#limit > 0) {
      this.#events.push(event);
      if (this.#events.length > this.#limit) this.#events.shift();
    }
    this.#emitter.emit('event', event);
  }

  /** Calls `listener` with every event from now on (all of them, unlike the bounded record); returns an unsubscribe. */
  subscribe(listener: (event: SpyEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  /** Events seen so far that match the filter, oldest first. */
  events<K extends SpyEvent['kind']>(filter: SpyFilter<K>): Extract<SpyEvent, { kind: K }>[] {
    return this.#events.filter((e): e is Extract<SpyEvent, { kind: K }> => matches(e, filter));
  }

  /** Resolves with the first event matching the filter (already recorded or still to come). */
  waitFor<K extends SpyEvent['kind']>(
    filter: SpyFilter<K>,
    timeoutMs = 5_000,
  ): Promise<Extract<SpyEvent, { kind: K }>> {
    const seen = this.events(filter)[0];
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onEvent = (event: SpyEvent) => {
        if (!matches(event, filter)) return;
        clearTimeout(timer);
        this.#emitter.off('event', onEvent);
        resolve(event as Extract<SpyEvent, { kind: K }>);
      };
      const timer = setTimeout(() => {
        this.#emitter.off('event', onEvent);
        reject(new Error(`spy: no ${JSON.stringify(filter)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#emitter.on('event', onEvent);
    });
  }

  clear(): void {
    this.#events.length = 0;
  }
}

function matches(event: SpyEvent, filter: Partial<SpyEvent>): boolean {
  return Object.entries(filter).every(([key, value]) => (event as Record<string, unknown>)[key] === value);
}
