import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's own bounds on a redrive policy's `maxReceiveCount`. */
const MAX_RECEIVE_COUNT_RANGE = [1, 1000] as const;

/** Properties of {@link MessageQueue}. */
export interface MessageQueueProps {
  /**
   * Timeout of the Lambda function that will consume the queue. Only used to size the default visibility timeout.
   *
   * @default Duration.seconds(30)
   */
  readonly consumerTimeout?: Duration;

  /**
   * How long a received message stays hidden from other consumers. AWS recommends at least six times the consumer's
   * timeout (plus its batching window) so that throttled retries do not make a message visible while it is still
   * being processed (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
   *
   * @default 6 × consumerTimeout
   */
  readonly visibilityTimeout?: Duration;

  /**
   * Receives after which a message moves to the dead-letter queue. AWS advises at least 5, so that a few throttled
   * invocations (each of which counts as a receive) do not dead-letter a good message.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * How long SQS keeps a message, in both queues. The deliver function's idempotency markers live as long
   * (`PROCESSED_TTL_SECONDS`), so no SQS duplicate can outlive its marker.
   *
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly retentionPeriod?: Duration;

  /**
   * What CloudFormation does with both queues when they leave the stack. The dead-letter queue may hold the only copy
   * of a failed message.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * A FIFO queue (and dead-letter queue): messages of one `MessageGroupId` are received in the order they were sent,
   * one batch of a group at a time, and a `MessageDeduplicationId` seen in the last five minutes is dropped. Uses
   * high-throughput mode (deduplication and throughput limits per message group).
   *
   * @default false
   */
  readonly fifo?: boolean;
}

/** Options of {@link MessageQueue.addConsumer}: the SQS event source mapping. */
export interface MessageConsumerOptions {
  /**
   * Records per invocation.
   *
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * How long Lambda gathers records before invoking. Zero keeps publish-to-push latency to one poll; the setting is
   * still written out so the template (and the local runtime reading it) states the choice.
   *
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * Concurrent invocations the mapping may run. Caps the fan-out's pressure on DynamoDB and on the account's
   * Lambda concurrency; SQS simply holds the backlog. Lambda accepts 2–1000.
   *
   * @default 10
   */
  readonly maxConcurrency?: number;
}

/**
 * A queue and its dead-letter queue, both encrypted with SQS-managed keys. The consumer is attached with
 * {@link MessageQueue.addConsumer}, which checks the visibility timeout against the consumer's real timeout.
 */
export class MessageQueue extends Construct {
  /** The queue its consumer reads. */
  public readonly queue: Queue;
  /** Where a message lands after `maxReceiveCount` failed receives. */
  public readonly deadLetterQueue: Queue;
  /** The redrive threshold in force. */
  public readonly maxReceiveCount: number;
  /** The queue's visibility timeout, checked against each consumer. */
  public readonly visibilityTimeout: Duration;
  /** Whether both queues are FIFO. */
  public readonly fifo: boolean;

  constructor(scope: Construct, id: string, props: MessageQueueProps = {}) {
    super(scope, id);
    const consumerTimeout = props.consumerTimeout ?? Duration.seconds(30);
    const visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(6 * consumerTimeout.toSeconds());
    this.visibilityTimeout = visibilityTimeout;
    this.fifo = props.fifo ?? false;
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.maxReceiveCount = props.maxReceiveCount ?? 5;

    const [min, max] = MAX_RECEIVE_COUNT_RANGE;
    if (!Number.isInteger(this.maxReceiveCount) || this.maxReceiveCount < min || this.maxReceiveCount > max) {
      throw new Error(
        `MessageQueue ${this.node.path}: maxReceiveCount must be an integer from ${min} to ${max}, got ${this.maxReceiveCount}`,
      );
    }
    assertVisibilityCovers(this, visibilityTimeout, consumerTimeout, Duration.seconds(0));

    // A standard queue's message expiry counts from its first enqueue, even after it moves to the DLQ
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
    // With 5 receives × a few minutes of visibility a message reaches the DLQ within the first hour of its 14 days.
    // A FIFO queue's dead-letter queue must be FIFO too.
    const fifo = props.fifo
      ? {
          fifo: true,
          deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
          fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        }
      : {};
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      // A resource policy denying any request not made over TLS.
      enforceSSL: true,
      retentionPeriod,
      removalPolicy,
      ...(props.fifo ? { fifo: true } : {}),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This is the dead-letter queue: nothing consumes it, its messages wait for an operator (the DeadLetters ' +
        'alarm fires on the first), and a dead-letter queue of its own would only move them further away.',
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      removalPolicy,
      ...fifo,
    });
  }

  /**
   * Makes `consumer` the queue's Lambda consumer with partial batch responses (`ReportBatchItemFailures`), so one bad
   * record is retried alone instead of its whole batch. Throws if the queue's visibility timeout is shorter than
   * six times the consumer's timeout plus the batching window.
   */
  public addConsumer(consumer: LambdaFunction, options: MessageConsumerOptions = {}): SqsEventSource {
    const batchSize = options.batchSize ?? 10;
    const maxBatchingWindow = options.maxBatchingWindow ?? Duration.seconds(0);
    const maxConcurrency = options.maxConcurrency ?? 10;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(
        `MessageQueue ${this.node.path}: maxConcurrency must be an integer from 2 to 1000, got ${maxConcurrency}`,
      );
    }
    if (this.fifo && maxBatchingWindow.toSeconds() > 0) {
      throw new Error(`MessageQueue ${this.node.path}: a FIFO queue's consumer cannot have a batching window`);
    }
    if (this.fifo && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10)) {
      throw new Error(`MessageQueue ${this.node.path}: batchSize must be 1–10 on a FIFO queue, got ${batchSize}`);
    }

    assertVisibilityCovers(this, this.visibilityTimeout, consumer.timeout ?? Duration.seconds(3), maxBatchingWindow);
    const source = new SqsEventSource(this.queue, {
      batchSize,
      // Lambda refuses a batching window on FIFO queues, even a zero one.
      maxBatchingWindow: this.fifo ? undefined : maxBatchingWindow,
      maxConcurrency,
      reportBatchItemFailures: true,
    });
    consumer.addEventSource(source);
    Validations.of(consumer).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'Lambda has no on-failure destination for SQS event source mappings: a record that keeps failing goes to ' +
        "the source queue's dead-letter queue after maxReceiveCount receives (RedrivePolicy above).",
    });
    return source;
  }

  /**
   * Allows `grantee` to send to the queue and nothing else: `sqs:SendMessage`, which also authorizes
   * SendMessageBatch. `Queue.grantSendMessages` adds GetQueueAttributes and GetQueueUrl, which no handler calls
   * (they get the URL from their environment).
   */
  public grantSend(grantee: IGrantable): Grant {
    return this.queue.grant(grantee, 'sqs:SendMessage');
  }
}

function assertVisibilityCovers(
  scope: Construct,
  visibility: Duration,
  consumerTimeout: Duration,
  window: Duration,
): void {
  const visibilitySeconds = visibility.toSeconds();
  const needed = 6 * consumerTimeout.toSeconds() + window.toSeconds();
  if (visibilitySeconds < needed) {
    throw new Error(
      `MessageQueue ${scope.node.path}: visibility timeout ${visibilitySeconds} s is less than 6 × consumer timeout ` +
        `(${consumerTimeout.toSeconds()} s) + batching window (${window.toSeconds()} s) = ${needed} s`,
    );
  }
}
