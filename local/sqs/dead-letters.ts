import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Spy } from '../spy.js';

export interface DeadLetterTarget {
  queueName: string;
  deadLetterQueueName: string;
  deadLetterQueueUrl: string;
  maxReceiveCount: number;
}

/**
 * Notices redrive to the dead-letter queue. SQS itself moves a message once its receive count passes
 * `maxReceiveCount` (fauxqs does so on the next ReceiveMessage, like AWS), and tells nobody; so the mapping keeps
 * the messages that failed on their last allowed receive as suspects and, while there are any, watches the DLQ's
 * approximate size: each new arrival is attributed to the oldest suspect. Approximate by nature: another producer
 * writing to the same DLQ at that moment would be mistaken for a redrive.
 */
export class DeadLetterWatch {
  readonly #suspects: string[] = [];
  #baseline = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly sqs: SQSClient,
    private readonly target: DeadLetterTarget,
    private readonly spy: Spy,
    private readonly intervalMs = 200,
  ) {}

  /** A message failed; once it has used its last allowed receive, the next receive will dead-letter it. */
  async failed(messageId: string, receiveCount: number): Promise<void> {
    if (receiveCount < this.target.maxReceiveCount || this.#stopped) return;
    if (this.#suspects.length === 0) this.#baseline = await this.#count();
    this.#suspects.push(messageId);
    this.#schedule();
  }

  /** A suspect came back from the source queue instead: it was not moved. */
  received(messageId: string): void {
    const at = this.#suspects.indexOf(messageId);
    if (at >= 0) this.#suspects.splice(at, 1);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.intervalMs);
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    const count = await this.#count().catch(() => this.#baseline);
    for (let arrived = count - this.#baseline; arrived > 0 && this.#suspects.length > 0; arrived--) {
      const messageId = this.#suspects.shift() as string;
      const { queueName, deadLetterQueueName } = this.target;
      this.spy.emit({ kind: 'dead-letter', queueName, deadLetterQueueName, messageId });
    }
    this.#baseline = count;
    if (this.#suspects.length > 0) this.#schedule();
  }

  async #count(): Promise<number> {
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.target.deadLetterQueueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return Object.values(Attributes).reduce((sum, n) => sum + Number(n), 0);
  }
}
