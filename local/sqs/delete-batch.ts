import { DeleteMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

/** Deletes processed messages, ten per DeleteMessageBatch call (the API's limit); returns the entries SQS refused. */
export async function deleteMessages(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<string[]> {
  const refused: string[] = [];
  for (let start = 0; start < messages.length; start += 10) {
    const chunk = messages.slice(start, start + 10);
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, i) => ({ Id: `m${start + i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    for (const f of Failed) refused.push(`${f.Id}: ${f.Code} ${f.Message ?? ''}`);
  }
  return refused;
}
