import { WsClient } from './ws.js';

export type Frame = Record<string, unknown>;

/** A Postbox protocol client for tests: JSON frames over the raw `WsClient`, read in arrival order. */
export class TestClient {
  /** Every frame received so far, parsed. */
  get frames(): Frame[] {
    return this.ws.messages.map((text) => JSON.parse(text) as Frame);
  }

  private constructor(readonly ws: WsClient) {}

  /** Opens a connection; rejects with `Unexpected server response: <status>` if the handshake is refused. */
  static async connect(url: string): Promise<TestClient> {
    return new TestClient(await WsClient.connect(url));
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /**
   * Sends one message split into WebSocket frames of at most `frameBytes`: API Gateway closes the connection (1009)
   * on a frame over 32 KB, so a larger message must be fragmented, as browsers and wscat do not do by themselves.
   */
  sendFragmented(frame: unknown, frameBytes = 32_768): void {
    const data = Buffer.from(JSON.stringify(frame));
    for (let offset = 0; offset < data.length; offset += frameBytes) {
      const fin = offset + frameBytes >= data.length;
      this.ws.socket.send(data.subarray(offset, offset + frameBytes), { fin, binary: false });
    }
  }

  /** The next frame not yet read, waiting for it up to `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<Frame> {
    return JSON.parse(await this.ws.next(timeoutMs)) as Frame;
  }

  /** Reads frames until one matches, returning it. */
  async nextMatching(predicate: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      if (predicate(frame)) return frame;
    }
  }

  /** Sends a frame with a fresh `ref` and waits for the reply that echoes it. */
  async request(frame: Frame, timeoutMs = 5_000): Promise<Frame> {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    this.send({ ...frame, ref });
    return this.nextMatching((f) => f.ref === ref, timeoutMs);
  }

  /** Messages received so far, in arrival order, each as a `message` frame (a `messages` frame's items unpacked). */
  messages(): Frame[] {
    return this.frames.flatMap((f) =>
      f.type === 'message'
        ? [f]
        : f.type === 'messages'
          ? (f.items as Frame[]).map((item) => ({ type: 'message', ...item }))
          : [],
    );
  }

  #messagesRead = 0;

  /**
   * The next `count` messages not yet returned by this method, waiting up to `timeoutMs` for them. It keeps its own
   * place, apart from `next`, so a `request` that skips message frames on its way to the reply loses none here.
   */
  async receive(count: number, timeoutMs = 15_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = this.messages();
      if (all.length >= this.#messagesRead + count) {
        const batch = all.slice(this.#messagesRead, this.#messagesRead + count);
        this.#messagesRead += count;
        return batch;
      }
      if (Date.now() > deadline)
        throw new Error(`${all.length - this.#messagesRead} of ${count} messages within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Resolves with the first frame of `type` received since frame number `from`, waiting up to `timeoutMs`. */
  async frameOf(type: string, from = 0, timeoutMs = 15_000): Promise<Frame & { index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frames = this.frames;
      const index = frames.findIndex((f, i) => i >= from && f.type === type);
      if (index >= 0) return { ...(frames[index] as Frame), index };
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    if (this.ws.socket.readyState === this.ws.socket.CLOSED) return;
    await this.ws.close();
  }
}
