import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sqs } from './clients.js';
import { jsonOf, type Message, messageSchema } from './protocol.js';

/** What travels on the ingest queue (FIFO, one message group per publisher): one message, or one publish's batch. */
export const ingestBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), message: messageSchema }),
  z.object({ kind: z.literal('messages'), messages: z.array(messageSchema).min(1) }),
]);
export type IngestBody = z.infer<typeof ingestBody>;

/** One connection whose pending inbox is to be pushed, up to and including `upTo` (a seq) when given. */
const pushTarget = z.object({
  clientId: z.string(),
  connectionId: z.string(),
  connectedAt: z.number().optional(),
  upTo: z.string().optional(),
  /**
   * A held check (connections.ts, holdConnection: after a failed push, a skipped one, or a page written late): it
   * pushes everything pending, whatever `upTo`, then releases the connection. The number is how many of its tries
   * did not finish so far.
   */
  held: z.number().int().nonnegative().optional(),
  /** With `held`: the page written late whose write this check follows (its hold ends only with this check). */
  late: z.string().optional(),
});
export type PushTarget = z.infer<typeof pushTarget>;

/** What travels on the push queue (standard, so each record can carry its own delay). */
export const pushBody = z.discriminatedUnion('kind', [
  /** A catch-up: push everything pending to a new connection, then `synced`. */
  z.object({ kind: z.literal('connected'), target: pushTarget }),
  /** A re-push: what these connections were sent up to `upTo` and have not acked yet. */
  z.object({ kind: z.literal('check'), targets: z.array(pushTarget).min(1) }),
  /**
   * An inbox page deliver could not write (the recipient's partition throttled, say): written here, then the
   * recipient's live connections are pushed what is pending up to `upTo`, so only this recipient waits.
   */
  z.object({
    kind: z.literal('write'),
    page: z.object({ clientId: z.string(), start: z.string(), messages: z.array(messageSchema).min(1) }),
    upTo: z.string(),
  }),
  /**
   * Work-queue leases to look at when their deadline (epoch ms) has come: each one still current is ended (the job
   * is offered again, or dead-lettered); a deadline that an `extend` moved is waited for again.
   */
  z.object({
    kind: z.literal('leases'),
    at: z.number(),
    leases: z
      .array(z.object({ queue: z.string(), id: z.string(), lease: z.string(), connectionId: z.string() }))
      .min(1),
  }),
  /** A work queue whose delayed jobs are ready at `at` (epoch ms): its consumers are offered them then. */
  z.object({ kind: z.literal('ready'), queue: z.string(), at: z.number() }),
  /** A work queue with waiting or dead jobs: report them at `at` (the alarms' metrics), and again while they last. */
  z.object({ kind: z.literal('watch'), queue: z.string(), at: z.number() }),
]);
export type PushBody = z.infer<typeof pushBody>;
export type LeaseTimer = Extract<PushBody, { kind: 'leases' }>['leases'][number];

/** A push record's body, or undefined when it is not one. */
export function jsonOfPush(text: string): PushBody | undefined {
  const parsed = pushBody.safeParse(jsonOf(text));
  return parsed.success ? parsed.data : undefined;
}

/**
 * Hands one publisher's messages to the ingest queue in one SQS message. The publisher is its message group, so its
 * messages are fanned out one after another in the order they were accepted; the message id (a digest of the ids,
 * for a batch) is the deduplication id, so a publisher's retry with the same idempotency keys within SQS's
 * five-minute window is dropped by SQS itself.
 */
export async function enqueueMessages(queueUrl: string, messages: Message[]): Promise<void> {
  const [first] = messages;
  if (!first) return;
  const body: IngestBody = messages.length === 1 ? { kind: 'message', message: first } : { kind: 'messages', messages };
  const dedup =
    messages.length === 1
      ? first.id
      : createHash('sha256')
          .update(messages.map((m) => m.id).join('\u0000'))
          .digest('base64url');
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: groupOf(first.from),
      MessageDeduplicationId: dedup,
    }),
  );
}

