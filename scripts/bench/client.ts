import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/** Bench payload: its sequence number, the publisher's send time (this process's clock) and padding. */
export interface BenchPayload {
  n: number;
  t: number;
  pad: string;
}

/**
 * A payload of exactly `bytes` bytes of JSON for message `n`, stamped with `sentAt` (default now). A latency run
 * passes the time the message was due, so a stall in this process before the send counts as latency too.
 */
export function payloadOf(n: number, bytes: number, sentAt = performance.now()): BenchPayload {
  const payload = { n, t: Number(sentAt.toFixed(3)), pad: '' };
  payload.pad = 'x'.repeat(Math.max(0, bytes - Buffer.byteLength(JSON.stringify(payload))));
  return payload;
}

export interface ClientOptions {
  /** Ack once this many messages are pending… @default 50 */
  ackEvery?: number;
  /** …or this long after the first pending one. @default 20 */
  ackAfterMs?: number;
  /** Called on the first receipt of each message id with its publish → receive latency. */
  onMessage?: (n: number, latencyMs: number) => void;
  /**
   * Publishes waiting while a publish frame is in flight go out together in the next one (up to 10), as an SDK
   * would batch them. @default false
   */
  batchPublish?: boolean;
  /** Called on each work-queue `job` frame pushed to this client. */
  onJob?: (job: Record<string, unknown>, client: BenchClient) => void;
}

interface Outgoing {
  topic: string;
  payload: BenchPayload;
  resolve(id: string): void;
  reject(error: Error): void;
}

interface Pending {
  action: unknown;
  resolve(reply: Record<string, unknown>): void;
  reject(error: Error): void;
}

const MAX_ACK_IDS = 100;
const APIGW_UNIT = 32 * 1024;

/**
 * One benchmark WebSocket client speaking the Postbox protocol: requests carry a `ref` and resolve with the reply
 * that echoes it; messages are acked in batches as an SDK would; duplicates are counted, before and after the ack.
 */
export class BenchClient {
  readonly #socket: WebSocket;
  readonly #pending = new Map<string, Pending>();
  readonly #options: Required<Omit<ClientOptions, 'onMessage' | 'onJob'>> & Pick<ClientOptions, 'onMessage' | 'onJob'>;
  readonly #outbox: Outgoing[] = [];
  #publishing = false;
  readonly #received = new Set<string>();
  readonly #acked = new Set<string>();
  /** The seqs waiting for their ack, and the message each names. */
  readonly #idOfSeq = new Map<string, string>();
  #toAck: string[] = [];
  #ackTimer: NodeJS.Timeout | undefined;
  #acking = false;
  #closed = false;
  #nextRef = 0;
  /** Message numbers received (first receipts). */
  readonly numbers = new Set<number>();
  duplicatesBeforeAck = 0;
  duplicatesAfterAck = 0;
  /** Messages whose ack the server confirmed. */
  ackedCount = 0;
  /** Frames this client sent, in API Gateway's 32 KB metering units. */
  messagesIn = 0;
  errors = 0;

