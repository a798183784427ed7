/** What the tracker needs of a message: its position, and its publisher (the server orders per publisher). */
export interface Positioned {
  seq: string;
  from: string;
}

/**
 * A `seq` is `<page>.<nn>.<ii>` (functions/lib/inbox.ts): the inbox page, its message count and the message's
 * index. The SDK reads it only to find gaps; anything else is compared as text, as the protocol says.
 */
export function positionOf(seq: string): { page: string; count: number; index: number } | undefined {
  const match = /^(.+)\.(\d\d)\.(\d\d)$/.exec(seq);
  if (!match) return undefined;
  const [, page, count, index] = match as unknown as [string, string, string, string];
  return { page, count: Number(count), index: Number(index) };
}

/** Pages remembered as complete, so a late re-push of one opens no gap; bounded like the handled ids. */
const REMEMBERED_PAGES = 20_000;

interface Partial {
  from: string;
  count: number;
  seen: Set<number>;
  /** When a message of this page last arrived: a page still streaming in is not a gap yet. */
  progressAt: number;
}

/**
 * The pages of which some messages have arrived and others not. Deliver pushes a page's messages in order, one frame
 * after another, and stops at a failed push; so a page seen in part, with no more of it arriving, is a gap, and a
 * later message of the same publisher must wait for it to keep that publisher's order.
 */
export class Pages {
  readonly #partial = new Map<string, Partial>();
  readonly #complete = new Set<string>();

  constructor(private readonly now: () => number) {}

  /** Records an arrival. */
  see(message: Positioned): void {
    const position = positionOf(message.seq);
    if (!position || this.#complete.has(position.page)) return;
    const partial = this.#partial.get(position.page) ?? {
      from: message.from,
      count: position.count,
      seen: new Set<number>(),
      progressAt: 0,
    };
    if (!partial.seen.has(position.index)) partial.progressAt = this.now();
    partial.seen.add(position.index);
    if (partial.seen.size >= partial.count) this.#completed(position.page);
    else this.#partial.set(position.page, partial);
  }

  /** Whether an earlier message of this message's publisher (an older page's, or its own page's) is missing. */
  behindGap(message: Positioned): boolean {
    const position = positionOf(message.seq);
    if (!position) return false;
    for (const [page, partial] of this.#partial) {
      if (partial.from !== message.from) continue;
      if (page < position.page) return true;
      if (page === position.page) for (let i = 0; i < position.index; i++) if (!partial.seen.has(i)) return true;
    }
    return false;
  }

  /** When the oldest stalled page last progressed; undefined when no page is missing messages. */
  stalledSince(): number | undefined {
    let oldest: number | undefined;
    for (const { progressAt } of this.#partial.values())
      if (oldest === undefined || progressAt < oldest) oldest = progressAt;
    return oldest;
  }

  /**
   * A catch-up ended (`synced`): it sent everything pending, so what a page still misses was acked (or dropped at
   * the cap) and is no gap. `pages` are the ones it brought.
   */
  caughtUp(messages: Positioned[]): void {
    for (const page of this.#partial.keys()) this.#completed(page);
    for (const message of messages) {
      const position = positionOf(message.seq);
      if (position) this.#completed(position.page);
    }
  }

  /** A new connection: its catch-up will bring whatever is missing. */
  reset(): void {
    this.#partial.clear();
  }

  #completed(page: string): void {
    this.#partial.delete(page);
    this.#complete.add(page);
    if (this.#complete.size > REMEMBERED_PAGES) {
      const oldest = this.#complete.values().next().value;
      if (oldest !== undefined) this.#complete.delete(oldest);
    }
  }
}
