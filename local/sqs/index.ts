import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Invoke } from '../gateway/types.js';
import type { LogSink } from '../lambda/logs.js';
import type { Spy } from '../spy.js';
import type { TemplateModel } from '../template/types.js';
import { type RunningEventSource, startEventSource } from './event-source.js';

export { startEventSource } from './event-source.js';

export interface EventSourcesOptions {
  /** The caller's client for the SQS service (it owns it and destroys it). */
  sqs: SQSClient;
  invoke: Invoke;
  spy: Spy;
  sink: LogSink;
  /** How many instances of a function can run at once here (see `startEventSource`'s `instances`). */
  instancesOf?: (functionId: string) => number;
}

/** Starts every enabled SQS event source mapping of the model; the queues must have been created. */
export function startEventSources(model: TemplateModel, options: EventSourcesOptions): RunningEventSource {
  const { sqs } = options;
  const urlOf = (queueId: string) => {
    const url = model.physical.get(queueId)?.ref;
    if (!url) throw new Error(`queue ${queueId} has not been created`);
    return url;
  };
  const running = model.eventSourceMappings
    .filter((m) => m.enabled)
    .map((mapping) => {
      const queue = model.queues.get(mapping.queueId);
      const fn = model.functions.get(mapping.functionId);
      if (!queue || !fn) throw new Error(`${mapping.path}: queue or function missing from the model`);
      const dlq = queue.redrive && model.queues.get(queue.redrive.deadLetterQueueId);
      return startEventSource({
        config: {
          queueUrl: urlOf(queue.logicalId),
          queueArn: model.physical.get(queue.logicalId)?.attributes.Arn ?? '',
          queueName: queue.name,
          region: model.region,
          functionId: fn.logicalId,
          functionName: fn.displayName,
          batchSize: mapping.batchSize,
          windowSeconds: mapping.maximumBatchingWindowSeconds,
          reportBatchItemFailures: mapping.reportBatchItemFailures,
        },
        maximumConcurrency: mapping.maximumConcurrency,
        instances: options.instancesOf?.(fn.logicalId),
        deadLetter:
          dlq && queue.redrive
            ? {
                queueName: queue.name,
                deadLetterQueueName: dlq.name,
                deadLetterQueueUrl: urlOf(dlq.logicalId),
                maxReceiveCount: queue.redrive.maxReceiveCount,
              }
            : undefined,
        sqs,
        invoke: options.invoke,
        spy: options.spy,
        sink: options.sink,
      });
    });
  return {
    async stop() {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}
