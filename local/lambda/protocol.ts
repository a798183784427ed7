import type { HostRoutes } from './network.ts';

/** What the main thread tells a sandbox worker when it starts it. */
export interface SandboxData {
  taskRoot: string;
  handler: string;
  handlerFile: string;
  handlerExport: string;
  /** Which AWS hosts the function's requests are sent to locally; every other AWS host is refused. */
  routes: HostRoutes;
}

/** The serializable part of the Lambda context object; the worker adds `getRemainingTimeInMillis`. */
export interface ContextFields {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
}

export interface InvokeMessage {
  /** The event as JSON text: Lambda events are JSON documents. */
  event: string;
  context: ContextFields;
  /** Epoch ms at which the function times out. */
  deadline: number;
}

export interface ErrorShape {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { type: 'result'; requestId: string; ok: true; payload: string }
  | { type: 'result'; requestId: string; ok: false; fatal: boolean; error: ErrorShape }
  | { type: 'crash'; requestId: string | undefined; error: ErrorShape };
