import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface BatchSettings {
  queueUrl: string;
  batchSize: number;
  windowSeconds: number;
}

/** SQS's longest long poll. */
const MAX_WAIT_SECONDS = 20;
/** Lambda's synchronous invocation payload limit (6 MB); one more message could be up to 1 MiB. */
const PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Gathers one batch the way the event source mapping does [SQS-PARAMS]: long-poll until a message arrives, then
 * (with a batching window) keep receiving until the batch is full, the window has run out since the first
 * message, or the payload would pass the invocation limit. Without a window the first non-empty receive is the
 * batch. Rejects with an AbortError when `signal` fires during a poll.
 */
export async function receiveBatch(sqs: SQSClient, settings: BatchSettings, signal: AbortSignal): Promise<Message[]> {
  const batch: Message[] = [];
  let bytes = 0;
  let windowEnds: number | undefined;
  while (batch.length < settings.batchSize && bytes + MAX_MESSAGE_BYTES <= PAYLOAD_LIMIT_BYTES) {
    const remainingMs = windowEnds === undefined ? MAX_WAIT_SECONDS * 1000 : windowEnds - Date.now();
    if (remainingMs <= 0) break;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: settings.queueUrl,
        MaxNumberOfMessages: Math.min(10, settings.batchSize - batch.length),
        WaitTimeSeconds: Math.min(MAX_WAIT_SECONDS, Math.ceil(remainingMs / 1000)),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    for (const message of Messages) {
      batch.push(message);
      bytes += Buffer.byteLength(message.Body ?? '');
    }
    if (batch.length === 0) continue;
    windowEnds ??= Date.now() + settings.windowSeconds * 1000;
    if (settings.windowSeconds === 0) break;
  }
  return batch;
}
