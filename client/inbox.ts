import type { MessageFrame } from '#protocol';
import { Pages } from './pages.js';

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
  /** The clock that times gaps. @default Date.now */
  now?(): number;
}

/**
 * Turns the at-least-once stream of message frames into exactly once, in order, per topic at the handlers:
 * - frames that arrive between a connect and its `synced` are held, then handed on sorted by `seq` (the catch-up
 *   and live pushes interleave in that window; `seq` is the inbox order);
 * - a message id already handled, running or waiting is dropped (a handled one is acked again: its first ack may
 *   have been lost with the connection);
 * - each topic's handler gets one message at a time, in arrival order; topics run independently;
 * - after `synced`, a message that comes after a missing one of its publisher (a page seen in part: a push failed)
 *   waits until the gap fills, by the server's re-push or by a catch-up the client asks for (`stalledSince`).
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
  /** Messages that arrived behind a gap of their publisher, in arrival order. */
  #blocked: Message[] = [];
  readonly #pages: Pages;

  constructor(private readonly deps: InboxDeps) {
    this.#pages = new Pages(deps.now ?? Date.now);
  }

  setHandler(key: string, handler: MessageHandler<never> | undefined): void {
    if (handler) this.#handlers.set(key, handler);
    else this.#handlers.delete(key);
    this.#drain(key);
  }

  /** A new connection: hold everything until its `synced`; its catch-up brings again what was held or blocked. */
  connected(): void {
    this.#held = [];
    this.#blocked = [];
    this.#pages.reset();
  }

  /** A `replay` went out: hold what arrives until its `synced`, as after a connect. */
  replaying(): void {
    this.#held ??= [];
  }

  /** Whether frames are held for a catch-up's `synced`. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** A catch-up (connect or replay) ended: everything pending was sent, so no gap is left. */
  synced(): void {
    const held = [...(this.#held ?? []), ...this.#blocked];
    this.#held = undefined;
    this.#blocked = [];
    this.#pages.caughtUp(held);
    for (const message of bySeq(held)) this.#accept(message);
  }

  /** A replay that failed: what it held goes on as it would have without it (a gap stays until the server fills it). */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const message of bySeq(held)) this.#live(message);
  }

  receive(message: Message): void {
    if (this.#held) this.#held.push(message);
    else this.#live(message);
  }

  /** When the oldest gap last made progress; undefined when there is none. */
  stalledSince(): number | undefined {
    return this.#held ? undefined : this.#pages.stalledSince();
  }

  #live(message: Message): void {
    this.#pages.see(message);
    if (this.#pages.behindGap(message)) {
      this.#blocked.push(message);
      return;
    }
    this.#accept(message);
    // This one may have filled the gap that others wait behind.
    if (this.#blocked.length === 0) return;
    const ready = this.#blocked.filter((m) => !this.#pages.behindGap(m));
    if (ready.length === 0) return;
    this.#blocked = this.#blocked.filter((m) => !ready.includes(m));
    for (const m of bySeq(ready)) this.#accept(m);
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

function bySeq(messages: Message[]): Message[] {
  return messages.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
}
