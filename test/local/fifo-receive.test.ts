import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsFor, createQueue, type Services, startServices } from '../../local/services/index.js';

// AWS returns several messages of one FIFO message group in a single receive, in order, and none of a group whose
// messages are in flight; the embedded SQS must do the same (local/services/fifo-receive.ts).
let services: Services;
let sqs: ReturnType<typeof clientsFor>['sqs'];
let url: string;
beforeAll(async () => {
  services = await startServices({});
  sqs = clientsFor(services).sqs;
  ({ url } = await createQueue(sqs, 'orders.fifo', { FifoQueue: 'true', VisibilityTimeout: 30 }));
});
afterAll(() => services?.stop());

const send = (group: string, bodies: string[]) =>
  sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: bodies.map((body, i) => ({
        Id: String(i),
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: `${group}-${body}`,
      })),
    }),
  );
const receive = async (max = 10) =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max, WaitTimeSeconds: 0 })))
    .Messages ?? [];

describe('embedded SQS, FIFO receive', () => {
  it('gives up to MaxNumberOfMessages of one group in one receive, in the order they were sent', async () => {
    await send('a', ['a1', 'a2', 'a3', 'a4']);
    await send('b', ['b1', 'b2']);
    const first = await receive(5);
    // Groups mix, and each group's messages come in order.
    expect(first.map((m) => m.Body)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);

    // What is left of a group with messages in flight is not given to anyone else.
    expect(await receive()).toEqual([]);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: first.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    expect((await receive()).map((m) => m.Body)).toEqual(['a4']);
  });

  it('keeps a long poll waiting while only a group in flight gets messages, and answers when another can be had', async () => {
    await send('c', ['c1']);
    const inFlight = await receive();
    expect(inFlight.map((m) => m.Body)).toEqual(['c1']);
    const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }));
    let answered: string[] | undefined;
    void poll.then((r) => {
      answered = (r.Messages ?? []).map((m) => String(m.Body));
    });
    // AWS does not answer a long poll with nothing because a message came for a group it cannot give out.
    await send('c', ['c2']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered).toBeUndefined();
    await send('d', ['d1']);
    await poll;
    expect(answered).toEqual(['d1']);
    const left = [...inFlight, ...((await poll).Messages ?? [])];
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: left.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    expect((await receive()).map((m) => m.Body)).toEqual(['c2']);
  });
});
