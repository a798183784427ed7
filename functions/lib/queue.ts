import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sqs } from './clients.js';
import { type Message, messageSchema } from './protocol.js';

/** What travels on the ingest queue. */
export const ingestBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), message: messageSchema }),
  z.object({
    kind: z.literal('connected'),
    clientId: z.string(),
    connectionId: z.string(),
    connectedAt: z.number().optional(),
    /** Push only the inbox items routed before this time (epoch ms); newer ones had their live push. */
    routedBefore: z.number().optional(),
  }),
]);
export type IngestBody = z.infer<typeof ingestBody>;

export async function enqueueMessage(queueUrl: string, message: Message): Promise<void> {
  await send(queueUrl, { kind: 'message', message });
}

export interface ConnectedPush {
  clientId: string;
  connectionId: string;
  connectedAt: number;
  routedBefore: number;
}

/**
 * Asks the deliver function to push a connection's pending inbox. Delayed by a second because API Gateway answers
 * 410 to posts made while the connection's $connect is still running.
 */
export async function enqueueConnected(queueUrl: string, push: ConnectedPush): Promise<void> {
  await send(queueUrl, { kind: 'connected', ...push }, 1);
}

async function send(queueUrl: string, body: IngestBody, delaySeconds?: number): Promise<void> {
  await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body), DelaySeconds: delaySeconds }),
  );
}
