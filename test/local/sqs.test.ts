import { createHash, randomUUID } from 'node:crypto';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvokeResult } from '../../local/gateway/types.js';
import { startSqs } from '../../local/services/sqs.js';
import { Spy } from '../../local/spy.js';
import { startEventSource } from '../../local/sqs/index.js';

type Handler = (event: SQSEvent, call: number) => unknown;

describe('SQS event source mapping (against fauxqs)', () => {
  let stopSqs: () => Promise<void>;
  let sqs: SQSClient;
  const running: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    const service = await startSqs('127.0.0.1');
    stopSqs = service.stop;
    sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: service.endpoint,
      useQueueUrlAsEndpoint: false,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    sqs.destroy();
    await stopSqs();
  });

  async function createQueue(attributes: Record<string, string> = {}) {
    const name = `q-${randomUUID().slice(0, 8)}`;
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { name, url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
  }

  /** Starts a mapping on a fresh queue whose function is `handler`; returns the queue, the spy and the events seen. */
  async function mapping(
    handler: Handler,
    options: {
      batchSize?: number;
      window?: number;
      report?: boolean;
      dlqMaxReceives?: number;
      concurrency?: number;
      instances?: number;
    } = {},
  ) {
    const spy = new Spy();
    const events: SQSEvent[] = [];
    const dlq = options.dlqMaxReceives ? await createQueue() : undefined;
    // Short visibility timeouts keep retries fast; with a batching window the timeout must outlast the window, or
    // messages reappear while the batch is still being gathered (AWS asks for 6 x timeout + window).
    const visibility = String((options.window ?? 0) + 1);
    const redrive = dlq && JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.dlqMaxReceives });
    const queue = await createQueue({ VisibilityTimeout: visibility, ...(redrive ? { RedrivePolicy: redrive } : {}) });
    const invoke = async (_id: string, event: unknown): Promise<InvokeResult> => {
      events.push(event as SQSEvent);
      try {
        return { ok: true, value: await handler(event as SQSEvent, events.length) };
      } catch (err) {
        return {
          ok: false,
          error: { name: (err as Error).name, message: (err as Error).message, requestId: randomUUID() },
        };
      }
    };
    running.push(
      startEventSource({
        config: {
          queueUrl: queue.url,
          queueArn: queue.arn,
          queueName: queue.name,
          region: 'us-east-1',
          functionId: 'Fn',
          functionName: 'Consumer',
          batchSize: options.batchSize ?? 10,
          windowSeconds: options.window ?? 0,
          reportBatchItemFailures: options.report ?? false,
        },
        maximumConcurrency: options.concurrency ?? 1,
        instances: options.instances,
        deadLetter: dlq && {
          queueName: queue.name,
          deadLetterQueueName: dlq.name,
          deadLetterQueueUrl: dlq.url,
          maxReceiveCount: options.dlqMaxReceives ?? 0,
        },
        sqs,
        invoke,
        spy,
        sink: () => {},
      }),
    );
    return { queue, dlq, spy, events };
  }

  const send = (url: string, bodies: string[]) =>
    sqs.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.map((b, i) => ({ Id: `e${i}`, MessageBody: b })) }),
    );

  async function inQueue(url: string): Promise<number> {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  }

  it('builds records exactly as Lambda does (parsed by Powertools SqsSchema)', async () => {
    const { queue, spy, events } = await mapping(() => null);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'greeting' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
        },
      }),
    );
    await spy.waitFor({ kind: 'batch', queueName: queue.name });
    const parsed = SqsSchema.parse(events[0]);
    const [record] = parsed.Records;
    expect(record).toMatchObject({
      body: '{"hello":"world"}',
      md5OfBody: createHash('md5').update('{"hello":"world"}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {
        kind: { stringValue: 'greeting', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: Buffer.from('bytes').toString('base64'), dataType: 'Binary' },
      },
    });
    expect(record?.attributes.SentTimestamp).toMatch(/^\d{13}$/);
    expect(await inQueue(queue.url)).toBe(0);
  });

  it('fills batches up to BatchSize within the batching window', async () => {
    const { queue, spy } = await mapping(() => null, { batchSize: 5, window: 1 });
    await send(queue.url, ['1', '2', '3', '4', '5', '6', '7']);
    await spy.waitFor({ kind: 'batch', size: 2 });
    expect(spy.events({ kind: 'batch' }).map((b) => b.size)).toEqual([5, 2]);
  });

  it('runs up to MaximumConcurrency batches at once, and no more than the function has instances', async () => {
    const peakOf = async (options: { concurrency: number; instances?: number }) => {
      let running = 0;
      let peak = 0;
      const { queue, spy } = await mapping(
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 300));
          running -= 1;
          return null;
        },
        { batchSize: 1, ...options },
      );
      await send(queue.url, ['1', '2', '3', '4', '5', '6']);
      await expect.poll(() => spy.events({ kind: 'batch' }).length, { timeout: 10_000 }).toBe(6);
      return peak;
    };
    const [free, capped] = await Promise.all([peakOf({ concurrency: 3 }), peakOf({ concurrency: 3, instances: 1 })]);
    expect(free).toBe(3);
    expect(capped).toBe(1);
  });

  it('waits for the window to gather messages sent apart, and not without one', async () => {
    const windowed = await mapping(() => null, { window: 1 });
    const immediate = await mapping(() => null, { window: 0 });
    for (const q of [windowed, immediate]) await send(q.queue.url, ['a']);
    await new Promise((r) => setTimeout(r, 300));
    for (const q of [windowed, immediate]) await send(q.queue.url, ['b']);
    await windowed.spy.waitFor({ kind: 'batch', size: 2 });
    await expect.poll(() => immediate.spy.events({ kind: 'batch' }).map((b) => b.size)).toEqual([1, 1]);
  });

  it('deletes nothing when the function fails: the batch comes back after the visibility timeout', async () => {
    const { queue, spy, events } = await mapping((_e, call) => {
      if (call === 1) throw new Error('boom');
      return null;
    });
    await send(queue.url, ['retry me']);
    await spy.waitFor({ kind: 'batch', failed: 1 });
    expect(await inQueue(queue.url)).toBe(1);
    await spy.waitFor({ kind: 'batch', failed: 0 });
    expect(events[1]?.Records[0]).toMatchObject({ body: 'retry me', attributes: { ApproximateReceiveCount: '2' } });
    expect(await inQueue(queue.url)).toBe(0);
  });

  const failFirst = (event: SQSEvent) => ({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] });

  it('retries only the reported items when the mapping has ReportBatchItemFailures', async () => {
    const { queue, spy, events } = await mapping((e, call) => (call === 1 ? failFirst(e) : {}), {
      window: 1,
      report: true,
    });
    await send(queue.url, ['x', 'y', 'z']);
    await spy.waitFor({ kind: 'batch', size: 3, failed: 1 });
    expect(await inQueue(queue.url)).toBe(1);
    await spy.waitFor({ kind: 'batch', size: 1, failed: 0 });
    expect(events[1]?.Records.map((r) => r.messageId)).toEqual([events[0]?.Records[0]?.messageId]);
  });

  it('ignores batchItemFailures when the mapping does not report them', async () => {
    const { queue, spy } = await mapping(failFirst, { window: 1 });
    await send(queue.url, ['x', 'y', 'z']);
    await spy.waitFor({ kind: 'batch', size: 3, failed: 0 });
    expect(await inQueue(queue.url)).toBe(0);
  });

  it.each([
    ['an id not in the batch', { batchItemFailures: [{ itemIdentifier: 'not-a-message-id' }] }],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a wrong key', { batchItemFailures: [{ itemId: 'x' }] }],
  ])('retries the whole batch on a malformed response (%s)', async (_name, response) => {
    const { queue, spy } = await mapping((_e, call) => (call === 1 ? response : null), { window: 1, report: true });
    await send(queue.url, ['x', 'y']);
    await spy.waitFor({ kind: 'batch', size: 2, failed: 2 });
    expect(await inQueue(queue.url)).toBe(2);
    await spy.waitFor({ kind: 'batch', failed: 0 });
  });

  it('treats an empty list or a misspelled top-level key as full success, as AWS does', async () => {
    const { queue, spy } = await mapping(() => ({ batchItemFailure: [{ itemIdentifier: 'x' }] }), { report: true });
    await send(queue.url, ['x']);
    await spy.waitFor({ kind: 'batch', failed: 0 });
    expect(await inQueue(queue.url)).toBe(0);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount failed receives', async () => {
    const { queue, dlq, spy, events } = await mapping(
      () => {
        throw new Error('always');
      },
      { dlqMaxReceives: 2 },
    );
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'poison' }));
    const dead = await spy.waitFor({ kind: 'dead-letter', messageId: MessageId }, 10_000);
    expect(dead).toMatchObject({ queueName: queue.name, deadLetterQueueName: dlq?.name });
    expect(events.map((e) => e.Records[0]?.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq?.url, WaitTimeSeconds: 1 }));
    expect(Messages.map((m) => m.MessageId)).toEqual([MessageId]);
  });
});
