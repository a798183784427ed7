import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchClient, type BenchPayload, type ClientOptions, payloadOf } from './client.js';
import { type LatencySummary, summarize } from './stats.js';
import type { Tally, TallySnapshot } from './tally.js';

/** Something to benchmark: Postbox's local stack or the plain relay. */
export interface Target {
  name: string;
  /** The WebSocket URL for a client (Postbox: with a fresh token). */
  url(clientId: string): Promise<string>;
  /** How long connect-time side effects take to settle before a measurement starts. */
  settleMs: number;
  /** When the last of the checks a push causes has run (Postbox: the ack deadline), for a bill that has them all. */
  checksAfterMs?: number;
  /** Counts AWS requests (Postbox only). */
  tally?: Tally;
}

export interface Common {
  /** Makes client ids and topics unique to this run. */
  runId: string;
  payloadBytes: number;
  /** A phase gives up once nothing has progressed for this long; what is missing then counts as lost. */
  idleMs: number;
}

export interface ThroughputResult {
  published: number;
  accepted: number;
  rejected: number;
  subscribers: number;
  /** First receipts over all subscribers. */
  deliveries: number;
  /** Deliveries whose ack the server confirmed. */
  acked: number;
  elapsedMs: number;
  ackedPerSecond: number;
  lost: number;
  duplicatesBeforeAck: number;
  duplicatesAfterAck: number;
  completed: boolean;
  tally?: TallySnapshot;
  /** API Gateway messages in (client frames, 32 KB units) during the measured window. */
  messagesIn: number;
  /** CPU time of the whole process (every thread: gateway, services, functions, clients) during the window. */
  cpuMs: number;
}

export interface LatencyResult {
  published: number;
  accepted: number;
  rate: number;
  latency: LatencySummary;
  lost: number;
  duplicatesAfterAck: number;
  completed: boolean;
}

/**
 * One publisher → `subscribers` subscribers; the publisher keeps at most `window` publishes unanswered. With
 * `lockstep`, each publish waits until the previous message was received and acked everywhere: one message at a
 * time, so nothing is batched anywhere and the cost per message is the low-rate one.
 */
