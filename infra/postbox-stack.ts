import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { capabilitiesSchema, type Operation } from '../functions/lib/capabilities.js';
import { JOBS_BY_ORDER_INDEX, SUBSCRIPTIONS_BY_CLIENT_INDEX } from '../functions/lib/keys.js';
import { HEARTBEAT_REPLY, NAME_PATTERN } from '../functions/lib/protocol.js';
import type { QueueSettings } from '../functions/lib/queue-settings.js';
import { HandlerFunction, type HandlerFunctionProps } from './constructs/handler-function.js';
import { JobAlarms } from './constructs/job-alarms.js';
import { type MessageConsumerOptions, MessageQueue } from './constructs/message-queue.js';
import { QueueAlarms } from './constructs/queue-alarms.js';
import { type ItemAction, PostboxTables, type TableAccess } from './constructs/tables.js';
import { PostboxWebSocketApi } from './constructs/websocket-api.js';
import { FRAME_ENVELOPE_BYTES, MAX_PAYLOAD_LIMIT } from './frame-limits.js';

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
/** Redeliver pushes whole inboxes after connects and re-pushes unacked messages: like deliver, off the gateway's path. */
const REDELIVER_TIMEOUT = Duration.seconds(30);
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
   * Log level of every function (TRACE, DEBUG, INFO, WARN or ERROR): Lambda's application log level, which filters
   * JSON logs on AWS, and `POWERTOOLS_LOG_LEVEL`, which Powertools follows locally.
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
   * How many frames one connection may send: `burst` at once, `perSecond` on average (a sliding window of
   * `burst / perSecond` seconds). Frames past it are answered `RateLimited` with `retryAfterMs`, and do nothing else.
   * API Gateway's own throttle is per account, stage and route, so one client could use it all up.
   *
   * @default { perSecond: 100, burst: 200 } (AWS IoT Core's publish quota per connection is 100 a second)
   */
  readonly frameRate?: { readonly perSecond: number; readonly burst: number };

  /**
   * Largest accepted `payload`, as UTF-8 JSON bytes. At most API Gateway's 128 KB cap on a WebSocket message less
   * the largest envelope a pushed `message` or `job` frame wraps around a payload (ids, names, times), so that
   * whatever is accepted can also be pushed: see `MAX_PAYLOAD_LIMIT`.
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
   * How long a live connection has to ack a pushed message before it is pushed again. Between 1 s and 900 s, the
   * longest delay SQS gives a message.
   *
   * @default Duration.seconds(30)
   */
  readonly ackDeadline?: Duration;

  /**
   * How many times, in all, a message is sent to a client's live connections before it waits for the client's next
   * connect or `replay` (which send it again whatever the count).
   *
   * @default 5
   */
  readonly maxAttempts?: number;

  /**
   * What a connect token without a `caps` claim may do: name pattern (exact, prefix ending in `*`, or `*`) →
   * operations (`subscribe`, `publish`, `send`, `enqueue`, `consume`). Nothing by default: such a client still
   * receives what is sent to it, acks and replays its own inbox, but subscribes, publishes, sends and uses queues
   * only as its token's `caps` allow. Secure by default; `npm start`'s demo tokens and `npm run token` carry caps.
   *
   * @default {}
   */
  readonly defaultCapabilities?: Record<string, Operation[]>;

  /**
   * Longest a connect token may live (`exp` after `iat`); a longer one is refused at connect.
   *
   * @default Duration.days(1)
   */
  readonly maxTokenLifetime?: Duration;

  /**
   * `iss` and `aud` a connect token must carry, when set.
   *
   * @default not checked
   */
  readonly tokenIssuer?: string;
  readonly tokenAudience?: string;

  /**
   * Pending (unacked) messages one client's inbox keeps at most. A catch-up (connect or `replay`) that finds more
   * first deletes the oldest beyond the cap and says how many in its `synced` frame (`dropped`).
   *
   * @default 10000
   */
  readonly maxPendingMessages?: number;

  /**
   * How long a client's subscriptions outlive its last connect; then they expire and it stops collecting messages.
   *
   * @default - the message TTL (`messageTtl`, 14 days)
   */
  readonly subscriptionTtl?: Duration;

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
   * Work queues: how long a consumer holds a job before it is offered again (a consumer can `extend` it), how many
   * deliveries a job gets before it is dead-lettered, how long a job is kept.
   *
   * @default { leaseTime: Duration.seconds(30), maxDeliveries: 5, retention: Duration.days(14) }
   */
  readonly workQueues?: WorkQueueSettings;

  /**
   * Directory of the handler files (`<name>.ts`, each exporting `handler`). For tests.
   *
   * @default '<repository>/functions'
   */
  readonly functionsDir?: string;
}

