/**
 * Codes the SDK itself gives, beside the server's (`BadRequest`, `PayloadTooLarge`, `Forbidden`, `RateLimited`,
 * `UnknownAction`, `Unauthorized`, `StaleLease`, `QueueFull`, `Internal`, …), which pass through as they come.
 */
export const CLIENT_CODES = {
  /** More requests waiting than `maxQueued` while the connection is down. */
  OfflineQueueFull: 'OfflineQueueFull',
  /** `close()` was called before the request got its reply. */
  Closed: 'Closed',
  /** The connection dropped before the reply of a request that cannot be resent (a job's lease ended with it). */
  Disconnected: 'Disconnected',
  /** The SDK was loaded where it cannot work (no WebSocket, or the Node entry in a browser). */
  Unsupported: 'Unsupported',
  /** A handler threw or rejected; the message stays pending, a job is nacked. */
  HandlerFailed: 'HandlerFailed',
} as const;

/** The one error class of the SDK: the server's `code` and `message` (or the SDK's own), and the request's `ref`. */
export class PostboxError extends Error {
  override readonly name = 'PostboxError';

  constructor(
    readonly code: string,
    message: string,
    readonly details: { ref?: string; closeCode?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  /** The server's error frame, as an error. */
  static fromFrame(frame: { code: string; message: string; ref?: string; retryAfterMs?: number }): PostboxError {
    return new PostboxError(frame.code, frame.message, { ref: frame.ref, retryAfterMs: frame.retryAfterMs });
  }

  /** For `RateLimited`: how long the server asks to wait before the next frame. */
  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }

  get ref(): string | undefined {
    return this.details.ref;
  }

  /** The WebSocket close code of the connection that ended, for `Disconnected`. */
  get closeCode(): number | undefined {
    return this.details.closeCode;
  }
}
