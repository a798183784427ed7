import { originOf } from './origin.js';
import { referencesOfType } from './references.js';
import { unsupportedValue } from './support.js';
import type { CfnResource, CfnTemplate, EventSourceMappingModel, FunctionModel, QueueModel } from './types.js';

/**
 * Models an `AWS::Lambda::EventSourceMapping` from a queue of this stack to a function of this stack, with the
 * checks CreateEventSourceMapping itself makes, so a stack that would not deploy does not run locally either.
 */
export function buildEventSourceMapping(
  logicalId: string,
  resource: CfnResource,
  template: CfnTemplate,
  queues: Map<string, QueueModel>,
  functions: Map<string, FunctionModel>,
): EventSourceMappingModel {
  const props = resource.Properties ?? {};
  const [queueId] = referencesOfType(template, props.EventSourceArn, 'AWS::SQS::Queue');
  const queue = queueId ? queues.get(queueId) : undefined;
  if (!queue) throw unsupportedValue(logicalId, template, 'EventSourceArn', 'only queues of this stack are supported');
  const [functionId] = referencesOfType(template, props.FunctionName, 'AWS::Lambda::Function');
  const fn = functionId ? functions.get(functionId) : undefined;
  if (!fn) throw unsupportedValue(logicalId, template, 'FunctionName', 'the function must be in this stack');

  const batchSize = Number(props.BatchSize ?? 10);
  const window = Number(props.MaximumBatchingWindowInSeconds ?? 0);
  // BatchSize above 10 needs a batching window of at least 1 s [SQS-PARAMS]; FIFO caps it at 10.
  if (batchSize < 1 || batchSize > (queue.fifo ? 10 : 10_000) || (batchSize > 10 && window < 1)) {
    throw unsupportedValue(
      logicalId,
      template,
      'BatchSize',
      `${batchSize} is not accepted by Lambda with a ${window} s window`,
    );
  }
  // CreateEventSourceMapping fails with this message when the queue would hand the batch to another poller while
  // the function may still be running [SQS-CFG][VIS-ERR].
  if (queue.visibilityTimeoutSeconds < fn.timeoutSeconds) {
    throw unsupportedValue(
      logicalId,
      template,
      'EventSourceArn',
      `Queue visibility timeout: ${queue.visibilityTimeoutSeconds} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds`,
    );
  }
  const scaling = props.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
  const types = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
  return {
    ...originOf(logicalId, resource),
    queueId: queue.logicalId,
    functionId: fn.logicalId,
    batchSize,
    maximumBatchingWindowSeconds: window,
    reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
    maximumConcurrency: scaling?.MaximumConcurrency === undefined ? undefined : Number(scaling.MaximumConcurrency),
    enabled: props.Enabled === undefined ? true : props.Enabled === true || props.Enabled === 'true',
  };
}
