import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

/** `$connect` accepts; `echo` queues the frame's body as a job and answers with it (a two-way route). */
export async function handler(event: { body?: string; requestContext: { routeKey: string } }): Promise<unknown> {
  if (event.requestContext.routeKey === '$connect') return { statusCode: 200 };
  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.JOBS_QUEUE_URL, MessageBody: event.body ?? '' }));
  return { statusCode: 200, body: JSON.stringify({ echo: event.body, callback: process.env.CALLBACK_URL }) };
}
