import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';
import { numberEnv, requireEnv } from './env.js';
import { ProtocolError } from './errors.js';
import { messageIdFor, newSeq } from './ids.js';
import { DEAD_LETTERED_MESSAGE, JOBS_BY_ORDER_INDEX, QUEUE_REPORT_MESSAGE } from './keys.js';
import { logger } from './logger.js';
import type { JobFrame } from './protocol.js';
import { pushFrame } from './push.js';
import { queryItems } from './query.js';
import { enqueueTimer, type LeaseTimer } from './queue.js';
import { type NamedQueueSettings, namedQueueSettings, type QueueSettings, settingsOf } from './queue-settings.js';
import { updateIfStill } from './update.js';

/**
 * Work queues on one DynamoDB table (docs/architecture.md, "Work queues"). A queue is one partition: its jobs
 * (`j#<id>`) and its consumers (`c#<connectionId>`). A job is `ready` (offered from `readyAt` on), `leased` to one
 * connection until its deadline, `dead`, or `done` (a tombstone, kept for an idempotency key). Ready and dead jobs
 * carry `order`, the sort key of the local index `byOrder`, so "oldest ready first" and "the dead jobs" are each one
 * strongly consistent Query, and every state change is one conditional write on one item.
 *
 * The config: the stack's `QueueSettings` for any queue, those of the queues it names, and where things are.
 */
export interface JobsConfig extends QueueSettings {
  jobsTable: string;
  callbackUrl: string;
  pushQueueUrl: string;
  /** How long a consumer row lives without a `consume` (API Gateway ends a connection after 2 hours). */
  consumerTtlSeconds: number;
  /** Settings of named queues, each overriding the stack's for that queue. */
  queues?: NamedQueueSettings;
  /** How often a queue with waiting or dead jobs reports them ({@link reportQueue}); 60 s unless a test asks. */
  watchSeconds?: number;
}

/** The settings of every function that touches jobs, from the environment the stack gives them. */
export function jobsConfigFromEnv(): JobsConfig {
  return {
    jobsTable: requireEnv('JOBS_TABLE'),
    callbackUrl: requireEnv('CALLBACK_URL'),
    pushQueueUrl: requireEnv('PUSH_QUEUE_URL'),
    leaseSeconds: numberEnv('LEASE_SECONDS', 30),
    maxDeliveries: numberEnv('MAX_DELIVERIES', 5),
    retentionSeconds: numberEnv('JOB_RETENTION_SECONDS', 1_209_600),
    consumerTtlSeconds: numberEnv('CONNECTION_TTL_SECONDS', 7500),
    queues: namedQueueSettings(process.env.QUEUE_SETTINGS),
    watchSeconds: numberEnv('WATCH_SECONDS', 60),
  };
}

type Status = 'ready' | 'leased' | 'dead' | 'done';

export interface JobItem {
  queue: string;
  key: string;
  id: string;
  status: Status;
  order?: string;
  payload?: unknown;
  from: string;
  enqueuedAt: string;
  /** Leases given so far. */
  attempt: number;
  lease?: string;
  holder?: string;
  holderClient?: string;
  deadline?: number;
  lastError?: string;
  diedAt?: string;
  expiresAt: number;
}

interface ConsumerItem {
  queue: string;
  key: string;
  connectionId: string;
  clientId: string;
  prefetch: number;
  /** Ids of the jobs this connection holds: what `prefetch` is counted against. */
  leases?: Set<string>;
  expiresAt: number;
}

const jobKey = (id: string) => `j#${id}`;
const consumerKey = (connectionId: string) => `c#${connectionId}`;
// Fifteen digits of epoch milliseconds sort as text until the year 33658.
const stamp = (ms: number) => String(ms).padStart(15, '0');
/** Sort key of a ready job: by ready time, then by `tiebreak` (its enqueue's seq, or its id). */
const readyOrder = (at: number, tiebreak: string) => `ready#${stamp(at)}#${tiebreak}`;
const deadOrder = (at: number, id: string) => `dead#${stamp(at)}#${id}`;