/** Settings of every work queue of a {@link PostboxStack}. */
export interface WorkQueueSettings {
  /**
   * A lease's length: 1 s to 12 h (SQS's visibility timeout bounds).
   *
   * @default Duration.seconds(30)
   */
  readonly leaseTime?: Duration;
  /**
   * Leases a job gets at most; when the last ends without an ack, the job is dead-lettered. 1 to 1000.
   *
   * @default 5
   */
  readonly maxDeliveries?: number;
  /**
   * How long a job is kept from its enqueue, whatever its state.
   *
   * @default Duration.days(14)
   */
  readonly retention?: Duration;
  /**
   * The alarm `jobAlarms.readyAgeAlarm` fires when a job has waited ready this long with no consumer taking it.
   * Stack-wide only.
   *
   * @default Duration.minutes(5)
   */
  readonly maxReadyAge?: Duration;
  /**
   * Queues with settings of their own (each unset one is the stack's). Any other valid queue name works with the
   * stack's settings; a queue needs no declaration to be used.
   *
   * @default {}
   */
  readonly queues?: Record<string, Omit<WorkQueueSettings, 'queues' | 'maxReadyAge'>>;
}

/**
 * Postbox: a WebSocket API whose messages go through SQS into durable DynamoDB inboxes.
 * Reads top to bottom: tables → queues → functions → API → alarms → outputs.
 */
export class PostboxStack extends Stack {
  public readonly tables: PostboxTables;
  /** The FIFO ingest queue between publish/send and deliver. */
  public readonly messageQueue: MessageQueue;
  /** Delayed push work (catch-up after connect, re-push after the ack deadline) for redeliver. */
  public readonly pushQueue: MessageQueue;
  public readonly tokenSecret: Secret;
  public readonly handlers: Readonly<Record<HandlerName, HandlerFunction>>;
  public readonly webSocket: PostboxWebSocketApi;
  public readonly alarms: QueueAlarms;
  public readonly pushAlarms: QueueAlarms;
  public readonly jobAlarms: JobAlarms;