/**
 * The message group of a publisher. SQS takes at most 128 ASCII letters, digits and punctuation there, and a
 * clientId may be any string (a token's `sub`): a digest fits every one, and one publisher is always one group.
 */
export function groupOf(clientId: string): string {
  return createHash('sha256').update(clientId).digest('base64url');
}

/**
 * Asks redeliver to push a new connection's pending inbox. Delayed by a second because API Gateway answers 410 to
 * posts made while the connection's $connect is still running.
 */
export async function enqueueCatchUp(queueUrl: string, target: PushTarget, delaySeconds = 1): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({ kind: 'connected', target } satisfies PushBody),
      DelaySeconds: delaySeconds,
    }),
  );
}

/** Hands inbox pages deliver could not write to redeliver, which writes and pushes them a moment later. */
export async function enqueueWrites(
  queueUrl: string,
  writes: { page: PushWrite['page']; upTo: string }[],
  delaySeconds: number,
): Promise<void> {
  await sendBatches(
    queueUrl,
    writes.map(({ page, upTo }) => JSON.stringify({ kind: 'write', page, upTo } satisfies PushBody)),
    delaySeconds,
  );
}
type PushWrite = Extract<PushBody, { kind: 'write' }>;

/** SQS's longest message delay: a timer further out than this is sent again when it comes off the queue. */
const MAX_DELAY_SECONDS = 900;

/** Asks redeliver to act at `at` (epoch ms) on `timer`: a lease deadline or the end of a job's delay. */
export async function enqueueTimer(
  queueUrl: string,
  timer: Extract<PushBody, { kind: 'leases' | 'ready' | 'watch' }>,
  now = Date.now(),
): Promise<void> {
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((timer.at - now) / 1000)));
  const bodies: string[] = [];
  if (timer.kind !== 'leases') bodies.push(JSON.stringify(timer));
  else
    for (let i = 0; i < timer.leases.length; i += TARGETS_PER_RECORD)
      bodies.push(JSON.stringify({ ...timer, leases: timer.leases.slice(i, i + TARGETS_PER_RECORD) }));
  await sendBatches(queueUrl, bodies, delaySeconds);
}

/** Targets per check record: a record stays far below SQS's message size limit. */
const TARGETS_PER_RECORD = 500;
/** SendMessageBatch's limit. */
const ENTRIES_PER_BATCH = 10;

/**
 * Asks redeliver to look again, after `delaySeconds`, at what these connections were sent and have not acked. All
 * targets of one deliver batch travel in as few records and requests as fit, whatever the number of recipients.
 */
export async function enqueueChecks(queueUrl: string, targets: PushTarget[], delaySeconds: number): Promise<void> {
  const bodies: string[] = [];
  for (let i = 0; i < targets.length; i += TARGETS_PER_RECORD)
    bodies.push(
      JSON.stringify({ kind: 'check', targets: targets.slice(i, i + TARGETS_PER_RECORD) } satisfies PushBody),
    );
  await sendBatches(queueUrl, bodies, delaySeconds);
}

/** SendMessageBatch's limit on the sum of its bodies is 1 MiB; this leaves room for the rest of the request. */
const BATCH_BYTES = 900 * 1024;

async function sendBatches(queueUrl: string, bodies: string[], delaySeconds: number): Promise<void> {
  const batches: string[][] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    const last = batches.at(-1);
    if (last && last.length < ENTRIES_PER_BATCH && bytes + size <= BATCH_BYTES) {
      last.push(body);
      bytes += size;
    } else {
      batches.push([body]);
      bytes = size;
    }
  }
  for (const batch of batches) {
    const entries = batch.map((MessageBody, n) => ({ Id: String(n), MessageBody, DelaySeconds: delaySeconds }));
    const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (result.Failed?.length)
      throw new Error(`${result.Failed.length} push records refused: ${result.Failed[0]?.Message}`);
  }
}
