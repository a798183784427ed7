import { randomBytes, randomUUID } from 'node:crypto';
import type { FunctionModel } from '../template/types.js';
import type { ContextFields } from './protocol.js';

/**
 * A log stream name as Lambda gives each execution environment: `YYYY/MM/DD/[$LATEST]` and 32 hex digits
 * (one stream per sandbox, so requests served by the same warm instance share it).
 */
export function newLogStreamName(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/** A fresh context for one invocation: a new request id, everything else from the function's configuration. */
export function contextFor(fn: FunctionModel, logStreamName: string): ContextFields {
  return {
    awsRequestId: randomUUID(),
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memoryMb),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName,
  };
}
