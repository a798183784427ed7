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

  /** Message frames received so far. */
  messages(): Frame[] {
    return this.frames.filter((f) => f.type === 'message');
  }

  async close(): Promise<void> {
    if (this.ws.socket.readyState === this.ws.socket.CLOSED) return;
    await this.ws.close();
  }
}
