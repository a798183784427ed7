/**
 * `@connections` errors in their wire form: AWS name (sent as `x-amzn-ErrorType`, which the SDK turns into the
 * error class), HTTP status and message. Statuses come from the service's Smithy model
 * (aws-sdk-js-v3 `codegen/sdk-codegen/aws-models/apigatewaymanagementapi.json`). Actions throw these; only the
 * router serializes them, and it rethrows anything else (an emulator bug must not look like an AWS error).
 */
export class GatewayError extends Error {
  constructor(
    readonly awsName: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = awsName;
  }
}

/** 403: unauthorised, or a URL that names no operation (for example a missing or wrong stage). */
export class ForbiddenError extends GatewayError {
  constructor(message = 'Forbidden') {
    super('ForbiddenException', 403, message);
  }
}

/** 410: the connection is closed, unknown, or not established yet (its `$connect` is still running). */
export class GoneError extends GatewayError {
  constructor(connectionId: string) {
    super('GoneException', 410, `Connection ${connectionId} is gone`);
  }
}

/** 413: PostToConnection `Data` over 131072 bytes. */
export class PayloadTooLargeError extends GatewayError {
  constructor(size: number, max: number) {
    super('PayloadTooLargeException', 413, `Message of ${size} bytes exceeds the ${max}-byte limit`);
  }
}

/** 429: the account's `@connections` rate was exceeded (throttling); the connection itself is fine. */
export class LimitExceededError extends GatewayError {
  constructor(message = 'Rate exceeded') {
    super('LimitExceededException', 429, message);
  }
}
