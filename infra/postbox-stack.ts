import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { HandlerFunction, type HandlerFunctionProps } from './constructs/handler-function.js';
import { type MessageConsumerOptions, MessageQueue } from './constructs/message-queue.js';
import { QueueAlarms } from './constructs/queue-alarms.js';
import { PostboxTables } from './constructs/tables.js';
import { PostboxWebSocketApi } from './constructs/websocket-api.js';

/** The repository root: `functions/` and `package-lock.json` live there. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Route handlers do one or two SDK calls each. 256 MB buys enough CPU for a quick cold start of the SDK-laden bundle
 * (Lambda's CPU share grows with memory); 10 s leaves ample room for SDK retries while staying under API Gateway's
 * 29 s integration limit, past which the reply would be lost anyway.
 */
const ROUTE_MEMORY_MB = 256;
const ROUTE_TIMEOUT = Duration.seconds(10);
/** Replay pages through a whole inbox and posts every message: give it all the time the gateway waits. */
const REPLAY_TIMEOUT = Duration.seconds(29);
/**
 * Deliver fans a batch of 10 out to every subscriber's inbox and live connections, with many requests in flight;
 * more memory means more CPU and network. 30 s covers a large fan-out; the queue's visibility is six times that.
 */
const DELIVER_MEMORY_MB = 512;
const DELIVER_TIMEOUT = Duration.seconds(30);

/** Properties of {@link PostboxStack}. */
export interface PostboxStackProps extends StackProps {
  /**
   * The WebSocket stage's name.
   *
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * Default route throttling on the stage.
   *
   * @default - see {@link PostboxWebSocketApi}: { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttle?: ThrottleSettings;

  /**
   * What happens to the tables and queues when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;

  /**
   * `POWERTOOLS_LOG_LEVEL` of every function.
   *
   * @default 'INFO'
   */
  readonly logLevel?: string;

  /**
   * The deliver function's SQS event source settings.
   *
   * @default - see {@link MessageConsumerOptions}: batch 10, window 0 s, concurrency 10
   */
  readonly delivery?: MessageConsumerOptions;

  /**
   * Largest accepted `payload`, as UTF-8 JSON bytes; at most 131072, API Gateway's cap on a whole WebSocket message.
   *
   * @default 65536
   */
  readonly maxPayloadBytes?: number;

  /**
   * How long an unacked message waits in an inbox.
   *
   * @default Duration.days(14)
   */
  readonly messageTtl?: Duration;

  /**
   * How long a connection row lives if `$disconnect` never runs (it is best-effort).
   *
   * @default Duration.seconds(7500): API Gateway's 2-hour connection cap plus 5 minutes
   */
  readonly connectionTtl?: Duration;

  /**
   * Dead-lettered messages tolerated before the alarm fires.
   *
   * @default 0
   */
  readonly deadLetterAlarmThreshold?: number;

  /**
   * Age of the ingest queue's oldest message that fires the alarm.
   *
   * @default Duration.seconds(60)
   */
  readonly maxMessageAge?: Duration;

  /**
   * Directory of the handler files (`<name>.ts`, each exporting `handler`). For tests.
   *
   * @default '<repository>/functions'
   */
  readonly functionsDir?: string;
}

/**
 * Postbox: a WebSocket API whose messages go through SQS into durable DynamoDB inboxes.
 * Reads top to bottom: tables → queue → functions → API → alarms → outputs.
 */
export class PostboxStack extends Stack {
  public readonly tables: PostboxTables;
  public readonly messageQueue: MessageQueue;
  public readonly tokenSecret: Secret;
  public readonly handlers: Readonly<Record<HandlerName, HandlerFunction>>;
  public readonly webSocket: PostboxWebSocketApi;
  public readonly alarms: QueueAlarms;

