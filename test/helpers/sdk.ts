import type { Message, PostboxClient } from '../../client/node.js';

/** What a handler was handed, in order, and a way to wait for the next ones without sleeping. */
export class Received<T = unknown> {
  readonly messages: Message<T>[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  /** A handler that records and resolves (acks). */
  readonly handler = (message: Message<T>): void => this.record(message);

  record(message: Message<T>): void {
    this.messages.push(message);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.messages.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  get payloads(): T[] {
    return this.messages.map((m) => m.payload);
  }

  /** Resolves once `count` messages in all were recorded; rejects after `timeoutMs` saying how many came. */
  until(count: number, timeoutMs = 15_000): Promise<T[]> {
    if (this.messages.length >= count) return Promise.resolve(this.payloads);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.messages.length} of ${count} messages within ${timeoutMs} ms: ${JSON.stringify(this.payloads)}`,
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.payloads);
        },
      });
    });
  }
}

/** Resolves with the next occurrence of a client event, or rejects after `timeoutMs`. */
export function nextEvent<K extends 'synced' | 'disconnected' | 'connected' | 'reconnecting' | 'closed'>(
  client: PostboxClient,
  event: K,
  timeoutMs = 15_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    const off = client.on(event, () => {
      off();
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `n` numbered payloads from `from`: `{ n: from }, { n: from + 1 }, …` */
export function numbered(from: number, n: number): { n: number }[] {
  return Array.from({ length: n }, (_, i) => ({ n: from + i }));
}