/** ExpressionAttributeNames for every `#name` in the expressions (many of the attributes are reserved words). */
function namesIn(...expressions: (string | undefined)[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions)
    for (const [, name] of (expression ?? '').matchAll(/#(\w+)/g)) names[`#${name}`] = name as string;
  return names;
}

function update(
  table: string,
  key: Record<string, string>,
  set: string,
  condition: string,
  values: Record<string, unknown>,
  returnValues: 'ALL_NEW' | 'ALL_OLD' | 'NONE' = 'NONE',
) {
  return updateIfStill({
    TableName: table,
    Key: key,
    UpdateExpression: set,
    ConditionExpression: condition,
    ExpressionAttributeNames: namesIn(set, condition),
    ExpressionAttributeValues: values,
    ReturnValues: returnValues,
  });
}

// ── Enqueue ──────────────────────────────────────────────────────────────────────────────────────────────────────

export interface JobDraft {
  queue: string;
  payload: unknown;
  from: string;
  /** The producer's idempotency key: the same key on the same queue never makes a second job. */
  key?: string;
  delaySeconds?: number;
}

/**
 * Stores jobs of one queue and offers them to its consumers (at once, or when their delays are over); returns their
 * ids, in order. One job is offered alone; several go through one dispatch (one read of the consumers for all).
 */
export async function enqueueJobs(config: JobsConfig, drafts: JobDraft[], now = Date.now()): Promise<string[]> {
  const queue = drafts[0]?.queue ?? '';
  const items = drafts.map((draft): JobItem => {
    const seq = newSeq(now);
    const id = messageIdFor(draft.from, draft.key, seq);
    return {
      queue,
      key: jobKey(id),
      id,
      status: 'ready',
      // Ordered by the seq, not the id: a keyed job's id is a hash, and jobs enqueued in one millisecond keep their order.
      order: readyOrder(now + (draft.delaySeconds ?? 0) * 1000, seq),
      payload: draft.payload,
      from: draft.from,
      enqueuedAt: new Date(now).toISOString(),
      attempt: 0,
      expiresAt: Math.floor(now / 1000) + settingsOf(config, queue).retentionSeconds,
    };
  });
  // The timers first: a job that will be ready later always has something that offers it then.
  const later = new Set(drafts.map((d) => d.delaySeconds ?? 0).filter((delay) => delay > 0));
  await Promise.all(
    [...later].map((delay) => enqueueTimer(config.pushQueueUrl, { kind: 'ready', queue, at: now + delay * 1000 }, now)),
  );
  const stored = await Promise.all(items.map((item) => storeJob(config, item)));
  const ready = items.filter((_, i) => stored[i] && !drafts[i]?.delaySeconds);
  if (ready.length === 1) {
    const [job] = ready as [JobItem];
    await offer(config, queue, { id: job.id, order: job.order as string }, now);
  } else if (ready.length > 1) await dispatch(config, queue, now);
  return items.map((item) => item.id);
}

/** Puts a new job; false when its key made it before (an idempotent repeat). */
async function storeJob(config: JobsConfig, item: JobItem): Promise<boolean> {
  try {
    await dynamo.send(
      new PutCommand({
        TableName: config.jobsTable,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': 'key' },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    if ((err as Error).name === 'ItemCollectionSizeLimitExceededException')
      throw new ProtocolError('QueueFull', `queue: '${item.queue}' holds 10 GB of jobs; try again later`);
    throw err;
  }
}

// ── Consumers ────────────────────────────────────────────────────────────────────────────────────────────────────

/** Makes a connection a consumer of `queue` holding up to `prefetch` jobs (again: changes its prefetch), and offers it work. */
export async function consume(
  config: JobsConfig,
  connectionsTable: string,
  consumer: { queue: string; prefetch: number; clientId: string; connectionId: string },
  now = Date.now(),
): Promise<void> {
  const { queue, prefetch, clientId, connectionId } = consumer;
  const set = 'SET #prefetch = :p, #clientId = :c, #connectionId = :id, #expiresAt = :e';
  const { Attributes } = await dynamo.send(
    new UpdateCommand({
      TableName: config.jobsTable,
      Key: { queue, key: consumerKey(connectionId) },
      UpdateExpression: set,
      ExpressionAttributeNames: namesIn(set),
      ExpressionAttributeValues: {
        ':p': prefetch,
        ':c': clientId,
        ':id': connectionId,
        ':e': Math.floor(now / 1000) + config.consumerTtlSeconds,
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const held = (Attributes as ConsumerItem | undefined)?.leases?.size ?? 0;
  // $disconnect reads the queues from the connection's row to give its leases back.
  await update(connectionsTable, { clientId, connectionId }, 'ADD #queues :q', 'attribute_exists(#connectionId)', {
    ':q': new Set([queue]),
  });
  await fill(config, queue, { connectionId, clientId }, prefetch - held, now);
}

/** Stops offering `queue`'s jobs to a connection; the jobs it holds stay its own until it acks, nacks or lets them expire. */
export async function cancel(config: JobsConfig, queue: string, connectionId: string): Promise<void> {
  await update(
    config.jobsTable,
    { queue, key: consumerKey(connectionId) },
    'SET #prefetch = :zero',
    'attribute_exists(#key)',
    {
      ':zero': 0,
    },
  );
}

/** A connection that has gone: it consumes no more, and every job it held is given back (offered again) at once. */
export async function releaseConnection(
  config: JobsConfig,
  queues: Iterable<string>,
  connectionId: string,
): Promise<void> {
  await Promise.all(
    [...queues].map(async (queue) => {
      const old = await dynamo.send(
        new DeleteCommand({
          TableName: config.jobsTable,
          Key: { queue, key: consumerKey(connectionId) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const held = [...((old.Attributes as ConsumerItem | undefined)?.leases ?? [])];
      const jobs = await itemsOf(
        config,
        held.map((id) => ({ queue, key: jobKey(id) })),
      );
      const given = await Promise.all(
        [...jobs.values()].map(async (item) => {
          const job = item as unknown as JobItem;
          if (job.status !== 'leased' || job.holder !== connectionId || !job.lease) return false;
          const ended = await endLease(config, job, job.lease, { reason: 'consumer disconnected', holderGone: true });
          return ended.status === 'ready';
        }),
      );
      if (given.includes(true)) await dispatch(config, queue);
    }),
  );
}

/** Frees a connection's place held by a job (its lease ended, or never began). */
async function release(config: JobsConfig, queue: string, connectionId: string, id: string): Promise<void> {
  await update(
    config.jobsTable,
    { queue, key: consumerKey(connectionId) },
    'DELETE #leases :j',
    'attribute_exists(#key)',
    {
      ':j': new Set([id]),
    },
  );
}

// ── Dispatch ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** Rounds of dispatch that meet a concurrent dispatch before it leaves the rest to a timer a second later. */
const DISPATCH_ROUNDS = 3;
/** Ready jobs a consumer's fill reads beyond its room, oldest first, to fall back on when another takes one first. */
const FILL_SPARE = 4;

type Outcome = 'leased' | 'full' | 'taken' | 'gone';
type Holder = Pick<ConsumerItem, 'connectionId' | 'clientId'>;

/**
 * Every function that makes a job ready or a consumer's room offers work after its own write, so a ready job and a
 * consumer with room always meet: whichever was written second sees the other (both reads are strongly
 * consistent). Most only need part of the picture: an enqueue offers its one job ({@link offer}); an ack, a nack or
 * a consume fills the one consumer whose room it made ({@link fill}); the rest (deadlines, drops, delays, redrives)
 * look at the whole queue ({@link dispatch}).
 *
 * `dispatch` leases the queue's ready jobs, oldest first, to its consumers with room, in turn. Returns how many.
 */
export async function dispatch(config: JobsConfig, queue: string, now = Date.now()): Promise<number> {
  let leased = 0;
  for (let round = 0; round < DISPATCH_ROUNDS; round++) {
    const rooms = shuffle(await consumersWithRoom(config, queue, now));
    const total = rooms.reduce((sum, r) => sum + r.room, 0);
    // No room: whatever is ready waits, and the watch says how long.
    if (total === 0) {
      await watch(config, queue, now);
      return leased;
    }
    const ready = await readyJobs(config, queue, total, now);
    if (ready.length === 0) return leased;
    const outcomes = await leaseAll(
      config,
      queue,
      assign(ready, rooms).map(({ job, consumer }) => ({ ...job, consumer })),
      now,
    );
    leased += outcomes.filter((o) => o === 'leased').length;
    if (outcomes.every((o) => o === 'leased')) return leased;
  }
  // Another dispatch kept taking the same jobs or places: look again a second later rather than leave a ready job
  // beside a consumer with room.
  await enqueueTimer(config.pushQueueUrl, { kind: 'ready', queue, at: now + 1000 }, now);
  return leased;
}

/** A job just made ready: to the first consumer with room. Older ready jobs exist only while no consumer has room. */
async function offer(config: JobsConfig, queue: string, job: { id: string; order: string }, now: number) {
  for (const { consumer } of shuffle(await consumersWithRoom(config, queue, now))) {
    const [outcome] = await leaseAll(config, queue, [{ ...job, consumer }], now);
    if (outcome === 'leased' || outcome === 'taken') return;
    // Given back with a new order by a consumer that turned out gone: the whole queue, then.
    if (outcome === 'gone') return void (await dispatch(config, queue, now));
  }
  await watch(config, queue, now);
}

/** A consumer with `room` new places: the oldest ready jobs, to it alone (any other consumer with room has been filled). */
async function fill(config: JobsConfig, queue: string, consumer: Holder, room: number, now = Date.now()) {
  if (room <= 0) return;
  const ready = await readyJobs(config, queue, room + FILL_SPARE, now);
  let left = room;
  let next = 0;
  while (left > 0 && next < ready.length) {
    const batch = ready.slice(next, next + left);
    next += batch.length;
    const outcomes = await leaseAll(
      config,
      queue,
      batch.map((job) => ({ ...job, consumer })),
      now,
    );
    left -= outcomes.filter((o) => o === 'leased').length;
    if (outcomes.some((o) => o === 'full' || o === 'gone')) return;
  }
  // Others took every job read, and more may be ready.
  if (left > 0 && ready.length === room + FILL_SPARE) await dispatch(config, queue, now);
}

/** Leases each job to its consumer, after one timer message for all their deadlines. */
async function leaseAll(
  config: JobsConfig,
  queue: string,
  pairs: { id: string; order: string; consumer: Holder }[],
  now: number,
): Promise<Outcome[]> {
  if (pairs.length === 0) return [];
  const deadline = now + settingsOf(config, queue).leaseSeconds * 1000;
  const leases = pairs.map((pair) => ({ ...pair, lease: newLease() }));
  // The deadline's timer before any lease: no lease can exist without the check that ends it.
  await enqueueTimer(
    config.pushQueueUrl,
    {
      kind: 'leases',
      at: deadline,
      leases: leases.map(({ id, lease, consumer }) => ({ queue, id, lease, connectionId: consumer.connectionId })),
    },
    now,
  );
  const claims = await Promise.all(leases.map((l) => claimJob(config, queue, l, deadline)));
  // Pushed one after another per consumer, in the order read (oldest first): leases written together would
  // otherwise reach a consumer in whatever order their writes finished.
  const outcomes: Outcome[] = claims.map((c) => (c.job ? 'leased' : c.outcome));
  const byConsumer = new Map<string, number[]>();
  claims.forEach((claim, index) => {
    if (claim.job) byConsumer.set(claim.connectionId, [...(byConsumer.get(claim.connectionId) ?? []), index]);
  });
  await Promise.all(
    [...byConsumer.values()].map(async (mine) => {
      for (const index of mine) {
        const { job, lease } = claims[index] as (typeof claims)[number];
        outcomes[index] = await pushJob(config, job as JobItem, lease);
      }
    }),
  );
  return outcomes;
}

async function consumersWithRoom(config: JobsConfig, queue: string, now: number) {
  const rooms: { consumer: ConsumerItem; room: number }[] = [];
  for await (const item of queryItems({
    TableName: config.jobsTable,
    KeyConditionExpression: '#queue = :q AND begins_with(#key, :c)',
    ExpressionAttributeNames: { '#queue': 'queue', '#key': 'key' },
    ExpressionAttributeValues: { ':q': queue, ':c': 'c#' },
    ConsistentRead: true,
  })) {
    const consumer = item as unknown as ConsumerItem;
    if (consumer.expiresAt * 1000 <= now) continue;
    const room = consumer.prefetch - (consumer.leases?.size ?? 0);
    if (room > 0) rooms.push({ consumer, room });
  }
  return rooms;
}

async function readyJobs(config: JobsConfig, queue: string, limit: number, now: number) {
  const jobs: { id: string; order: string }[] = [];
  for await (const item of queryItems({
    TableName: config.jobsTable,
    IndexName: JOBS_BY_ORDER_INDEX,
    KeyConditionExpression: '#queue = :q AND #order BETWEEN :from AND :to',
    ExpressionAttributeNames: { '#queue': 'queue', '#order': 'order' },
    ExpressionAttributeValues: { ':q': queue, ':from': 'ready#', ':to': `ready#${stamp(now)}#~` },
    ConsistentRead: true,
    Limit: limit,
  })) {
    jobs.push({ id: (item.key as string).slice(2), order: item.order as string });
    if (jobs.length === limit) break;
  }
  return jobs;
}

/** Hands jobs to consumers in turn, one each while they have room: three drivers with room for one get one each. */
function assign<J, C extends { consumer: ConsumerItem; room: number }>(jobs: J[], rooms: C[]) {
  const left = rooms.map((r) => ({ ...r }));
  const out: { job: J; consumer: ConsumerItem }[] = [];
  let turn = 0;
  for (const job of jobs) {
    while ((left[turn % left.length] as C).room === 0) turn++;
    const slot = left[turn % left.length] as C;
    slot.room--;
    out.push({ job, consumer: slot.consumer });
    turn++;
  }
  return out;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

const newLease = () => randomBytes(12).toString('base64url');

/**
 * One lease: a place in the consumer (its `prefetch` holds), then the job (still ready with the order it was read
 * with). A place taken for a job that went to someone else is given back; one left behind by a crash is freed by
 * the lease's timer. The push is {@link pushJob}'s.
 */
async function claimJob(
  config: JobsConfig,
  queue: string,
  { id, order, lease, consumer }: { id: string; order: string; lease: string; consumer: Holder },
  deadline: number,
): Promise<{ outcome: Outcome; connectionId: string; lease: string; job?: JobItem }> {
  const { connectionId, clientId } = consumer;
  const placed = await update(
    config.jobsTable,
    { queue, key: consumerKey(connectionId) },
    'ADD #leases :j',
    '#prefetch > :zero AND (attribute_not_exists(#leases) OR size(#leases) < #prefetch)',
    { ':j': new Set([id]), ':zero': 0 },
  );
  if (!placed) return { outcome: 'full', connectionId, lease };
  const job = (await update(
    config.jobsTable,
    { queue, key: jobKey(id) },
    'SET #status = :leased, #lease = :l, #holder = :h, #holderClient = :c, #deadline = :d, #attempt = #attempt + :one REMOVE #order',
    '#order = :o',
    { ':leased': 'leased', ':l': lease, ':h': connectionId, ':c': clientId, ':d': deadline, ':one': 1, ':o': order },
    'ALL_NEW',
  )) as JobItem | undefined;
  if (!job) {
    await release(config, queue, connectionId, id);
    return { outcome: 'taken', connectionId, lease };
  }
  return { outcome: 'leased', connectionId, lease, job };
}

/** The leased job to its holder; a holder that turned out gone gives it back, and its consumer row goes. */
async function pushJob(config: JobsConfig, job: JobItem, lease: string): Promise<Outcome> {
  const { queue, id, holder: connectionId = '' } = job;
  if ((await pushFrame(config.callbackUrl, connectionId, JSON.stringify(jobFrame(job)))) !== 'gone') return 'leased';
  // Nobody saw it: the lease does not count as an attempt.
  logger.info('consumer gone; job given back', { queue, id, connectionId });
  await endLease(config, job, lease, { reason: 'consumer gone', uncounted: true, holderGone: true });
  await dynamo.send(new DeleteCommand({ TableName: config.jobsTable, Key: { queue, key: consumerKey(connectionId) } }));
  return 'gone';
}

export function jobFrame(job: JobItem): JobFrame {
  return {
    type: 'job',
    queue: job.queue,
    id: job.id,
    lease: job.lease ?? '',
    payload: job.payload,
    from: job.from,
    enqueuedAt: job.enqueuedAt,
    attempt: job.attempt,
    deadline: new Date(job.deadline ?? 0).toISOString(),
  };
}

// ── Leases ───────────────────────────────────────────────────────────────────────────────────────────────────────

async function jobOf(config: JobsConfig, queue: string, id: string): Promise<JobItem | undefined> {
  const result = await dynamo.send(
    new GetCommand({ TableName: config.jobsTable, Key: { queue, key: jobKey(id) }, ConsistentRead: true }),
  );
  return result.Item as JobItem | undefined;
}

const CURRENT = '#lease = :l AND #status = :leased';

/**
 * Ends a lease that is still current without completing the job: back to ready (after `delaySeconds`) or, when it
 * had its last delivery, dead. Frees the holder's place. Returns what became of the job, or `stale`.
 */
async function endLease(
  config: JobsConfig,
  job: Pick<JobItem, 'queue' | 'id'>,
  lease: string,
  options: {
    delaySeconds?: number;
    reason: string;
    uncounted?: boolean;
    clientId?: string;
    /** The holder's consumer row is gone, or about to be: there is no place to free. */
    holderGone?: boolean;
  },
  now = Date.now(),
): Promise<{ status: 'ready' | 'dead' | 'stale'; holder?: Holder }> {
  const { queue, id } = job;
  const key = { queue, key: jobKey(id) };
  const owner = options.clientId === undefined ? '' : ' AND #holderClient = :c';
  const values = {
    ':l': lease,
    ':leased': 'leased',
    ':why': options.reason,
    ...(options.clientId === undefined ? {} : { ':c': options.clientId }),
  };
  const free = 'REMOVE #lease, #holder, #holderClient, #deadline';
  const readyAt = now + (options.delaySeconds ?? 0) * 1000;
  const back = (await update(
    config.jobsTable,
    key,
    `SET #status = :ready, #order = :o, #lastError = :why${options.uncounted ? ', #attempt = #attempt - :one' : ''} ${free}`,
    `${CURRENT}${owner}${options.uncounted ? '' : ' AND #attempt < :max'}`,
    {
      ...values,
      ':ready': 'ready',
      ':o': readyOrder(readyAt, id),
      ...(options.uncounted ? { ':one': 1 } : { ':max': settingsOf(config, queue).maxDeliveries }),
    },
    'ALL_OLD',
  )) as JobItem | undefined;
  const dead =
    back ??
    ((await update(
      config.jobsTable,
      key,
      `SET #status = :dead, #order = :o, #lastError = :why, #diedAt = :at ${free}`,
      `${CURRENT}${owner}`,
      { ...values, ':dead': 'dead', ':o': deadOrder(now, id), ':at': new Date(now).toISOString() },
      'ALL_OLD',
    )) as JobItem | undefined);
  const old = back ?? dead;
  if (!old) return { status: 'stale' };
  const holder = old.holder ? { connectionId: old.holder, clientId: old.holderClient ?? '' } : undefined;
  if (holder && !options.holderGone) await release(config, queue, holder.connectionId, id);
  if (back) {
    if (readyAt > now) await enqueueTimer(config.pushQueueUrl, { kind: 'ready', queue, at: readyAt }, now);
    return { status: 'ready', holder };
  }
  // WARN: logged at every level but ERROR, so the stack's dead-letter alarm (a metric filter) always sees it.
  logger.warn(DEAD_LETTERED_MESSAGE, { queue, id, attempts: old.attempt, reason: options.reason });
  await watch(config, queue, now);
  return { status: 'dead', holder };
}

/** Why a lease was refused, from the job as it is now; names the field the client got wrong. */
async function staleLease(config: JobsConfig, queue: string, id: string, clientId: string): Promise<ProtocolError> {
  const job = await jobOf(config, queue, id);
  const why =
    job === undefined
      ? `id: no job '${id}' in queue '${queue}'`
      : job.status === 'done'
        ? `lease: job '${id}' is already completed`
        : job.status === 'dead'
          ? `lease: job '${id}' was dead-lettered`
          : job.status === 'ready'
            ? `lease: not current; job '${id}' is not leased (it waits to be offered again)`
            : job.holderClient === clientId
              ? `lease: not current; job '${id}' was leased again (attempt ${job.attempt})`
              : `lease: not current; job '${id}' is leased to another consumer`;
  return new ProtocolError('StaleLease', why);
}

export interface LeaseRef {
  queue: string;
  id: string;
  lease: string;
  clientId: string;
}

/** `ack` of a job: completes it for good (a keyed job leaves a tombstone, so its key cannot make it again). */
export async function completeJob(config: JobsConfig, ref: LeaseRef): Promise<void> {
  const { queue, id, lease, clientId } = ref;
  const key = { queue, key: jobKey(id) };
  const condition = `${CURRENT} AND #holderClient = :c`;
  const values = { ':l': lease, ':leased': 'leased', ':c': clientId };
  let old: JobItem | undefined;
  if (id.startsWith('k')) {
    old = (await update(
      config.jobsTable,
      key,
      'SET #status = :done REMOVE #payload, #order, #lease, #holder, #holderClient, #deadline',
      condition,
      { ...values, ':done': 'done' },
      'ALL_OLD',
    )) as JobItem | undefined;
  } else {
    try {
      const result = await dynamo.send(
        new DeleteCommand({
          TableName: config.jobsTable,
          Key: key,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(condition),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      old = result.Attributes as JobItem | undefined;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
  if (!old) throw await staleLease(config, queue, id, clientId);
  if (!old.holder) return;
  await release(config, queue, old.holder, id);
  // The holder's place is free: its next job.
  await fill(config, queue, { connectionId: old.holder, clientId }, 1);
}

/** `nack`: gives the job back, to be offered again after `delaySeconds` (or dead-lettered if that was its last delivery). */
export async function releaseJob(
  config: JobsConfig,
  ref: LeaseRef,
  options: { delaySeconds?: number; reason?: string },
): Promise<'ready' | 'dead'> {
  const ended = await endLease(config, ref, ref.lease, {
    delaySeconds: options.delaySeconds,
    reason: options.reason ?? 'nacked',
    clientId: ref.clientId,
  });
  if (ended.status === 'stale') throw await staleLease(config, ref.queue, ref.id, ref.clientId);
  // The holder's place is free either way, and the job may be ready at once (and go to it again).
  if (ended.holder) await fill(config, ref.queue, ended.holder, 1);
  return ended.status;
}

/** `extend`: the lease's deadline becomes `seconds` from now; returns it. */
export async function extendLease(
  config: JobsConfig,
  ref: LeaseRef,
  seconds: number,
  now = Date.now(),
): Promise<number> {
  const deadline = now + seconds * 1000;
  const done = await update(
    config.jobsTable,
    { queue: ref.queue, key: jobKey(ref.id) },
    'SET #deadline = :d',
    `${CURRENT} AND #holderClient = :c`,
    { ':d': deadline, ':l': ref.lease, ':leased': 'leased', ':c': ref.clientId },
  );
  if (!done) throw await staleLease(config, ref.queue, ref.id, ref.clientId);
  return deadline;
}

// ── Timers ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** A deadline checked this early is taken as come: SQS rounds delays to seconds. */
const DEADLINE_SLACK_MS = 250;

/**
 * Lease deadlines that have come (redeliver, off the push queue; all the timers of one batch together): a lease
 * still current whose deadline has not moved is ended (offered again, or dead-lettered after its last delivery);
 * one that was extended is waited for again; one that already ended only makes sure its place in the consumer is
 * free. The jobs and consumers are read in one BatchGetItem per hundred, and a place is freed only where one is
 * still held: an acked job's timer costs one read, no write.
 */
export async function checkLeases(
  config: JobsConfig,
  timers: { at: number; leases: LeaseTimer[] }[],
  now = Date.now(),
): Promise<void> {
  const due: LeaseTimer[] = [];
  for (const { at, leases } of timers) {
    if (at > now + 1000) await enqueueTimer(config.pushQueueUrl, { kind: 'leases', at, leases }, now);
    else due.push(...leases);
  }
  if (due.length === 0) return;
  const items = await itemsOf(config, [
    ...due.map((t) => ({ queue: t.queue, key: jobKey(t.id) })),
    ...due.map((t) => ({ queue: t.queue, key: consumerKey(t.connectionId) })),
  ]);
  const queues = new Set<string>();
  const later: { at: number; lease: LeaseTimer }[] = [];
  await Promise.all(
    due.map(async (timer) => {
      const job = items.get(itemKey(timer.queue, jobKey(timer.id))) as JobItem | undefined;
      if (job?.status !== 'leased' || job.lease !== timer.lease) {
        const consumer = items.get(itemKey(timer.queue, consumerKey(timer.connectionId))) as ConsumerItem | undefined;
        const heldHere = job?.status === 'leased' && job.holder === timer.connectionId;
        if (consumer?.leases?.has(timer.id) && !heldHere)
          await release(config, timer.queue, timer.connectionId, timer.id);
        return;
      }
      if ((job.deadline ?? 0) > now + DEADLINE_SLACK_MS) {
        later.push({ at: job.deadline ?? now, lease: timer });
        return;
      }
      const ended = await endLease(config, job, timer.lease, { reason: 'lease expired' }, now);
      if (ended.status !== 'stale') queues.add(timer.queue);
    }),
  );
  for (const { at: when, lease } of later)
    await enqueueTimer(config.pushQueueUrl, { kind: 'leases', at: when, leases: [lease] }, now);
  for (const queue of queues) await dispatch(config, queue, now);
}

/** How {@link itemsOf} names an item: its queue and key, which no queue name can run together. */
const itemKey = (queue: string, key: string) => `${queue}\u0000${key}`;

/** BatchGetItem's limit. */
const GET_BATCH = 100;

/** Items by `queue\0key`, read strongly consistent, a hundred keys a request (what DynamoDB leaves is asked again). */
async function itemsOf(config: JobsConfig, keys: { queue: string; key: string }[]) {
  const unique = [...new Map(keys.map((k) => [itemKey(k.queue, k.key), k])).values()];
  const found = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < unique.length; i += GET_BATCH) {
    let pending: Record<string, unknown>[] = unique.slice(i, i + GET_BATCH);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      if (attempt > 5) throw new Error(`BatchGetItem left ${pending.length} keys of ${config.jobsTable} unread`);
      const result = await dynamo.send(
        new BatchGetCommand({ RequestItems: { [config.jobsTable]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[config.jobsTable] ?? [])
        found.set(itemKey(item.queue as string, item.key as string), item);
      pending = result.UnprocessedKeys?.[config.jobsTable]?.Keys ?? [];
    }
  }
  return found;
}

/** The end of a delay (a delayed enqueue or nack), or a dispatch that met contention: offer what is ready now. */
export async function readyTimer(config: JobsConfig, queue: string, at: number, now = Date.now()): Promise<void> {
  if (at > now + 1000) await enqueueTimer(config.pushQueueUrl, { kind: 'ready', queue, at }, now);
  else await dispatch(config, queue, now);
}

// ── Watch ────────────────────────────────────────────────────────────────────────────────────────────────────────
//
// A queue with jobs waiting (ready, no consumer with room) or dead reports them once a minute in one log line, the
// stack's age and dead-letter depth alarms' metrics (log metric filters: no custom-metric request). Nothing polls:
// the report is a timer on the push queue, armed by what leaves a job waiting (an offer or dispatch without room, a
// dead-letter) and re-armed by the report itself while anything waits. One row `w#` per queue says until when a
// timer chain runs, so concurrent functions arm one chain, not one each.
//
//   arm     w#.until := now + period   if no w# or its chain is overdue by a period (a crash broke it)  → timer
//   report  w#.until := at + period    if w#.until = at (this chain's)                                    → timer
//   report  delete w#                  if w#.until = at and nothing waits or is dead

const watchKey = 'w#';
/** Queues this container has seen watched, and until when: a busy backlog arms at most one write a period. */
const watched = new Map<string, number>();

async function watch(config: JobsConfig, queue: string, now: number): Promise<void> {
  if ((watched.get(queue) ?? 0) > now) return;
  const period = (config.watchSeconds ?? 60) * 1000;
  const until = now + period;
  watched.set(queue, until);
  const armed = await update(
    config.jobsTable,
    { queue, key: watchKey },
    'SET #until = :u, #expiresAt = :e',
    'attribute_not_exists(#until) OR #until < :overdue',
    { ':u': until, ':e': Math.floor(until / 1000) + 86_400, ':overdue': now - period },
  );
  if (armed) await enqueueTimer(config.pushQueueUrl, { kind: 'watch', queue, at: until }, now);
}

/**
 * A `watch` timer: logs the age of the queue's oldest ready job (since it became ready: enqueued, its delay over, or
 * given back) and how many jobs are dead, then watches on while either lasts.
 */
export async function reportQueue(config: JobsConfig, queue: string, at: number, now = Date.now()): Promise<void> {
  const [oldest] = await readyJobs(config, queue, 1, now);
  const deadJobs = await countDead(config, queue);
  const readyAt = oldest ? Number(oldest.order.slice('ready#'.length, 'ready#'.length + 15)) : now;
  const oldestReadyAgeSeconds = Math.max(0, Math.floor((now - readyAt) / 1000));
  const key = { queue, key: watchKey };
  if (!oldest && deadJobs === 0) {
    await dynamo
      .send(
        new DeleteCommand({
          TableName: config.jobsTable,
          Key: key,
          ConditionExpression: '#until = :at',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':at': at },
        }),
      )
      .catch((err) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
    return;
  }
  // WARN, not INFO: the alarms read these lines, and Lambda drops INFO lines when the stack's log level is WARN. A
  // queue reports only while it has jobs waiting or dead, so this is at most a line a minute per such queue.
  logger.warn(QUEUE_REPORT_MESSAGE, { queue, oldestReadyAgeSeconds, deadJobs, oldestReadyId: oldest?.id });
  const until = Math.max(at, now) + (config.watchSeconds ?? 60) * 1000;
  const mine = await update(config.jobsTable, key, 'SET #until = :u, #expiresAt = :e', '#until = :at', {
    ':u': until,
    ':e': Math.floor(until / 1000) + 86_400,
    ':at': at,
  });
  if (mine) await enqueueTimer(config.pushQueueUrl, { kind: 'watch', queue, at: until }, now);
}

/** The queue's dead jobs, counted on the keys-only index (a read unit per about 4 KB of their keys). */
async function countDead(config: JobsConfig, queue: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: config.jobsTable,
        IndexName: JOBS_BY_ORDER_INDEX,
        KeyConditionExpression: '#queue = :q AND begins_with(#order, :dead)',
        ExpressionAttributeNames: { '#queue': 'queue', '#order': 'order' },
        ExpressionAttributeValues: { ':q': queue, ':dead': 'dead#' },
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

// ── Dead letters ─────────────────────────────────────────────────────────────────────────────────────────────────

export interface DeadJob {
  id: string;
  attempts: number;
  lastError?: string;
  diedAt?: string;
  enqueuedAt: string;
  payload: unknown;
}

/** A queue's dead jobs, oldest death first. */
export async function deadJobs(config: JobsConfig, queue: string): Promise<DeadJob[]> {
  const keys: { queue: string; key: string }[] = [];
  for await (const item of queryItems({
    TableName: config.jobsTable,
    IndexName: JOBS_BY_ORDER_INDEX,
    KeyConditionExpression: '#queue = :q AND begins_with(#order, :d)',
    ExpressionAttributeNames: { '#queue': 'queue', '#order': 'order' },
    ExpressionAttributeValues: { ':q': queue, ':d': 'dead#' },
    ConsistentRead: true,
  }))
    keys.push({ queue, key: item.key as string });
  const jobs = await itemsOf(config, keys);
  // In the index's order (oldest death first); BatchGetItem answers in any order.
  return keys
    .map(({ key }) => jobs.get(itemKey(queue, key)) as JobItem | undefined)
    .filter((job): job is JobItem => job?.status === 'dead')
    .map((job) => ({
      id: job.id,
      attempts: job.attempt,
      lastError: job.lastError,
      diedAt: job.diedAt,
      enqueuedAt: job.enqueuedAt,
      payload: job.payload,
    }));
}

/** Brings dead jobs (all of the queue's, or those named) back to ready with a fresh count of deliveries. */
export async function redrive(config: JobsConfig, queue: string, ids?: string[], now = Date.now()): Promise<number> {
  const targets = ids ?? (await deadJobs(config, queue)).map((j) => j.id);
  let count = 0;
  for (const id of targets) {
    const back = await update(
      config.jobsTable,
      { queue, key: jobKey(id) },
      'SET #status = :ready, #order = :o, #attempt = :zero REMOVE #diedAt',
      '#status = :dead',
      { ':ready': 'ready', ':o': readyOrder(now, id), ':zero': 0, ':dead': 'dead' },
    );
    if (back) count++;
  }
  if (count > 0) await dispatch(config, queue, now);
  return count;
}

/** Deletes dead jobs for good (all of the queue's, or those named). */
export async function purgeDead(config: JobsConfig, queue: string, ids?: string[]): Promise<number> {
  const targets = ids ?? (await deadJobs(config, queue)).map((j) => j.id);
  let count = 0;
  for (const id of targets) {
    try {
      await dynamo.send(
        new DeleteCommand({
          TableName: config.jobsTable,
          Key: { queue, key: jobKey(id) },
          ConditionExpression: '#status = :dead',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':dead': 'dead' },
        }),
      );
      count++;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
  return count;
}