  constructor(scope: Construct, id: string, props: PostboxStackProps = {}) {
    super(scope, id, props);
    const dataRemovalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const retention = Duration.days(14);

    // ── Tables ──────────────────────────────────────────────────────────────────────────────────────────────────
    this.tables = new PostboxTables(this, 'Tables', { removalPolicy: dataRemovalPolicy });
    const { connections, subscriptions, inbox, processed } = this.tables;

    // ── Queue ───────────────────────────────────────────────────────────────────────────────────────────────────
    const batchingWindow = props.delivery?.maxBatchingWindow ?? Duration.seconds(0);
    this.messageQueue = new MessageQueue(this, 'Ingest', {
      consumerTimeout: DELIVER_TIMEOUT,
      // AWS's advice: at least six times the consumer's timeout, plus the batching window.
      visibilityTimeout: Duration.seconds(6 * DELIVER_TIMEOUT.toSeconds() + batchingWindow.toSeconds()),
      retentionPeriod: retention,
      removalPolicy: dataRemovalPolicy,
    });
    const { queue } = this.messageQueue;

    // The HS256 signing key of connect tokens. Punctuation is left out so the key survives shells and .env files.
    this.tokenSecret = new Secret(this, 'TokenSecret', {
      description: 'Postbox: HS256 key that signs WebSocket connect tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    // ── Functions ───────────────────────────────────────────────────────────────────────────────────────────────
    const functionsDir = props.functionsDir ?? join(PROJECT_ROOT, 'functions');
    const handler = (name: HandlerName, overrides: Partial<HandlerFunctionProps> = {}) =>
      new HandlerFunction(this, constructId(name), {
        entry: join(functionsDir, `${name}.ts`),
        projectRoot: PROJECT_ROOT,
        memorySize: ROUTE_MEMORY_MB,
        timeout: ROUTE_TIMEOUT,
        logLevel: props.logLevel,
        ...overrides,
      });
    const maxPayloadBytes = props.maxPayloadBytes ?? 65536;
    // A WebSocket message is at most 128 KB (API Gateway quota, not adjustable): a larger payload could never arrive.
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > 131072) {
      throw new Error(`PostboxStack ${this.node.path}: maxPayloadBytes must be 1–131072, got ${maxPayloadBytes}`);
    }
    const payloadLimit = { MAX_PAYLOAD_BYTES: String(maxPayloadBytes) };

    const authorize = handler('authorize', {
      description: 'Postbox: verifies the connect token ($connect REQUEST authorizer)',
      environment: { TOKEN_SECRET_ARN: this.tokenSecret.secretArn },
    });
    this.tokenSecret.grantRead(authorize.function);

    const connect = handler('connect', {
      description: 'Postbox $connect: records the connection, asks deliver to push the pending inbox',
      environment: {
        INGEST_QUEUE_URL: queue.queueUrl,
        CONNECTION_TTL_SECONDS: String((props.connectionTtl ?? Duration.seconds(7500)).toSeconds()),
      },
    }).bindTable('CONNECTIONS_TABLE', connections, 'write');
    queue.grantSendMessages(connect.function);

    const disconnect = handler('disconnect', {
      description: 'Postbox $disconnect: removes the connection',
    }).bindTable('CONNECTIONS_TABLE', connections, 'write');

    const defaultRoute = handler('default', { description: 'Postbox $default: answers unknown actions' });

    const subscribe = handler('subscribe', { description: 'Postbox subscribe: durable topic subscription' }).bindTable(
      'SUBSCRIPTIONS_TABLE',
      subscriptions,
      'readWrite',
    );
    const unsubscribe = handler('unsubscribe', { description: 'Postbox unsubscribe' }).bindTable(
      'SUBSCRIPTIONS_TABLE',
      subscriptions,
      'readWrite',
    );

    const publish = handler('publish', {
      description: 'Postbox publish: accepts a topic message into the ingest queue',
      environment: { INGEST_QUEUE_URL: queue.queueUrl, ...payloadLimit },
    });
    queue.grantSendMessages(publish.function);
    const send = handler('send', {
      description: 'Postbox send: accepts a direct message into the ingest queue',
      environment: { INGEST_QUEUE_URL: queue.queueUrl, ...payloadLimit },
    });
    queue.grantSendMessages(send.function);

    const ack = handler('ack', { description: "Postbox ack: deletes from the caller's inbox" }).bindTable(
      'INBOX_TABLE',
      inbox,
      'write',
    );

    // Replay only reads and updates the caller's own inbox and posts to the calling connection: no connections table.
    const replay = handler('replay', {
      description: "Postbox replay: re-sends the caller's unacked messages, oldest first",
      timeout: REPLAY_TIMEOUT,
    }).bindTable('INBOX_TABLE', inbox, 'readWrite');

    const deliver = handler('deliver', {
      description: 'Postbox deliver: ingest queue → inboxes → live connections',
      memorySize: DELIVER_MEMORY_MB,
      timeout: DELIVER_TIMEOUT,
      environment: {
        INGEST_QUEUE_URL: queue.queueUrl,
        MESSAGE_TTL_SECONDS: String((props.messageTtl ?? Duration.days(14)).toSeconds()),
        // A marker must outlive every SQS copy of its message, and SQS keeps a message at most `retention`.
        PROCESSED_TTL_SECONDS: String(retention.toSeconds()),
      },
    })
      .bindTable('SUBSCRIPTIONS_TABLE', subscriptions, 'read')
      .bindTable('CONNECTIONS_TABLE', connections, 'readWrite')
      .bindTable('INBOX_TABLE', inbox, 'readWrite')
      .bindTable('PROCESSED_TABLE', processed, 'readWrite');
    this.messageQueue.addConsumer(deliver.function, props.delivery);
    // A live push that meets a connection still in $connect asks again for that connection's connect-time push.
    queue.grantSendMessages(deliver.function);

    this.handlers = {
      authorize,
      connect,
      disconnect,
      default: defaultRoute,
      subscribe,
      unsubscribe,
      publish,
      send,
      ack,
      replay,
      deliver,
    };

    // ── API ─────────────────────────────────────────────────────────────────────────────────────────────────────
    this.webSocket = new PostboxWebSocketApi(this, 'WebSocket', {
      apiName: `${this.stackName}-websocket`,
      authorizeHandler: authorize.function,
      connectHandler: connect.function,
      disconnectHandler: disconnect.function,
      defaultHandler: defaultRoute.function,
      routes: {
        subscribe: subscribe.function,
        unsubscribe: unsubscribe.function,
        publish: publish.function,
        send: send.function,
        ack: ack.function,
        replay: replay.function,
      },
      stageName: props.stageName,
      throttle: props.throttle,
    });
    for (const pusher of [deliver, replay]) {
      pusher.function.addEnvironment('CALLBACK_URL', this.webSocket.callbackUrl);
      this.webSocket.grantManageConnections(pusher.function);
    }

    // ── Alarms ──────────────────────────────────────────────────────────────────────────────────────────────────
    this.alarms = new QueueAlarms(this, 'Alarms', {
      queue,
      deadLetterQueue: this.messageQueue.deadLetterQueue,
      deadLetterThreshold: props.deadLetterAlarmThreshold,
      maxMessageAge: props.maxMessageAge,
    });

    // ── Outputs ─────────────────────────────────────────────────────────────────────────────────────────────────
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('WebSocketUrl', this.webSocket.url, 'Connect here: append ?token=<npm run token -- <clientId>>');
    output('CallbackUrl', this.webSocket.callbackUrl, 'The @connections endpoint of the stage');
    output('TokenSecretArn', this.tokenSecret.secretArn, 'Secrets Manager secret holding the token signing key');
    output('ConnectionsTableName', connections.tableName, 'Live connections per client');
    output('SubscriptionsTableName', subscriptions.tableName, 'Durable topic subscriptions');
    output('InboxTableName', inbox.tableName, 'Unacked messages per client');
    output('ProcessedTableName', processed.tableName, 'Idempotency markers of fanned-out messages');
    output('IngestQueueUrl', queue.queueUrl, 'Queue between publish/send and deliver');
    output('IngestQueueName', queue.queueName, 'Queue between publish/send and deliver');
    output('DeadLetterQueueName', this.messageQueue.deadLetterQueue.queueName, 'Messages that failed delivery');
  }
}

/** The handler files of `functions/`, one Lambda function each. */
export const HANDLER_NAMES = [
  'authorize',
  'connect',
  'disconnect',
  'default',
  'subscribe',
  'unsubscribe',
  'publish',
  'send',
  'ack',
  'replay',
  'deliver',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** Construct id of a handler. `Default` is avoided: constructs treats a child of that id as its parent's default child. */
function constructId(name: HandlerName): string {
  return name === 'default' ? 'DefaultRoute' : name.charAt(0).toUpperCase() + name.slice(1);
}
