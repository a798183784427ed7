/** What the scanner reports for each frame, as soon as the frame's header has arrived. */
export interface FrameHeader {
  fin: boolean;
  opcode: number;
  /** Payload length in bytes. */
  length: number;
}

/**
 * Reads WebSocket frame headers (RFC 6455 §5.2) off the raw TCP stream, beside `ws`. `ws` only reports whole
 * messages and its `maxPayload` caps a message, not a frame, while API Gateway caps both: 32 KB per frame and
 * 128 KB per message, each closing with 1009. So the gateway gives `ws` the message cap and watches frame
 * lengths here. Payload bytes are skipped, never copied; the scanner sees a frame's length before its payload,
 * so an oversized frame is refused before `ws` can deliver it.
 */
export class FrameScanner {
  #header: number[] = [];
  #payloadLeft = 0;

  constructor(private readonly onFrame: (frame: FrameHeader) => void) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#payloadLeft > 0) {
        const skipped = Math.min(this.#payloadLeft, chunk.length - i);
        this.#payloadLeft -= skipped;
        i += skipped;
        continue;
      }
      this.#header.push(chunk[i++] as number);
      const frame = parseHeader(this.#header);
      if (frame) {
        this.#header = [];
        this.#payloadLeft = frame.length;
        this.onFrame(frame);
      }
    }
  }
}

/** The frame described by `bytes`, or `undefined` while the header is still incomplete. */
function parseHeader(bytes: number[]): FrameHeader | undefined {
  if (bytes.length < 2) return undefined;
  const [first = 0, second = 0] = bytes;
  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = ((bytes[2] as number) << 8) | (bytes[3] as number);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = bytes.slice(2, 10).reduce((sum, byte) => sum * 256 + byte, 0);
    offset = 10;
  }
  const masked = (second & 0x80) !== 0;
  if (bytes.length < offset + (masked ? 4 : 0)) return undefined;
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, length };
}
