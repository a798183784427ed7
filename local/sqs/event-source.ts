import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Invoke } from '../gateway/types.js';
import type { LogSink } from '../lambda/logs.js';
import type { Spy } from '../spy.js';
import { type DeadLetterTarget, DeadLetterWatch } from './dead-letters.js';
import { type PollerConfig, runPoller } from './poller.js';

/**
 * Concurrent batches when the mapping sets no `ScalingConfig.MaximumConcurrency`: Lambda starts an SQS mapping at
 * five concurrent batches and scales up from there under load [SQS-SCALE]; locally it stays at five.
 */
export const DEFAULT_POLLERS = 5;

export interface EventSourceOptions {
  config: PollerConfig;
  maximumConcurrency?: number;
  /**
   * How many instances of the function can run at once here. On AWS each poller's batch gets an instance of its
   * own at once; a local poller with no instance to run its batch would sit on it while its visibility timeout runs,
   * and the backlog would be cut into many small batches. So pollers are capped at this number.
   */
  instances?: number;
  deadLetter?: DeadLetterTarget;
  sqs: SQSClient;
  invoke: Invoke;
  spy: Spy;
  sink: LogSink;
}

export interface RunningEventSource {
  stop(): Promise<void>;
}

/**
 * Runs one SQS event source mapping: up to `MaximumConcurrency` pollers (no more than the function's local
 * instances), each handling one batch at a time.
 */
export function startEventSource(options: EventSourceOptions): RunningEventSource {
  const controller = new AbortController();
  const deadLetters = options.deadLetter && new DeadLetterWatch(options.sqs, options.deadLetter, options.spy);
  const deps = { sqs: options.sqs, invoke: options.invoke, spy: options.spy, sink: options.sink, deadLetters };
  const count = Math.min(options.maximumConcurrency ?? DEFAULT_POLLERS, options.instances ?? Number.POSITIVE_INFINITY);
  const pollers = Array.from({ length: Math.max(1, count) }, () => runPoller(options.config, deps, controller.signal));
  return {
    async stop() {
      // Aborting ends the pending long polls at once; a batch already handed to the function is finished and
      // settled (deleted or left) first, so a clean stop does not cause redeliveries.
      controller.abort();
      await Promise.allSettled(pollers);
      deadLetters?.stop();
    },
  };
}