  constructor(scope: Construct, id: string, props: PostboxStackProps = {}) {
    super(scope, id, props);
    const dataRemovalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const retention = Duration.days(14);

    // ── Tables ──────────────────────────────────────────────────────────────────────────────────────────────────
    this.tables = new PostboxTables(this, 'Tables', { removalPolicy: dataRemovalPolicy });
    const { connections, subscriptions, inbox, processed, jobs } = this.tables;

    // ── Queues ──────────────────────────────────────────────────────────────────────────────────────────────────
    // Ingest is FIFO, grouped by publisher: one publisher's messages are fanned out one batch at a time, in the order
    // they were accepted, which is what lets every subscriber see them in that order (docs/architecture.md).
    this.messageQueue = new MessageQueue(this, 'Ingest', {
      // Visibility defaults to six times this (AWS's advice); a FIFO consumer has no batching window to add.
      consumerTimeout: DELIVER_TIMEOUT,
      retentionPeriod: retention,
      removalPolicy: dataRemovalPolicy,
      fifo: true,
    });
    const { queue } = this.messageQueue;
    // Push work that must wait: the catch-up a second after a connect, and the re-push of what a connection has not
    // acked by its deadline. A standard queue, because only standard queues delay single messages.
    this.pushQueue = new MessageQueue(this, 'Push', {
      consumerTimeout: REDELIVER_TIMEOUT,
      retentionPeriod: retention,
      removalPolicy: dataRemovalPolicy,
    });
    const ackDeadline = props.ackDeadline ?? Duration.seconds(30);
    if (ackDeadline.toSeconds() < 1 || ackDeadline.toSeconds() > 900) {
      throw new Error(`PostboxStack ${this.node.path}: ackDeadline must be 1–900 s, got ${ackDeadline.toSeconds()} s`);
    }
    const maxAttempts = props.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      throw new Error(
        `PostboxStack ${this.node.path}: maxAttempts must be an integer from 1 to 100, got ${maxAttempts}`,
      );
    }
    const maxPending = props.maxPendingMessages ?? 10_000;
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new Error(
        `PostboxStack ${this.node.path}: maxPendingMessages must be a positive integer, got ${maxPending}`,
      );
    }
    const inboxCap = { MAX_PENDING_MESSAGES: String(maxPending) };
    const queueDefaults = this.queueSettings('workQueues', props.workQueues ?? {}, {
      leaseSeconds: 30,
      maxDeliveries: 5,
      retentionSeconds: retention.toSeconds(),
    });
    const namedQueues = Object.fromEntries(
      Object.entries(props.workQueues?.queues ?? {}).map(([name, settings]) => {
        if (!NAME_PATTERN.test(name) || name.length > 128)
          throw new Error(
            `PostboxStack ${this.node.path}: workQueues.queues: '${name}' is not a queue name (1–128 of letters, digits and _ . : / -)`,
          );
        return [name, this.queueSettings(`workQueues.queues['${name}']`, settings, queueDefaults)];
      }),
    );
    const queueSettings = JSON.stringify(namedQueues);
    // Lambda's environment is 4 KB in all; leave most of it to the rest.
    if (queueSettings.length > 2048)
      throw new Error(
        `PostboxStack ${this.node.path}: workQueues.queues takes ${queueSettings.length} bytes of the functions' environment; at most 2048 (about 30 queues)`,
      );
    const connectionTtl = String((props.connectionTtl ?? Duration.seconds(7500)).toSeconds());
    const workQueues = {
      PUSH_QUEUE_URL: this.pushQueue.queue.queueUrl,
      LEASE_SECONDS: String(queueDefaults.leaseSeconds),
      MAX_DELIVERIES: String(queueDefaults.maxDeliveries),
      JOB_RETENTION_SECONDS: String(queueDefaults.retentionSeconds),
      ...(Object.keys(namedQueues).length > 0 ? { QUEUE_SETTINGS: queueSettings } : {}),
      CONNECTION_TTL_SECONDS: connectionTtl,
    };
    const redelivery = {
      PUSH_QUEUE_URL: this.pushQueue.queue.queueUrl,
      ACK_DEADLINE_SECONDS: String(ackDeadline.toSeconds()),
      MAX_ATTEMPTS: String(maxAttempts),
    };

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
    const frameRate = props.frameRate ?? { perSecond: 100, burst: 200 };
    if (!(frameRate.perSecond > 0 && Number.isInteger(frameRate.burst) && frameRate.burst >= 1))
      throw new Error(
        `PostboxStack ${this.node.path}: frameRate needs perSecond > 0 and a whole burst ≥ 1, got ${JSON.stringify(frameRate)}`,
      );
    const maxPayloadBytes = props.maxPayloadBytes ?? 65536;
    // A pushed frame is at most 128 KB (API Gateway quota, not adjustable) and wraps the payload in up to
    // FRAME_ENVELOPE_BYTES of ids, names and counts: a larger payload could be accepted but never pushed.
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_LIMIT) {
      throw new Error(
        `PostboxStack ${this.node.path}: maxPayloadBytes must be 1–${MAX_PAYLOAD_LIMIT} (128 KB less the ` +
          `${FRAME_ENVELOPE_BYTES} bytes a pushed frame adds), got ${maxPayloadBytes}`,
      );
    }
    const payloadLimit = { MAX_PAYLOAD_BYTES: String(maxPayloadBytes) };

    const maxTokenLifetime = props.maxTokenLifetime ?? Duration.days(1);
    if (maxTokenLifetime.toSeconds() < 60)
      throw new Error(`PostboxStack ${this.node.path}: maxTokenLifetime must be at least a minute`);
    const defaultCaps = capabilitiesSchema.safeParse(props.defaultCapabilities ?? {});
    if (!defaultCaps.success)
      throw new Error(
        `PostboxStack ${this.node.path}: defaultCapabilities: ${defaultCaps.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const authorize = handler('authorize', {
      description: 'Postbox: verifies the connect token ($connect REQUEST authorizer)',
      environment: {
        TOKEN_SECRET_ARN: this.tokenSecret.secretArn,
        DEFAULT_CAPS: JSON.stringify(defaultCaps.data),
        MAX_TOKEN_LIFETIME_SECONDS: String(maxTokenLifetime.toSeconds()),
        ...(props.tokenIssuer ? { TOKEN_ISSUER: props.tokenIssuer } : {}),
        ...(props.tokenAudience ? { TOKEN_AUDIENCE: props.tokenAudience } : {}),
      },
    });
    // GetSecretValue alone: Secret.grantRead adds DescribeSecret, which the authorizer never calls.
    Grant.addToPrincipal({
      grantee: authorize.function,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.tokenSecret.secretArn],
    });
    Validations.of(this.tokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The key is rotated by putting a new value (put-secret-value moves AWSCURRENT to it and AWSPREVIOUS to the ' +
        'old one): the authorizer picks it up within 5 minutes and accepts the previous key for maxTokenLifetime ' +
        '(README, "Tokens"). A schedule would need a rotation function of our own for a generic secret.',
    });

    const messageTtl = props.messageTtl ?? Duration.days(14);
    const subscriptionTtl = { SUBSCRIPTION_TTL_SECONDS: String((props.subscriptionTtl ?? messageTtl).toSeconds()) };
    // Each function's grants are the SDK commands its code sends (functions/ and functions/lib), table by table; the
    // IAM tests pin them (test/infra/iam.test.ts). Queries of an index name it.
    const jobsAccess = (...actions: ItemAction[]): TableAccess => ({
      actions,
      ...(actions.includes('Query') ? { queryIndexes: [JOBS_BY_ORDER_INDEX] } : {}),
    });
    /** What leasing a job to a consumer with room takes (dispatch, offer, fill): read both, write both, push. */
    const leasing: ItemAction[] = ['Query', 'UpdateItem', 'DeleteItem'];

    const connect = handler('connect', {
      description: 'Postbox $connect: records the connection, asks redeliver to push the pending inbox',
      environment: {
        PUSH_QUEUE_URL: this.pushQueue.queue.queueUrl,
        CONNECTION_TTL_SECONDS: connectionTtl,
        ...subscriptionTtl,
      },
    })
      .bindTable('CONNECTIONS_TABLE', connections, { actions: ['PutItem'] })
      // Its subscriptions by client (the index), then each refreshed, or deleted if the token no longer allows it.
      .bindTable('SUBSCRIPTIONS_TABLE', subscriptions, {
        actions: ['UpdateItem', 'DeleteItem'],
        queryIndexes: [SUBSCRIPTIONS_BY_CLIENT_INDEX],
      });
    this.pushQueue.grantSend(connect.function);

    const disconnect = handler('disconnect', {
      description: 'Postbox $disconnect: removes the connection, gives the jobs it held back',
      environment: workQueues,
    })
      .bindTable('CONNECTIONS_TABLE', connections, { actions: ['DeleteItem'] })
      .bindTable('JOBS_TABLE', jobs, jobsAccess('BatchGetItem', ...leasing));

    const defaultRoute = handler('default', { description: 'Postbox $default: answers unknown actions' });

    const subscribe = handler('subscribe', {
      description: 'Postbox subscribe: durable topic subscription',
      environment: subscriptionTtl,
    }).bindTable('SUBSCRIPTIONS_TABLE', subscriptions, { actions: ['PutItem'] });
    const unsubscribe = handler('unsubscribe', { description: 'Postbox unsubscribe' }).bindTable(
      'SUBSCRIPTIONS_TABLE',
      subscriptions,
      { actions: ['DeleteItem'] },
    );

    const publish = handler('publish', {
      description: 'Postbox publish: accepts a topic message into the ingest queue',
      environment: { INGEST_QUEUE_URL: queue.queueUrl, ...payloadLimit },
    });
    this.messageQueue.grantSend(publish.function);
    const send = handler('send', {
      description: 'Postbox send: accepts a direct message into the ingest queue',
      environment: { INGEST_QUEUE_URL: queue.queueUrl, ...payloadLimit },
    });
    this.messageQueue.grantSend(send.function);

    // Ack only deletes from inboxes: whole pages by DeleteItem (never BatchWriteItem, whose permission also allows
    // puts), a page acked in part by marking `acked` on it, and an ack by id reads the caller's inbox first.
    const ack = handler('ack', {
      description: "Postbox ack: deletes from the caller's inbox, or completes a job",
      environment: workQueues,
    })
      .bindTable('INBOX_TABLE', inbox, { actions: ['Query', 'DeleteItem'], updateOnly: ['acked'] })
      .bindTable('JOBS_TABLE', jobs, jobsAccess('GetItem', ...leasing));

    // ── Work queues: every function that makes a job ready or a consumer's room offers work (pushes jobs) ──
    const enqueue = handler('enqueue', {
      description: 'Postbox enqueue: stores a job and offers it to a consumer',
      environment: { ...workQueues, ...payloadLimit },
    }).bindTable('JOBS_TABLE', jobs, jobsAccess('PutItem', ...leasing));
    // $disconnect reads the queues a connection consumed from its row: consume adds them there.
    const consume = handler('consume', {
      description: 'Postbox consume: makes the connection a consumer of a queue',
      environment: workQueues,
    })
      .bindTable('CONNECTIONS_TABLE', connections, { actions: ['UpdateItem'] })
      .bindTable('JOBS_TABLE', jobs, jobsAccess(...leasing));
    // Cancel and extend write one item each and offer nothing: no timers, no pushes.
    const cancel = handler('cancel', {
      description: 'Postbox cancel: stops offering a queue to the connection',
      environment: workQueues,
    }).bindTable('JOBS_TABLE', jobs, jobsAccess('UpdateItem'));
    const nack = handler('nack', { description: 'Postbox nack: gives a job back', environment: workQueues }).bindTable(
      'JOBS_TABLE',
      jobs,
      jobsAccess('GetItem', ...leasing),
    );
    const extend = handler('extend', {
      description: "Postbox extend: moves a lease's deadline",
      environment: workQueues,
    }).bindTable('JOBS_TABLE', jobs, jobsAccess('GetItem', 'UpdateItem'));

    // Replay only reads the caller's own inbox, trims it to its cap, records each page's attempt and posts to the
    // calling connection: no connections table, no put.
    const replay = handler('replay', {
      description: "Postbox replay: re-sends the caller's unacked messages, oldest first",
      timeout: REPLAY_TIMEOUT,
      environment: inboxCap,
    }).bindTable('INBOX_TABLE', inbox, { actions: ['Query', 'DeleteItem'], updateOnly: ['attempt'] });

    // A connection whose push failed is held on its row until its check has pushed it everything pending
    // (functions/lib/connections.ts): a count that only grows, the count it was last released at, when it began,
    // and the pages written late it waits for.
    const HOLD = ['held', 'heldAt', 'late', 'released'];
    const deliver = handler('deliver', {
      description: 'Postbox deliver: ingest queue → inboxes → live connections',
      memorySize: DELIVER_MEMORY_MB,
      timeout: DELIVER_TIMEOUT,
      environment: {
        ...redelivery,
        MESSAGE_TTL_SECONDS: String(messageTtl.toSeconds()),
        // A marker must outlive every SQS copy of its message, and SQS keeps a message at most `retention`.
        PROCESSED_TTL_SECONDS: String(retention.toSeconds()),
      },
    })
      .bindTable('SUBSCRIPTIONS_TABLE', subscriptions, { actions: ['Query'] })
      // A connection found Gone is removed; one whose push failed is held (functions/lib/connections.ts).
      .bindTable('CONNECTIONS_TABLE', connections, { actions: ['Query', 'DeleteItem'], updateOnly: HOLD })
      .bindTable('INBOX_TABLE', inbox, { actions: ['BatchWriteItem'] })
      .bindTable('PROCESSED_TABLE', processed, { actions: ['BatchGetItem', 'BatchWriteItem'] });
    this.messageQueue.addConsumer(deliver.function, props.delivery);
    // Each push is followed by a check after the ack deadline, and a failed push by one a second later.
    this.pushQueue.grantSend(deliver.function);

    const redeliver = handler('redeliver', {
      description: 'Postbox redeliver: pushes pending inboxes after connects and what was not acked in time',
      memorySize: DELIVER_MEMORY_MB,
      timeout: REDELIVER_TIMEOUT,
      environment: { ...redelivery, ...inboxCap, MESSAGE_TTL_SECONDS: String(messageTtl.toSeconds()) },
    })
      // Inbox pages deliver could not write are written here (PutItem), then pushed to the recipient's live
      // connections; catch-ups trim and record attempts as replay does.
      .bindTable('INBOX_TABLE', inbox, { actions: ['Query', 'PutItem', 'UpdateItem', 'DeleteItem'] })
      // A held connection's check reads the hold's count and releases it.
      .bindTable('CONNECTIONS_TABLE', connections, { actions: ['Query', 'GetItem'], updateOnly: HOLD })
      // Lease deadlines read their jobs and consumers in batches, then end leases and offer jobs again.
      .bindTable('JOBS_TABLE', jobs, jobsAccess('BatchGetItem', ...leasing));
    for (const [name, value] of Object.entries(workQueues))
      if (name !== 'PUSH_QUEUE_URL') redeliver.function.addEnvironment(name, value);
    // Lease deadlines and the ends of delays are timers on the push queue; a catch-up that meets a connection still
    // in $connect asks for itself again a second later.
    for (const fn of [enqueue, consume, nack, ack, disconnect, redeliver]) this.pushQueue.grantSend(fn.function);
    this.pushQueue.addConsumer(redeliver.function);

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
      redeliver,
      enqueue,
      consume,
      cancel,
      nack,
      extend,
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
        enqueue: enqueue.function,
        consume: consume.function,
        cancel: cancel.function,
        nack: nack.function,
        extend: extend.function,
      },
      // The SDK's keep-alive, answered by API Gateway itself: no Lambda invocation per idle connection per 5 minutes.
      cannedRoutes: { heartbeat: JSON.stringify(HEARTBEAT_REPLY) },
      stageName: props.stageName,
      throttle: props.throttle,
    });
    // Every route counts its frames on the connection's row (functions/lib/rate.ts): one write per tenth of a burst,
    // which may touch only the count's own attributes.
    const FRAME_COUNT: TableAccess = { updateOnly: ['fw', 'fc', 'fp'] };
    const frameRoutes = [defaultRoute, subscribe, unsubscribe, publish, send, ack, replay];
    for (const fn of [...frameRoutes, enqueue, consume, cancel, nack, extend]) {
      fn.bindTable('CONNECTIONS_TABLE', connections, FRAME_COUNT);
      fn.function.addEnvironment('FRAME_RATE', String(frameRate.perSecond));
      fn.function.addEnvironment('FRAME_BURST', String(frameRate.burst));
    }
    // Every function that pushes only posts: none reads (GET) or closes (DELETE) a connection. Cancel and extend read
    // the URL with the rest of the work-queue settings but never push.
    for (const pusher of [deliver, redeliver, replay, enqueue, consume, nack, ack, disconnect]) {
      pusher.function.addEnvironment('CALLBACK_URL', this.webSocket.callbackUrl);
      this.webSocket.grantManageConnections(pusher.function, ['POST']);
    }
    for (const fn of [cancel, extend]) fn.function.addEnvironment('CALLBACK_URL', this.webSocket.callbackUrl);

    // ── Alarms ──────────────────────────────────────────────────────────────────────────────────────────────────
    this.alarms = new QueueAlarms(this, 'Alarms', {
      queue,
      deadLetterQueue: this.messageQueue.deadLetterQueue,
      deadLetterThreshold: props.deadLetterAlarmThreshold,
      maxMessageAge: props.maxMessageAge,
    });
    this.pushAlarms = new QueueAlarms(this, 'PushAlarms', {
      queue: this.pushQueue.queue,
      deadLetterQueue: this.pushQueue.deadLetterQueue,
      deadLetterThreshold: props.deadLetterAlarmThreshold,
      // Its messages wait out their delay (up to the ack deadline) before they can be received at all.
      maxMessageAge: (props.maxMessageAge ?? Duration.seconds(60)).plus(ackDeadline),
    });

    this.jobAlarms = new JobAlarms(this, 'JobAlarms', {
      logGroups: [nack, disconnect, redeliver].map((fn) => fn.logGroup),
      reportLogGroup: redeliver.logGroup,
      maxReadyAge: props.workQueues?.maxReadyAge,
      namespace: `Postbox/${this.stackName}`,
      deadLetterThreshold: props.deadLetterAlarmThreshold,
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
    output('JobsTableName', jobs.tableName, 'Work queues: jobs and consumers');
    output('IngestQueueUrl', queue.queueUrl, 'FIFO queue between publish/send and deliver');
    output('IngestQueueName', queue.queueName, 'FIFO queue between publish/send and deliver');
    output('DeadLetterQueueName', this.messageQueue.deadLetterQueue.queueName, 'Messages that failed delivery');
    output('PushQueueName', this.pushQueue.queue.queueName, 'Delayed catch-ups and re-pushes for redeliver');
    output(
      'PushQueueUrl',
      this.pushQueue.queue.queueUrl,
      'Delayed work: catch-ups, re-pushes, job timers (npm run queue)',
    );
    output(
      'WorkQueueSettings',
      JSON.stringify({ ...queueDefaults, queues: namedQueues }),
      'Lease, deliveries and retention in seconds, of any queue and of the named ones (npm run queue)',
    );
  }

  /** One queue's settings (or the stack's) in seconds, each unset one from `fallback`, checked against SQS's bounds. */
  private queueSettings(
    where: string,
    settings: Omit<WorkQueueSettings, 'queues' | 'maxReadyAge'>,
    fallback: QueueSettings,
  ): QueueSettings {
    const leaseSeconds = settings.leaseTime?.toSeconds() ?? fallback.leaseSeconds;
    if (leaseSeconds < 1 || leaseSeconds > 43_200)
      throw new Error(`PostboxStack ${this.node.path}: ${where}.leaseTime must be 1 s–12 h, got ${leaseSeconds} s`);
    const maxDeliveries = settings.maxDeliveries ?? fallback.maxDeliveries;
    if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1 || maxDeliveries > 1000)
      throw new Error(
        `PostboxStack ${this.node.path}: ${where}.maxDeliveries must be an integer from 1 to 1000, got ${maxDeliveries}`,
      );
    const retentionSeconds = settings.retention?.toSeconds() ?? fallback.retentionSeconds;
    if (retentionSeconds < 60)
      throw new Error(`PostboxStack ${this.node.path}: ${where}.retention must be at least a minute`);
    return { leaseSeconds, maxDeliveries, retentionSeconds };
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
  'redeliver',
  'enqueue',
  'consume',
  'cancel',
  'nack',
  'extend',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** Construct id of a handler. `Default` is avoided: constructs treats a child of that id as its parent's default child. */
function constructId(name: HandlerName): string {
  return name === 'default' ? 'DefaultRoute' : name.charAt(0).toUpperCase() + name.slice(1);
}
