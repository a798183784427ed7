/** The `code` of an error frame (DESIGN.md, wire protocol). */
export type ErrorCode =
  | 'BadRequest'
  | 'UnknownAction'
  | 'PayloadTooLarge'
  | 'Unauthorized'
  | 'Forbidden'
  | 'RateLimited'
  | 'StaleLease'
  | 'QueueFull'
  | 'Internal';

/** A failure the client caused or must hear about; the route wrapper turns it into an error frame. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}