export async function throughput(
  target: Target,
  options: Common & {
    label: string;
    messages: number;
    subscribers: number;
    window: number;
    lockstep?: boolean;
    withChecks?: boolean;
    /** The publisher batches what waits while a frame is in flight (up to 10 a frame), as an SDK would. */
    batchPublish?: boolean;
  },
): Promise<ThroughputResult> {
  const topic = `bench.${options.runId}.${options.label}`;
  const clients = await connectAll(target, `bench-${options.runId}-${options.label}`, options.subscribers, undefined, {
    batchPublish: options.batchPublish,
  });
  try {
    const [publisher, ...subscribers] = clients as [BenchClient, ...BenchClient[]];
    // Ten at a time: the local runtime runs at most ten instances of a function.
    for (let i = 0; i < subscribers.length; i += 10) {
      await Promise.all(subscribers.slice(i, i + 10).map((s) => s.subscribe(topic)));
    }
    await sleep(target.settleMs);
    target.tally?.reset();
    const inBefore = sumOf(clients, (c) => c.messagesIn);

    const accepted = new Set<number>();
    let rejected = 0;
    let next = 0;
    let publishing = true;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const publish = async () => {
      while (next < options.messages) {
        const n = next++;
        try {
          await publisher.publish(topic, payloadOf(n, options.payloadBytes));
          accepted.add(n);
          if (options.lockstep)
            await waitUntil(
              () => subscribers.every((s) => s.numbers.has(n) && s.ackedCount >= s.numbers.size),
              () => sumOf(subscribers, (s) => s.numbers.size + s.ackedCount),
              options.idleMs,
            );
        } catch {
          rejected += 1;
        }
      }
    };
    const published = Promise.all(Array.from({ length: options.window }, publish)).then(() => {
      publishing = false;
    });
    const completed = await waitUntil(
      () => !publishing && subscribers.every((s) => s.numbers.size >= accepted.size && s.ackedCount >= s.numbers.size),
      () => accepted.size + rejected + sumOf(subscribers, (s) => s.numbers.size + s.ackedCount),
      options.idleMs,
    );
    const elapsedMs = completed.at - started;
    const cpu = process.cpuUsage(cpuBefore);
    // With `withChecks`, the checks redeliver runs an ack deadline after each push are on this window's bill too.
    if (options.withChecks) await sleep(target.checksAfterMs ?? 0);
    const tally = target.tally?.snapshot();
    const messagesIn = sumOf(clients, (c) => c.messagesIn) - inBefore;
    // Counted at the end of the measured window, like the time, tally and CPU they are divided by.
    const acked = sumOf(subscribers, (s) => s.ackedCount);
    const deliveries = sumOf(subscribers, (s) => s.numbers.size);
    await published;
    await sleep(500); // late duplicates of acked messages would show up here
    return {
      published: options.messages,
      accepted: accepted.size,
      rejected,
      subscribers: subscribers.length,
      deliveries,
      acked,
      elapsedMs,
      ackedPerSecond: acked / (elapsedMs / 1000),
      lost: sumOf(subscribers, (s) => [...accepted].filter((n) => !s.numbers.has(n)).length),
      duplicatesBeforeAck: sumOf(subscribers, (s) => s.duplicatesBeforeAck),
      duplicatesAfterAck: sumOf(subscribers, (s) => s.duplicatesAfterAck),
      completed: completed.ok,
      tally,
      messagesIn,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** One publisher → one subscriber at a fixed offered rate (open loop); publish → receive latency per message. */
export async function latency(
  target: Target,
  options: Common & { label: string; messages: number; rate: number },
): Promise<LatencyResult> {
  const topic = `bench.${options.runId}.${options.label}`;
  const samples: number[] = [];
  const clients = await connectAll(target, `bench-${options.runId}-${options.label}`, 1, (_n, ms) => samples.push(ms));
  try {
    const [publisher, subscriber] = clients as [BenchClient, BenchClient];
    await subscriber.subscribe(topic);
    await sleep(target.settleMs);

    const accepted = new Set<number>();
    const replies: Promise<void>[] = [];
    const interval = 1000 / options.rate;
    const started = performance.now();
    for (let n = 0; n < options.messages; n++) {
      const dueAt = started + n * interval;
      const wait = dueAt - performance.now();
      if (wait > 1) await sleep(wait);
      replies.push(
        // From when it was due if sent late (a stall here is latency too), from now if sent up to 1 ms early.
        publisher.publish(topic, payloadOf(n, options.payloadBytes, Math.min(dueAt, performance.now()))).then(
          () => void accepted.add(n),
          () => undefined,
        ),
      );
    }
    await Promise.all(replies);
    const completed = await waitUntil(
      () => subscriber.numbers.size >= accepted.size && subscriber.ackedCount >= subscriber.numbers.size,
      () => subscriber.numbers.size + subscriber.ackedCount,
      options.idleMs,
    );
    await sleep(500);
    return {
      published: options.messages,
      accepted: accepted.size,
      rate: options.rate,
      latency: summarize(samples),
      lost: [...accepted].filter((n) => !subscriber.numbers.has(n)).length,
      duplicatesAfterAck: subscriber.duplicatesAfterAck,
      completed: completed.ok,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

export interface JobsResult {
  enqueued: number;
  accepted: number;
  consumers: number;
  prefetch: number;
  /** Jobs whose `ack` the server answered `completed`. */
  completed: number;
  /** Jobs completed more than once (must be 0: a stale lease's ack is refused). */
  completedTwice: number;
  lost: number;
  elapsedMs: number;
  completedPerSecond: number;
  finished: boolean;
  tally?: TallySnapshot;
  messagesIn: number;
}

/**
 * One producer enqueues `jobs` jobs (at most `window` unanswered) on one work queue; `consumers` connections consume
 * it with `prefetch` and ack each job as it arrives. The bill includes the lease timers, which come off the push
 * queue a lease (30 s) after each lease: the tally is read `checksAfterMs` after the last completion.
 */
export async function workQueue(
  target: Target,
  options: Common & { label: string; jobs: number; consumers: number; prefetch: number; window: number },
): Promise<JobsResult> {
  const queue = `bench.${options.runId}.${options.label}`;
  const completed = new Map<number, number>();
  const onJob = (job: Record<string, unknown>, client: BenchClient) => {
    const n = (job.payload as BenchPayload).n;
    client.request({ action: 'ack', queue, id: job.id, lease: job.lease }).then(
      () => completed.set(n, (completed.get(n) ?? 0) + 1),
      () => undefined,
    );
  };
  const prefix = `bench-${options.runId}-${options.label}`;
  const clients: BenchClient[] = [];
  try {
    clients.push(await BenchClient.connect(await target.url(`${prefix}-producer`)));
    for (let i = 0; i < options.consumers; i++)
      clients.push(await BenchClient.connect(await target.url(`${prefix}-consumer-${i}`), { onJob }));
    const [producer, ...consumers] = clients as [BenchClient, ...BenchClient[]];
    await sleep(target.settleMs);
    for (const consumer of consumers) await consumer.request({ action: 'consume', queue, prefetch: options.prefetch });
    target.tally?.reset();
    const inBefore = sumOf(clients, (c) => c.messagesIn);
    const accepted = new Set<number>();
    let next = 0;
    const started = performance.now();
    const enqueue = async () => {
      while (next < options.jobs) {
        const n = next++;
        try {
          await producer.request({ action: 'enqueue', queue, payload: payloadOf(n, options.payloadBytes) });
          accepted.add(n);
        } catch {
          // counted as not accepted
        }
      }
    };
    const enqueued = Promise.all(Array.from({ length: options.window }, enqueue));
    const finished = await waitUntil(
      () => next >= options.jobs && completed.size >= accepted.size && accepted.size > 0,
      () => accepted.size + completed.size,
      options.idleMs,
    );
    const elapsedMs = finished.at - started;
    await enqueued;
    await sleep(target.checksAfterMs ?? 0);
    const tally = target.tally?.snapshot();
    const messagesIn = sumOf(clients, (c) => c.messagesIn) - inBefore;
    return {
      enqueued: options.jobs,
      accepted: accepted.size,
      consumers: options.consumers,
      prefetch: options.prefetch,
      completed: completed.size,
      completedTwice: [...completed.values()].filter((count) => count > 1).length,
      lost: [...accepted].filter((n) => !completed.has(n)).length,
      elapsedMs,
      completedPerSecond: completed.size / (elapsedMs / 1000),
      finished: finished.ok,
      tally,
      messagesIn,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** A publisher plus `subscribers` subscribers, connected ten at a time. */
async function connectAll(
  target: Target,
  prefix: string,
  subscribers: number,
  onMessage?: (n: number, latencyMs: number) => void,
  publisherOptions: ClientOptions = {},
): Promise<BenchClient[]> {
  const ids = [`${prefix}-pub`, ...Array.from({ length: subscribers }, (_, i) => `${prefix}-sub-${i}`)];
  const clients: BenchClient[] = [];
  try {
    for (let i = 0; i < ids.length; i += 10) {
      const batch = ids.slice(i, i + 10);
      clients.push(
        ...(await Promise.all(
          batch.map(async (id) =>
            BenchClient.connect(await target.url(id), id.endsWith('-pub') ? publisherOptions : { onMessage }),
          ),
        )),
      );
    }
    return clients;
  } catch (err) {
    await Promise.all(clients.map((c) => c.close()));
    throw err;
  }
}

/** Polls `done` every 2 ms; gives up when `progress()` has not changed for `idleMs`. */
async function waitUntil(
  done: () => boolean,
  progress: () => number,
  idleMs: number,
): Promise<{ ok: boolean; at: number }> {
  let last = progress();
  let lastAt = performance.now();
  while (!done()) {
    await sleep(2);
    const now = performance.now();
    const current = progress();
    if (current !== last) {
      last = current;
      lastAt = now;
    } else if (now - lastAt > idleMs) {
      return { ok: false, at: lastAt };
    }
  }
  return { ok: true, at: performance.now() };
}

function sumOf<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}
