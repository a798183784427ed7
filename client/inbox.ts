import type { MessageFrame } from '#protocol';

/** A message as a handler gets it: the `message` frame without its `type`. */
export type Message<T = unknown> = Omit<MessageFrame, 'type' | 'payload'> & { payload: T };

/** Resolving acks the message; throwing (or rejecting) leaves it pending on the server, which sends it again. */
export type MessageHandler<T = unknown> = (message: Message<T>) => void | Promise<void>;

/** The key of messages sent with `send`, which have no topic. */
export const DIRECT = '\u0000direct';

/** Ids remembered after their handler finished, so a late duplicate is acked and not handed on again. */
const REMEMBERED_IDS = 20_000;

interface InboxDeps {
  /** Queues the `seq` of a handled message for the next `ack` frame. */
  ack(seq: string): void;
  /** A handler failed; the message will come again. */
  failed(message: Message, error: unknown): void;
}

/**
 * Turns the at-least-once stream of message frames into exactly once, in order, per topic at the handlers:
 * - frames that arrive between a connect and its `synced` are held, then handed on sorted by `seq` (the catch-up
 *   and live pushes interleave in that window; `seq` is the inbox order);
 * - a message id already handled, running or waiting is dropped (a handled one is acked again: its first ack may
 *   have been lost with the connection);
 * - each topic's handler gets one message at a time, in arrival order; topics run independently.
 * Messages of a topic with no handler yet wait, unacked, until one is installed.
 */
export class Inbox {
  readonly #handlers = new Map<string, MessageHandler<never>>();
  readonly #waiting = new Map<string, Message[]>();
  /** Topics whose handler is running, with the run that drains them. */
  readonly #running = new Map<string, Promise<void>>();
  /** Ids queued or running. */
  readonly #pending = new Set<string>();
  /** Ids handled, oldest first (a Set keeps insertion order), bounded. */
  readonly #handled = new Set<string>();
  #held: Message[] | undefined = [];

  constructor(private readonly deps: InboxDeps) {}

  setHandler(key: string, handler: MessageHandler<never> | undefined): void {
    if (handler) this.#handlers.set(key, handler);
    else this.#handlers.delete(key);
    this.#drain(key);
  }

  /** A new connection: hold everything until its `synced`. */
  connected(): void {
    this.#held = [];
  }

  synced(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    held.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    for (const message of held) this.#accept(message);
  }

  receive(message: Message): void {
    if (this.#held) this.#held.push(message);
    else this.#accept(message);
  }

  #accept(message: Message): void {
    if (this.#handled.has(message.id)) {
      this.deps.ack(message.seq);
      return;
    }
    if (this.#pending.has(message.id)) return;
    this.#pending.add(message.id);
    const key = message.topic ?? DIRECT;
    const queue = this.#waiting.get(key) ?? [];
    this.#waiting.set(key, queue);
    queue.push(message);
    this.#drain(key);
  }

  #drain(key: string): void {
    if (this.#running.has(key) || !this.#handlers.has(key) || !this.#waiting.get(key)?.length) return;
    this.#running.set(key, this.#run(key));
  }

  async #run(key: string): Promise<void> {
    // Starts after the caller has recorded this run in #running, so its own cleanup below finds it there.
    await Promise.resolve();
    try {
      for (;;) {
        const handler = this.#handlers.get(key);
        const message = handler && this.#waiting.get(key)?.shift();
        if (!handler || !message) return;
        try {
          await (handler as MessageHandler)(message);
          this.#remember(message.id);
          this.deps.ack(message.seq);
        } catch (error) {
          this.deps.failed(message, error);
        } finally {
          this.#pending.delete(message.id);
        }
      }
    } finally {
      this.#running.delete(key);
    }
  }

  /** Resolves when no handler is running (every message handed on so far was handled and its ack queued). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running.values());
  }

  #remember(id: string): void {
    this.#handled.add(id);
    if (this.#handled.size > REMEMBERED_IDS) {
      const oldest = this.#handled.values().next().value;
      if (oldest !== undefined) this.#handled.delete(oldest);
    }
  }
}
