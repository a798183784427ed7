import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { logger } from './logger.js';

/**
 * How many frames a connection may send: `burst` at once, `perSecond` on average. It is counted as a sliding window
 * of `burst / perSecond` seconds holding at most `burst` frames (the previous window's count, weighted by how much
 * of it the sliding window still covers, plus the current one's).
 */
export interface FrameRate {
  perSecond: number;
  burst: number;
}

/** The shared counts of a connection's current and previous windows, after adding this container's frames. */
export interface WindowCounts {
  previous: number;
  current: number;
}

/**
 * Adds `count` frames to window `index` of a connection's shared count and returns both windows' totals, or
 * `undefined` when there is no shared count to keep (the connection row is gone).
 */
export type ReportFrames = (
  caller: { clientId: string; connectionId: string },
  index: number,
  count: number,
) => Promise<WindowCounts | undefined>;

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

interface ConnectionCount {
  index: number;
  /** Shared totals as of this container's last report. */
  previous: number;
  current: number;
  /** Frames this container let through in window `index` and has not reported yet. */
  unreported: number;
  blockedUntil: number;
}

/** Containers forget connections they have not heard from in this many windows once they track this many. */
const PRUNE_AT = 10_000;

/**
 * A per-connection frame limit that costs no DynamoDB request for most frames. The count is shared through the
 * connection's row, because a connection's frames land on many functions and containers; but a container reports
 * only every `reportEvery` frames of a connection (a tenth of the burst), each report being one UpdateItem that adds
 * its frames and reads the total back. So a client sending fewer than that per window to a container costs nothing,
 * and a busy one costs one write per `reportEvery` frames. The price is slack: each warm container may let up to
 * `reportEvery - 1` unreported frames through per window before it learns the connection is over.
 */
export class FrameLimiter {
  readonly rate: FrameRate;
  readonly #report: ReportFrames;
  readonly #windowMs: number;
  readonly #reportEvery: number;
  readonly #counts = new Map<string, ConnectionCount>();

  constructor(rate: FrameRate, report: ReportFrames) {
    this.rate = rate;
    this.#report = report;
    this.#windowMs = (rate.burst / rate.perSecond) * 1000;
    this.#reportEvery = Math.max(1, Math.ceil(rate.burst / 10));
  }

  async admit(caller: { clientId: string; connectionId: string }, now = Date.now()): Promise<Admission> {
    const index = Math.floor(now / this.#windowMs);
    const elapsed = (now % this.#windowMs) / this.#windowMs;
    const count = this.#countOf(caller.connectionId, index);
    if (count.blockedUntil > now) return { ok: false, retryAfterMs: Math.ceil(count.blockedUntil - now) };
    count.unreported += 1;
    const known = estimate(count.previous, count.current + count.unreported, elapsed);
    if (count.unreported < this.#reportEvery && known <= this.rate.burst) return { ok: true };

    const frames = count.unreported;
    count.unreported = 0;
    const shared = await this.#report(caller, index, frames);
    if (!shared) return { ok: true };
    count.previous = shared.previous;
    count.current = shared.current;
    if (estimate(shared.previous, shared.current, elapsed) <= this.rate.burst) return { ok: true };
    // The frame this report refuses stays counted (taking it back would cost a write); those refused while blocked
    // are not counted at all.
    const retryAfterMs = Math.max(1, Math.ceil(this.#retryAfter(shared, index, now)));
    count.blockedUntil = now + retryAfterMs;
    return { ok: false, retryAfterMs };
  }

  #countOf(connectionId: string, index: number): ConnectionCount {
    let count = this.#counts.get(connectionId);
    if (!count) {
      if (this.#counts.size >= PRUNE_AT) this.#prune(index);
      count = { index, previous: 0, current: 0, unreported: 0, blockedUntil: 0 };
      this.#counts.set(connectionId, count);
    } else if (count.index !== index) {
      // Frames never reported still count locally for the window that slides over them.
      const carried = count.index === index - 1 ? count.current + count.unreported : 0;
      Object.assign(count, { index, previous: carried, current: 0, unreported: 0 });
    }
    return count;
  }

  #prune(index: number): void {
    for (const [id, count] of this.#counts) if (count.index < index - 1) this.#counts.delete(id);
  }

  /**
   * Milliseconds from `now` until the sliding window has room for a report's worth of frames, if nothing else arrives:
   * waiting only for room for one would make every later frame cost a report and a refusal.
   */
  #retryAfter({ previous, current }: WindowCounts, index: number, now: number): number {
    const room = Math.max(0, this.rate.burst - this.#reportEvery);
    const at =
      current <= room && previous > 0
        ? // Later in this window, once enough of the previous one has slid out.
          index + 1 - (room - current) / previous
        : // In the next window, once enough of this one has slid out.
          index + 2 - room / Math.max(current, 1);
    return at * this.#windowMs - now;
  }
}

/** Frames in the sliding window: the part of the previous window it still covers, plus the current one. */
export function estimate(previous: number, current: number, elapsed: number): number {
  return previous * (1 - elapsed) + current;
}

/**
 * The shared count lives on the connection's own row (it expires with it), in three attributes whatever the window:
 * `fw` the window counted, `fc` its count, `fp` the window before's. Within a window a report is one UpdateItem; the
 * first report of a window moves the count over, which takes one more (two if the row's window is older than the last
 * one, a third if another container moved it meanwhile). A row that is gone (the connection closed) counts nothing.
 */
export function reportToConnectionRow(table: string): ReportFrames {
  const update = async (
    key: { clientId: string; connectionId: string },
    expression: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<WindowCounts | undefined> => {
    try {
      const { Attributes } = await dynamo.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(connectionId) AND (${condition})`,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { previous: Number(Attributes?.fp ?? 0), current: Number(Attributes?.fc ?? 0) };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  };
  return async (caller, index, count) => {
    const key = { clientId: caller.clientId, connectionId: caller.connectionId };
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const within = await update(key, 'ADD fc :n SET fp = if_not_exists(fp, :zero)', 'fw = :w', {
          ':n': count,
          ':zero': 0,
          ':w': index,
        });
        if (within) return within;
        const next = await update(key, 'SET fp = fc, fc = :n, fw = :w', 'fw = :before', {
          ':n': count,
          ':w': index,
          ':before': index - 1,
        });
        if (next) return next;
        const fresh = await update(
          key,
          'SET fp = :zero, fc = :n, fw = :w',
          'attribute_not_exists(fw) OR fw < :before',
          {
            ':n': count,
            ':zero': 0,
            ':w': index,
            ':before': index - 1,
          },
        );
        if (fresh) return fresh;
        // Another container moved the window meanwhile, or the row is gone: try once more, then let the frame through.
      }
      return undefined;
    } catch (err) {
      // A limit that cannot be counted lets the frame through: it protects the service, it must not stop it. ERROR,
      // not WARN: a refused request (an IAM or validation error) would switch the limit off for good.
      logger.error('frame count not recorded', err instanceof Error ? err : String(err));
      return undefined;
    }
  };
}