  private constructor(socket: WebSocket, options: ClientOptions) {
    this.#socket = socket;
    this.#options = { ackEvery: 50, ackAfterMs: 20, batchPublish: false, ...options };
    socket.on('message', (data) => this.#onFrame(String(data)));
    socket.on('close', () => {
      for (const pending of this.#pending.values()) pending.reject(new Error('connection closed'));
      this.#pending.clear();
    });
  }

  static connect(url: string, options: ClientOptions = {}, timeoutMs = 10_000): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { handshakeTimeout: timeoutMs });
      socket.once('open', () => resolve(new BenchClient(socket, options)));
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`WebSocket handshake refused with HTTP ${res.statusCode}`)),
      );
      socket.once('error', reject);
    });
  }

  /** Sends `frame` with a fresh `ref`; resolves with the reply echoing it, rejects on an error reply. */
  request(frame: Record<string, unknown>, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const ref = `r${this.#nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        reject(new Error(`no reply to ${String(frame.action)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          fn(value);
        };
      this.#pending.set(ref, { action: frame.action, resolve: settle(resolve), reject: settle(reject) });
      this.#send({ ...frame, ref });
    });
  }

  /** Subscribes, retrying (it is idempotent) when the gateway answers with an error frame. */
  async subscribe(topic: string, attempts = 10): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request({ action: 'subscribe', topic });
        return;
      } catch (err) {
        if (attempt >= attempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 200));
      }
    }
  }

  /** Publishes and resolves with the accepted message id. */
  async publish(topic: string, payload: BenchPayload): Promise<string> {
    if (!this.#options.batchPublish) {
      const reply = await this.request({ action: 'publish', topic, payload });
      return String(reply.id);
    }
    return new Promise((resolve, reject) => {
      this.#outbox.push({ topic, payload, resolve, reject });
      this.#flushPublishes();
    });
  }

  /** One publish frame in flight at a time; what waits meanwhile goes in the next, one topic per frame. */
  #flushPublishes(): void {
    const first = this.#outbox[0];
    if (this.#publishing || !first) return;
    let count = 0;
    while (count < 10 && this.#outbox[count]?.topic === first.topic) count++;
    const batch = this.#outbox.splice(0, count);
    this.#publishing = true;
    const frame =
      batch.length === 1
        ? { action: 'publish', topic: first.topic, payload: first.payload }
        : { action: 'publish', topic: first.topic, messages: batch.map(({ payload }) => ({ payload })) };
    this.request(frame)
      .then(
        (reply) => {
          const ids = Array.isArray(reply.ids) ? (reply.ids as string[]) : [String(reply.id)];
          for (const [i, outgoing] of batch.entries()) outgoing.resolve(String(ids[i]));
        },
        (err: Error) => {
          for (const outgoing of batch) outgoing.reject(err);
        },
      )
      .finally(() => {
        this.#publishing = false;
        this.#flushPublishes();
      });
  }

  /** Sends the pending acks now (and resolves once confirmed); one ack frame in flight at a time, as an SDK would. */
  async flushAcks(): Promise<void> {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (this.#acking || this.#closed) return;
    this.#acking = true;
    try {
      await this.#sendAcks();
    } finally {
      this.#acking = false;
    }
    if (this.#toAck.length > 0) this.#ackTimer ??= setTimeout(() => void this.flushAcks(), this.#options.ackAfterMs);
  }

  async #sendAcks(): Promise<void> {
    const batches: string[][] = [];
    while (this.#toAck.length > 0) batches.push(this.#toAck.splice(0, MAX_ACK_IDS));
    await Promise.all(
      batches.map(async (seqs) => {
        try {
          // By seq, as the SDK acks: the server deletes by position with no lookup.
          await this.request({ action: 'ack', seqs });
          for (const seq of seqs) {
            const id = this.#idOfSeq.get(seq) as string;
            this.#idOfSeq.delete(seq);
            if (this.#acked.has(id)) continue;
            this.#acked.add(id);
            this.ackedCount += 1;
          }
        } catch {
          // As an SDK would: the seqs go back to be acked again (acks are idempotent).
          this.errors += 1;
          this.#toAck.push(...seqs.filter((seq) => !this.#acked.has(this.#idOfSeq.get(seq) as string)));
          await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
        }
      }),
    );
  }

  close(): Promise<void> {
    // No ack is retried after this: a retry loop on a closed socket would keep the process alive.
    this.#closed = true;
    clearTimeout(this.#ackTimer);
    if (this.#socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#socket.terminate();
        resolve();
      }, 2_000);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.close(1000);
    });
  }

  #send(frame: Record<string, unknown>): void {
    const text = JSON.stringify(frame);
    this.messagesIn += Math.max(1, Math.ceil(Buffer.byteLength(text) / APIGW_UNIT));
    this.#socket.send(text);
  }

  #onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.errors += 1;
      return;
    }
    if (frame.type === 'message') {
      this.#onMessage(frame);
      return;
    }
    if (frame.type === 'messages') {
      for (const item of frame.items as Record<string, unknown>[]) this.#onMessage(item);
      return;
    }
    if (frame.type === 'synced') return;
    if (frame.type === 'job') {
      this.#options.onJob?.(frame, this);
      return;
    }
    const pending = typeof frame.ref === 'string' ? this.#pending.get(frame.ref) : undefined;
    if (!pending) {
      // An error with no ref, or API Gateway's own `{"message":"Internal server error",…}` frame (e.g. a throttled
      // invocation), which names no request. Acks and subscribes are idempotent, so every one in flight is failed and
      // sent again; a publish has to wait for its timeout.
      if (frame.type !== 'error' && frame.type !== undefined) return;
      this.errors += 1;
      for (const [ref, waiting] of this.#pending) {
        if (waiting.action !== 'ack' && waiting.action !== 'subscribe') continue;
        this.#pending.delete(ref);
        waiting.reject(new Error('gateway error'));
      }
      return;
    }
    this.#pending.delete(frame.ref as string);
    if (frame.type === 'error') pending.reject(new Error(`${String(frame.code)}: ${String(frame.message)}`));
    else pending.resolve(frame);
  }

  #onMessage(frame: Record<string, unknown>): void {
    const id = String(frame.id);
    if (this.#acked.has(id)) {
      this.duplicatesAfterAck += 1;
      return;
    }
    if (this.#received.has(id)) {
      this.duplicatesBeforeAck += 1;
      return;
    }
    this.#received.add(id);
    const payload = frame.payload as Partial<BenchPayload> | undefined;
    if (typeof payload?.n === 'number') {
      this.numbers.add(payload.n);
      this.#options.onMessage?.(payload.n, performance.now() - Number(payload.t));
    }
    if (typeof frame.seq !== 'string') {
      this.errors += 1; // every frame Postbox sends carries its seq; without one there is nothing to ack by
      return;
    }
    const seq = frame.seq;
    this.#idOfSeq.set(seq, id);
    this.#toAck.push(seq);
    if (this.#toAck.length >= this.#options.ackEvery) void this.flushAcks();
    else this.#ackTimer ??= setTimeout(() => void this.flushAcks(), this.#options.ackAfterMs);
  }
}
