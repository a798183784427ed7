import type { GatewayApi } from '../gateway/types.js';

/** A CloudFormation resource as it stands in a synthesized template. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Outputs?: Record<string, unknown>;
}

/** What the runtime knows about a resource it created: what `Ref` and `Fn::GetAtt` return for it. */
export interface Physical {
  /** `Ref`; absent until the resource exists (a queue's URL is known only once the queue is created). */
  ref?: string;
  attributes: Record<string, string>;
}

/** Physical values by logical id: the table intrinsics resolve against. */
export type PhysicalValues = Map<string, Physical>;

/** Where a resource came from, for messages: its logical id and its construct path. */
export interface ResourceOrigin {
  logicalId: string;
  /** `Metadata["aws:cdk:path"]`, else the logical id. */
  path: string;
}

export interface FunctionModel extends ResourceOrigin {
  /** The physical `FunctionName` (the template's, or one generated the way CloudFormation does). */
  name: string;
  /** The construct path without the stack and the trailing `/Resource`: short, readable, used in logs and the spy. */
  displayName: string;
  arn: string;
  /** `Handler` as written, e.g. `index.handler`. */
  handler: string;
  /** The folder Lambda would unzip the code into (`LAMBDA_TASK_ROOT`): the asset folder in cdk.out. */
  taskRoot: string;
  /** Absolute path of the module `Handler` names (`index.mjs`, `index.js` or `index.cjs`). */
  handlerFile: string;
  handlerExport: string;
  runtime: string;
  /** @default 3 (CloudFormation's default) */
  timeoutSeconds: number;
  /** @default 128 */
  memoryMb: number;
  /** `ReservedConcurrentExecutions`, which caps concurrent instances on AWS too. */
  reservedConcurrency?: number;
  /** `Environment.Variables`, unresolved: resolved once the resources and the gateway exist. */
  environment: Record<string, unknown>;
}

export interface QueueModel extends ResourceOrigin {
  name: string;
  fifo: boolean;
  /** The template's properties, unresolved. */
  properties: Record<string, unknown>;
  /** @default 30 (SQS's default) */
  visibilityTimeoutSeconds: number;
  redrive?: { deadLetterQueueId: string; maxReceiveCount: number };
}

export interface TableModel extends ResourceOrigin {
  name: string;
  properties: Record<string, unknown>;
}

export interface SecretModel extends ResourceOrigin {
  name: string;
  properties: Record<string, unknown>;
}

export interface EventSourceMappingModel extends ResourceOrigin {
  queueId: string;
  functionId: string;
  /** @default 10 */
  batchSize: number;
  /** @default 0 */
  maximumBatchingWindowSeconds: number;
  /** `FunctionResponseTypes` includes `ReportBatchItemFailures`. */
  reportBatchItemFailures: boolean;
  /** `ScalingConfig.MaximumConcurrency`; absent = Lambda's own scaling. */
  maximumConcurrency?: number;
  /** @default true */
  enabled: boolean;
}

export interface WebSocketApiModel extends ResourceOrigin {
  gateway: GatewayApi;
  /** Integration timeouts by route key, when the template sets `TimeoutInMillis` (29 s otherwise). */
  integrationTimeoutsMs: Map<string, number>;
}

/** Everything the local runtime runs, found in the template by type and reference. */
export interface TemplateModel {
  stackName: string;
  region: string;
  accountId: string;
  /** Absolute path of the cloud assembly the template came from. */
  cdkOut: string;
  template: CfnTemplate;
  functions: Map<string, FunctionModel>;
  queues: Map<string, QueueModel>;
  tables: Map<string, TableModel>;
  secrets: Map<string, SecretModel>;
  eventSourceMappings: EventSourceMappingModel[];
  api?: WebSocketApiModel;
  /** Physical values known before anything is created (names, ARNs, ids); the runtime adds URLs and secret ARNs. */
  physical: PhysicalValues;
  /** The exports of the stacks loaded with this one, by export name: what `Fn::ImportValue` resolves against. */
  imports: Map<string, StackExport>;
}

/** An `Outputs` entry with an `Export`: its value is resolved in the exporting stack. */
export interface StackExport {
  model: TemplateModel;
  outputId: string;
  value: unknown;
}
