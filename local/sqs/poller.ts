import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { Invoke } from '../gateway/types.js';
import type { LogSink } from '../lambda/logs.js';
import type { Spy } from '../spy.js';
import { type BatchOutcome, interpretResponse } from './batch-response.js';
import type { DeadLetterWatch } from './dead-letters.js';
import { deleteMessages } from './delete-batch.js';
import { type BatchSettings, receiveBatch } from './receive-batch.js';
import { toSqsRecord } from './records.js';

export interface PollerDeps {
  sqs: SQSClient;
  invoke: Invoke;
  spy: Spy;
  sink: LogSink;
  deadLetters?: DeadLetterWatch;
}

export interface PollerConfig extends BatchSettings {
  functionId: string;
  /** The name reported in logs and spy events. */
  functionName: string;
  queueName: string;
  queueArn: string;
  region: string;
  reportBatchItemFailures: boolean;
}

/**
 * One poller of an event source mapping: receive a batch, invoke the function synchronously, then delete what
 * succeeded — the mapping owns deletion, not the handler. On an error or timeout nothing is deleted and the batch
 * reappears after the visibility timeout with a higher receive count [LAMBDA-SQS-ARCH].
 */
export async function runPoller(config: PollerConfig, deps: PollerDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let batch: Message[];
    try {
      batch = await receiveBatch(deps.sqs, config, signal);
    } catch (err) {
      if (signal.aborted) return;
      deps.sink(`[ESM ${config.queueName}] ReceiveMessage failed: ${(err as Error).message}`);
      // Back off a second, but let stop() end the wait at once.
      await sleep(1000, undefined, { signal }).catch(() => {});
      continue;
    }
    if (batch.length > 0) await processBatch(batch, config, deps);
  }
}

async function processBatch(batch: Message[], config: PollerConfig, deps: PollerDeps): Promise<void> {
  for (const m of batch) deps.deadLetters?.received(m.MessageId ?? '');
  const event: SQSEvent = { Records: batch.map((m) => toSqsRecord(m, config.queueArn, config.region)) };
  const result = await deps.invoke(config.functionId, event);
  const ids = new Set(batch.map((m) => m.MessageId ?? ''));
  const outcome: BatchOutcome = result.ok
    ? interpretResponse(result.value, ids, config.reportBatchItemFailures)
    : { kind: 'failure', reason: `${result.error.name}: ${result.error.message}` };
  if (outcome.kind === 'failure' && result.ok) deps.sink(`[ESM ${config.queueName}] ${outcome.reason}`);

  const failed = batch.filter(
    (m) => outcome.kind === 'failure' || (outcome.kind === 'partial' && outcome.failed.has(m.MessageId ?? '')),
  );
  const done = batch.filter((m) => !failed.includes(m));
  const refused =
    done.length > 0 ? await deleteMessages(deps.sqs, config.queueUrl, done).catch((e) => [String(e)]) : [];
  for (const r of refused) deps.sink(`[ESM ${config.queueName}] DeleteMessageBatch refused ${r}`);
  deps.spy.emit({
    kind: 'batch',
    functionName: config.functionName,
    queueName: config.queueName,
    size: batch.length,
    failed: failed.length,
  });
  for (const m of failed) {
    await deps.deadLetters?.failed(m.MessageId ?? '', Number(m.Attributes?.ApproximateReceiveCount ?? 0));
  }
}
